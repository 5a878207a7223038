/**
 * Shared subscriptions ($share/{group}/{filter}) for MQTT 3.1.1 clients. Not part of MQTT 3.1.1:
 * Gannet applies the MQTT 5.0 §4.8.2 semantics to 3.1.1 clients too (as Mosquitto and EMQX do):
 * each message goes to exactly one member of each group.
 */
import { describe, expect, test } from "bun:test";
import { RUNTIMES } from "../../helpers/broker.ts";
import {
  closeAll,
  collectMessages,
  connectClient,
  expectNoMessage,
  type MessageCollector,
  publish,
  subscribe,
  uniqueId,
  unsubscribe,
} from "../../helpers/clients.ts";
import { connectRaw, remainingLength, u16 } from "../../helpers/raw.ts";
import { nextPacketOrClose, useBroker } from "../../helpers/suite.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until the collectors together hold n messages, then a little longer for extras. */
async function waitTotal(cols: MessageCollector[], n: number, timeoutMs = 4_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const total = () => cols.reduce((s, c) => s + c.messages.length, 0);
  while (total() < n && Date.now() < deadline) await sleep(25);
  await sleep(300);
  return cols.flatMap((c) => c.messages.map((m) => m.payload.toString()));
}

for (const runtime of RUNTIMES) {
  describe(`shared subscriptions with MQTT 3.1.1 clients [${runtime}]`, () => {
    const b = useBroker(runtime);

    test("each message published to a shared subscription reaches exactly one member of the group", async () => {
      const topic = uniqueId("sh/one");
      const group = uniqueId("g");
      const members = await Promise.all([0, 1, 2].map(() => connectClient(b(), { clientId: uniqueId("m") })));
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        for (const m of members) await subscribe(m, `$share/${group}/${topic}`, { qos: 1 });
        const cols = members.map((m) => collectMessages(m));
        const n = 30;
        for (let i = 0; i < n; i++) await publish(pub, topic, String(i), { qos: 1 });
        const got = await waitTotal(cols, n);
        expect(got.length).toBe(n);
        expect(new Set(got).size).toBe(n);
        for (const c of cols) for (const m of c.messages) expect(m.topic).toBe(topic);
      } finally {
        await closeAll(pub, ...members);
      }
    });

    test("QoS 0 messages to a shared subscription are not duplicated across members", async () => {
      const topic = uniqueId("sh/q0");
      const group = uniqueId("g");
      const members = await Promise.all([0, 1].map(() => connectClient(b(), { clientId: uniqueId("m") })));
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        for (const m of members) await subscribe(m, `$share/${group}/${topic}`, { qos: 0 });
        const cols = members.map((m) => collectMessages(m));
        const n = 20;
        for (let i = 0; i < n; i++) await publish(pub, topic, String(i), { qos: 0 });
        await publish(pub, uniqueId("sh/fence"), "", { qos: 1 });
        const got = await waitTotal(cols, n);
        expect(got.length).toBe(n);
        expect(new Set(got).size).toBe(n);
      } finally {
        await closeAll(pub, ...members);
      }
    });

    test("every group gets each message once, and a normal subscriber gets every message as well", async () => {
      const topic = uniqueId("sh/groups");
      const [g1, g2] = [uniqueId("g"), uniqueId("g")];
      const a = await Promise.all([0, 1].map(() => connectClient(b(), { clientId: uniqueId("a") })));
      const c = await Promise.all([0, 1].map(() => connectClient(b(), { clientId: uniqueId("c") })));
      const plain = await connectClient(b(), { clientId: uniqueId("plain") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        for (const m of a) await subscribe(m, `$share/${g1}/${topic}`, { qos: 1 });
        for (const m of c) await subscribe(m, `$share/${g2}/${topic}`, { qos: 1 });
        await subscribe(plain, topic, { qos: 1 });
        const colsA = a.map((m) => collectMessages(m));
        const colsC = c.map((m) => collectMessages(m));
        const colPlain = collectMessages(plain);
        const n = 10;
        for (let i = 0; i < n; i++) await publish(pub, topic, String(i), { qos: 1 });
        const gotA = await waitTotal(colsA, n);
        const gotC = await waitTotal(colsC, n);
        await colPlain.waitFor(n);
        expect(gotA.sort()).toEqual(Array.from({ length: n }, (_, i) => String(i)).sort());
        expect(gotC.sort()).toEqual(Array.from({ length: n }, (_, i) => String(i)).sort());
        expect(colPlain.messages.map((m) => m.payload.toString())).toEqual(Array.from({ length: n }, (_, i) => String(i)));
      } finally {
        await closeAll(pub, plain, ...a, ...c);
      }
    });

    test("a shared subscription with a wildcard filter distributes every matching topic once", async () => {
      const base = uniqueId("sh/wild");
      const group = uniqueId("g");
      const members = await Promise.all([0, 1].map(() => connectClient(b(), { clientId: uniqueId("m") })));
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        for (const m of members) await subscribe(m, `$share/${group}/${base}/+/x`, { qos: 1 });
        const cols = members.map((m) => collectMessages(m));
        for (let i = 0; i < 10; i++) await publish(pub, `${base}/${i}/x`, String(i), { qos: 1 });
        await publish(pub, `${base}/no/match/x`, "no", { qos: 1 });
        const got = await waitTotal(cols, 10);
        expect(got.sort()).toEqual(Array.from({ length: 10 }, (_, i) => String(i)).sort());
      } finally {
        await closeAll(pub, ...members);
      }
    });

    test("when a member unsubscribes or disconnects, the remaining member receives everything", async () => {
      const topic = uniqueId("sh/leave");
      const group = uniqueId("g");
      const stay = await connectClient(b(), { clientId: uniqueId("stay") });
      const unsub = await connectClient(b(), { clientId: uniqueId("unsub") });
      const gone = await connectClient(b(), { clientId: uniqueId("gone") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        for (const m of [stay, unsub, gone]) await subscribe(m, `$share/${group}/${topic}`, { qos: 1 });
        await unsubscribe(unsub, `$share/${group}/${topic}`);
        await closeAll(gone);
        const col = collectMessages(stay);
        const other = collectMessages(unsub);
        for (let i = 0; i < 10; i++) await publish(pub, topic, String(i), { qos: 1 });
        await col.waitFor(10);
        await expectNoMessage(unsub, 200);
        expect(other.messages.length).toBe(0);
        expect(col.messages.map((m) => m.payload.toString()).sort()).toEqual(Array.from({ length: 10 }, (_, i) => String(i)).sort());
      } finally {
        await closeAll(pub, stay, unsub, gone);
      }
    });

    test("a message to a shared subscription is delivered at min(published QoS, subscription QoS)", async () => {
      const topic = uniqueId("sh/qos");
      const group = uniqueId("g");
      const m = await connectClient(b(), { clientId: uniqueId("m") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        await subscribe(m, `$share/${group}/${topic}`, { qos: 1 });
        const col = collectMessages(m);
        await publish(pub, topic, "q2", { qos: 2 });
        await publish(pub, topic, "q0", { qos: 0 });
        await col.waitFor(2);
        expect(col.messages.map((x) => [x.payload.toString(), x.packet.qos])).toEqual([["q2", 1], ["q0", 0]]);
      } finally {
        await closeAll(m, pub);
      }
    });

    for (const bad of ["$share/only-group", "$share//t", "$share/g+x/t", "$share/g#/t"]) {
      test(`the malformed shared filter ${JSON.stringify(bad)} is never granted (SUBACK 0x80 or connection closed)`, async () => {
        const { raw } = await connectRaw(b(), { clientId: uniqueId("bad") });
        try {
          const f = Buffer.from(bad);
          const body = Buffer.concat([u16(31), u16(f.length), f, Buffer.from([1])]);
          raw.send(Buffer.concat([Buffer.from([0x82]), remainingLength(body.length), body]));
          const p = await nextPacketOrClose(raw);
          if (p !== "closed") {
            expect(p.cmd).toBe("suback");
            expect(p.granted).toEqual([0x80]);
          }
        } finally {
          raw.close();
        }
      });
    }
  });
}
