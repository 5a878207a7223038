/**
 * MQTT 3.1.1 (OASIS 2014) §4.7 Topic Names and Topic Filters: wildcard matching, topics beginning
 * with "$", no normalisation, and the broker's $SYS topics (published every second here).
 */
import { describe, expect, test } from "bun:test";
import { RUNTIMES } from "../../helpers/broker.ts";
import {
  closeAll,
  collectMessages,
  connectClient,
  expectNoMessage,
  nextMessage,
  publish,
  subscribe,
  uniqueId,
} from "../../helpers/clients.ts";
import { useBroker } from "../../helpers/suite.ts";

/** For each filter (relative to base), which of the topics (relative to base) it must match. */
const MATCHES: Array<[string, string[]]> = [
  ["B/#", ["B", "B/", "B/a", "B/a/", "B/a/b", "B/a/c", "B//c", "B//x", "B/a/b/c"]], // [3.1.1 MQTT-4.7.1-2] "sport/#" also matches "sport"
  ["B/+", ["B/", "B/a"]], // [3.1.1 MQTT-4.7.1-3] "+" matches one (possibly empty) level
  ["B/+/c", ["B/a/c", "B//c"]],
  ["B/a/+", ["B/a/", "B/a/b", "B/a/c"]],
  ["B/+/#", ["B/", "B/a", "B/a/", "B/a/b", "B/a/c", "B//c", "B//x", "B/a/b/c"]],
  ["+/B/a", ["/B/a", "x/B/a"]],
  ["B", ["B"]],
  ["B/a", ["B/a"]],
];
const TOPICS = ["B", "B/", "B/a", "B/a/", "B/a/b", "B/a/c", "B//c", "B//x", "B/a/b/c", "/B/a", "x/B/a", "Bx", "Bx/a"];

for (const runtime of RUNTIMES) {
  describe(`MQTT 3.1.1 §4.7 topics [${runtime}]`, () => {
    // maxTopicLength at the protocol's maximum: the default (4096 bytes) would refuse [3.1.1 MQTT-4.7.3-3]'s long topic.
    const b = useBroker(runtime, { set: { "sys.interval": 1, "mqtt.maxTopicLength": 65_535 } });

    test("[3.1.1 MQTT-4.7.1-2] [3.1.1 MQTT-4.7.1-3] \"#\" and \"+\" match exactly the topics the specification says they match", async () => {
      const base = uniqueId("w");
      const expand = (s: string) => s.replace(/B/g, base);
      const subs = await Promise.all(MATCHES.map(() => connectClient(b(), { clientId: uniqueId("sub") })));
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        const cols = [];
        for (let i = 0; i < MATCHES.length; i++) {
          await subscribe(subs[i], expand(MATCHES[i][0]), { qos: 1 });
          cols.push(collectMessages(subs[i]));
        }
        for (const t of TOPICS) await publish(pub, expand(t), t, { qos: 1 });
        for (let i = 0; i < MATCHES.length; i++) {
          await cols[i].waitFor(MATCHES[i][1].length, 3_000);
        }
        await expectNoMessage(subs[0], 300);
        const wrong = [];
        for (let i = 0; i < MATCHES.length; i++) {
          const got = cols[i].messages.map((m) => m.payload.toString()).sort();
          const want = [...MATCHES[i][1]].sort();
          if (JSON.stringify(got) !== JSON.stringify(want)) wrong.push({ filter: MATCHES[i][0], want, got });
        }
        if (wrong.length) throw new Error(`wrong matches: ${JSON.stringify(wrong)}`);
      } finally {
        await closeAll(pub, ...subs);
      }
    });

    test("[3.1.1 MQTT-4.7.1-2] a filter of only \"#\" receives every (non-$) topic", async () => {
      const sub = await connectClient(b(), { clientId: uniqueId("all") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        await subscribe(sub, "#", { qos: 1 });
        const col = collectMessages(sub);
        const topics = [uniqueId("x"), `${uniqueId("x")}/y/z`, `/${uniqueId("x")}`];
        for (const t of topics) await publish(pub, t, "m", { qos: 1 });
        await col.waitFor(3);
        expect(col.messages.map((m) => m.topic).filter((t) => topics.includes(t)).sort()).toEqual([...topics].sort());
      } finally {
        await closeAll(sub, pub);
      }
    });

    test("[3.1.1 MQTT-4.7.1-3] a filter of only \"+\" matches single-level topics only", async () => {
      const sub = await connectClient(b(), { clientId: uniqueId("plus") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        await subscribe(sub, "+", { qos: 1 });
        const col = collectMessages(sub);
        const single = uniqueId("single");
        await publish(pub, `${single}/x`, "two levels", { qos: 1 });
        await publish(pub, `/${single}`, "empty first level", { qos: 1 });
        await publish(pub, single, "one level", { qos: 1 });
        await col.waitFor(1);
        await expectNoMessage(sub, 300);
        expect(col.messages.map((m) => m.topic)).toEqual([single]);
      } finally {
        await closeAll(sub, pub);
      }
    });

    test("[3.1.1 MQTT-4.7.2-1] \"#\" and \"+/...\" do not match $SYS topics; an explicit \"$SYS/...\" filter does", async () => {
      const hash = await connectClient(b(), { clientId: uniqueId("hash") });
      const plus = await connectClient(b(), { clientId: uniqueId("plus") });
      const sys = await connectClient(b(), { clientId: uniqueId("sys") });
      try {
        await subscribe(hash, "#", { qos: 0 });
        await subscribe(plus, "+/broker/#", { qos: 0 });
        await subscribe(plus, "+/broker/uptime", { qos: 0 });
        const hashCol = collectMessages(hash);
        const plusCol = collectMessages(plus);
        const got = nextMessage(sys, 4_000);
        await subscribe(sys, "$SYS/broker/uptime", { qos: 0 });
        expect((await got).topic).toBe("$SYS/broker/uptime");
        await new Promise((r) => setTimeout(r, 1_300)); // at least one more $SYS round (interval 1 s)
        expect(hashCol.messages.filter((m) => m.topic.startsWith("$")).map((m) => m.topic)).toEqual([]);
        expect(plusCol.messages.map((m) => m.topic)).toEqual([]);
      } finally {
        await closeAll(hash, plus, sys);
      }
    }, 10_000);

    test("[3.1.1 MQTT-4.7.2-1] a client topic beginning with \"$\" is not matched by \"#\" or \"+\"-led filters", async () => {
      const name = uniqueId("dollar");
      const topic = `$${name}/x`;
      const hash = await connectClient(b(), { clientId: uniqueId("hash") });
      const exact = await connectClient(b(), { clientId: uniqueId("exact") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        await subscribe(hash, "#", { qos: 1 });
        await subscribe(hash, "+/x", { qos: 1 });
        await subscribe(exact, `$${name}/#`, { qos: 1 });
        const hashCol = collectMessages(hash);
        const got = nextMessage(exact);
        await publish(pub, topic, "dollar", { qos: 1 });
        // The explicit "$..." subscriber shows the message was accepted and routed.
        expect((await got).topic).toBe(topic);
        await new Promise((r) => setTimeout(r, 300));
        expect(hashCol.messages.filter((m) => m.topic === topic)).toEqual([]);
      } finally {
        await closeAll(hash, exact, pub);
      }
    });

    test("[3.1.1 MQTT-4.7.3-4] no normalisation: case, trailing \"/\", spaces and Unicode forms are distinct topics", async () => {
      const base = uniqueId("n");
      const pairs: Array<[string, string]> = [
        [`${base}/ACCOUNTS`, `${base}/Accounts`],
        [`${base}/a`, `${base}/a/`],
        [`${base}/a b`, `${base}/ab`],
        [`${base}/caf\u00e9`, `${base}/cafe\u0301`], // precomposed vs decomposed é
      ];
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      const subs = await Promise.all(pairs.map(() => connectClient(b(), { clientId: uniqueId("sub") })));
      try {
        const cols = [];
        for (let i = 0; i < pairs.length; i++) {
          await subscribe(subs[i], pairs[i][0], { qos: 1 });
          cols.push(collectMessages(subs[i]));
        }
        for (const [a, other] of pairs) {
          await publish(pub, other, "other", { qos: 1 });
          await publish(pub, a, "exact", { qos: 1 });
        }
        for (let i = 0; i < pairs.length; i++) await cols[i].waitFor(1);
        await new Promise((r) => setTimeout(r, 300));
        for (let i = 0; i < pairs.length; i++) {
          expect(cols[i].messages.map((m) => [m.topic, m.payload.toString()])).toEqual([[pairs[i][0], "exact"]]);
        }
      } finally {
        await closeAll(pub, ...subs);
      }
    });

    test("[3.1.1 MQTT-4.7.3-3] a long Topic Name (60 000 bytes of UTF-8) is routed intact", async () => {
      const topic = `${uniqueId("long")}/${"\u00e9".repeat(30_000)}`;
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const got = nextMessage(sub);
        await publish(pub, topic, "long", { qos: 1 });
        expect((await got).topic).toBe(topic);
      } finally {
        await closeAll(sub, pub);
      }
    });

    test("$SYS/broker/version, $SYS/broker/uptime and $SYS/broker/clients/connected are published", async () => {
      const sys = await connectClient(b(), { clientId: uniqueId("sys") });
      try {
        const col = collectMessages(sys);
        await subscribe(sys, "$SYS/#", { qos: 0 });
        const want = ["$SYS/broker/version", "$SYS/broker/uptime", "$SYS/broker/clients/connected"];
        const last = (t: string) => col.messages.filter((m) => m.topic === t).at(-1)?.payload.toString();
        // The retained value may predate this client; the next update ($SYS interval 1 s) counts it.
        const deadline = Date.now() + 4_000;
        while (
          Date.now() < deadline &&
          !(want.every((t) => last(t) !== undefined) && Number(last("$SYS/broker/clients/connected")) >= 1)
        ) {
          await new Promise((r) => setTimeout(r, 100));
        }
        for (const t of want) expect({ topic: t, seen: last(t) !== undefined }).toEqual({ topic: t, seen: true });
        expect(last("$SYS/broker/version")!.length).toBeGreaterThan(0);
        expect(Number.parseInt(last("$SYS/broker/uptime")!, 10)).toBeGreaterThanOrEqual(0);
        expect(Number(last("$SYS/broker/clients/connected"))).toBeGreaterThanOrEqual(1);
      } finally {
        await closeAll(sys);
      }
    }, 10_000);

    test("$SYS/broker/clients/connected follows the number of connected clients", async () => {
      const sys = await connectClient(b(), { clientId: uniqueId("sys") });
      const extra = [];
      try {
        const col = collectMessages(sys);
        // Tests in this file run one after another and close their clients, so the only
        // connected clients are `sys` and the 3 extra ones.
        const waitValue = async (want: number) => {
          const deadline = Date.now() + 4_000;
          for (;;) {
            const v = col.messages.at(-1)?.payload.toString();
            if (v !== undefined && Number(v) === want) return;
            if (Date.now() > deadline) {
              throw new Error(`$SYS/broker/clients/connected never became ${want}; values seen: ${col.messages.map((m) => m.payload.toString()).join(",")}`);
            }
            await new Promise((r) => setTimeout(r, 100));
          }
        };
        await subscribe(sys, "$SYS/broker/clients/connected", { qos: 0 });
        for (let i = 0; i < 3; i++) extra.push(await connectClient(b(), { clientId: uniqueId("x") }));
        await waitValue(4);
        await closeAll(...extra);
        await waitValue(1);
      } finally {
        await closeAll(sys, ...extra);
      }
    }, 15_000);
  });
}
