/**
 * MQTT 3.1.1 (OASIS 2014) §3.3 PUBLISH: fixed header flags, topic name rules, delivery to matching
 * subscriptions, QoS downgrade (§3.8.4), overlapping subscriptions (§3.3.5) and ordering (§4.6).
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
import { connectRaw, rawPublish, rawPublishBytes, u16 } from "../../helpers/raw.ts";
import { expectClosed, useBroker } from "../../helpers/suite.ts";

for (const runtime of RUNTIMES) {
  describe(`MQTT 3.1.1 §3.3 PUBLISH [${runtime}]`, () => {
    const b = useBroker(runtime);

    test("[3.1.1 MQTT-3.3.1-4] a PUBLISH with both QoS bits set (QoS 3) is a protocol violation: connection closed, not delivered", async () => {
      const topic = uniqueId("t/qos3");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 2 });
        const { raw } = await connectRaw(b(), { clientId: uniqueId("q3") });
        raw.send(rawPublishBytes(Buffer.from(topic), Buffer.from("x"), 0x06, 1));
        await expectClosed(raw);
        await expectNoMessage(sub, 300);
      } finally {
        await closeAll(sub);
      }
    });

    for (const bad of ["a/+/c", "a/#", "+", "#"]) {
      test(`[3.1.1 MQTT-3.3.2-2] [3.1.1 MQTT-4.7.1-1] a Topic Name with a wildcard (${JSON.stringify(bad)}) closes the connection; nothing is delivered`, async () => {
        const sub = await connectClient(b(), { clientId: uniqueId("sub") });
        try {
          await subscribe(sub, "a/#", { qos: 0 });
          await subscribe(sub, "+", { qos: 0 });
          const { raw } = await connectRaw(b(), { clientId: uniqueId("wild") });
          raw.send(rawPublishBytes(Buffer.from(bad), Buffer.from("x")));
          await expectClosed(raw);
          await expectNoMessage(sub, 300);
        } finally {
          await closeAll(sub);
        }
      });
    }

    test("[3.1.1 MQTT-4.7.3-1] a PUBLISH with a zero-length Topic Name closes the connection", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("empty") });
      raw.send(rawPublishBytes(Buffer.alloc(0), Buffer.from("x")));
      await expectClosed(raw);
    });

    test("[3.1.1 MQTT-2.3.1-1] a QoS 1 PUBLISH with Packet Identifier 0 closes the connection", async () => {
      const topic = uniqueId("t/pid0");
      const { raw } = await connectRaw(b(), { clientId: uniqueId("pid0") });
      const t = Buffer.from(topic);
      const body = Buffer.concat([u16(t.length), t, u16(0), Buffer.from("x")]);
      raw.send(Buffer.concat([Buffer.from([0x32, body.length]), body]));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "puback")).toBe(false);
    });

    test("[3.1.1 MQTT-3.3.2-3] [3.1.1 MQTT-4.5.0-1] every matching subscriber receives the message under the published Topic Name", async () => {
      const base = uniqueId("t/fan");
      const topic = `${base}/x/y`;
      const subs = await Promise.all([0, 1, 2].map(() => connectClient(b(), { clientId: uniqueId("sub") })));
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        await subscribe(subs[0], topic, { qos: 1 });
        await subscribe(subs[1], `${base}/+/y`, { qos: 1 });
        await subscribe(subs[2], `${base}/#`, { qos: 1 });
        const got = subs.map((s) => nextMessage(s));
        await publish(pub, topic, "to all", { qos: 1 });
        for (const m of await Promise.all(got)) {
          expect(m.topic).toBe(topic);
          expect(m.payload.toString()).toBe("to all");
        }
      } finally {
        await closeAll(pub, ...subs);
      }
    });

    test("a client receives its own publications on a matching subscription (3.1.1 has no No Local)", async () => {
      const topic = uniqueId("t/self");
      const c = await connectClient(b(), { clientId: uniqueId("self") });
      try {
        await subscribe(c, topic, { qos: 1 });
        const got = nextMessage(c);
        await publish(c, topic, "echo", { qos: 1 });
        expect((await got).payload.toString()).toBe("echo");
      } finally {
        await closeAll(c);
      }
    });

    test("payloads are delivered byte for byte: empty, binary with all byte values, and 256 KiB", async () => {
      const topic = uniqueId("t/payload");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const col = collectMessages(sub);
        const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const big = Buffer.alloc(256 * 1024);
        for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
        await publish(pub, topic, Buffer.alloc(0), { qos: 1 });
        await publish(pub, topic, binary, { qos: 1 });
        await publish(pub, topic, big, { qos: 1 }, 5_000);
        await col.waitFor(3, 5_000);
        expect(col.messages[0].payload.length).toBe(0);
        expect(Buffer.compare(col.messages[1].payload, binary)).toBe(0);
        expect(Buffer.compare(col.messages[2].payload, big)).toBe(0);
      } finally {
        await closeAll(sub, pub);
      }
    });

    for (const [subQos, pubQos, want] of [[0, 2, 0], [1, 2, 1], [2, 1, 1], [2, 0, 0], [1, 0, 0], [2, 2, 2]] as const) {
      test(`[3.1.1 MQTT-3.8.4-6] a QoS ${pubQos} publication to a QoS ${subQos} subscription is delivered at QoS ${want}`, async () => {
        const topic = uniqueId("t/downgrade");
        const sub = await connectClient(b(), { clientId: uniqueId("sub") });
        const pub = await connectClient(b(), { clientId: uniqueId("pub") });
        try {
          await subscribe(sub, topic, { qos: subQos });
          const got = nextMessage(sub);
          await publish(pub, topic, "q", { qos: pubQos });
          const m = await got;
          expect(m.packet.qos).toBe(want);
        } finally {
          await closeAll(sub, pub);
        }
      });
    }

    test("[3.1.1 MQTT-3.3.5-1] overlapping subscriptions: the message is delivered once, at the maximum QoS of the matching subscriptions", async () => {
      const base = uniqueId("t/overlap");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        await subscribe(sub, `${base}/+`, { qos: 0 });
        await subscribe(sub, `${base}/#`, { qos: 2 });
        await subscribe(sub, `${base}/a`, { qos: 1 });
        const col = collectMessages(sub);
        await publish(pub, `${base}/a`, "once", { qos: 2 });
        await col.waitFor(1);
        await expectNoMessage(sub, 400); // Gannet sends one copy (3.3.5 permits, but does not require, more)
        expect(col.messages.length).toBe(1);
        expect(col.messages[0].packet.qos).toBe(2);
      } finally {
        await closeAll(sub, pub);
      }
    });

    test("[3.1.1 MQTT-3.3.1-3] the DUP flag of an incoming PUBLISH is not propagated to subscribers", async () => {
      const topic = uniqueId("t/dup");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const got = nextMessage(sub);
        const { raw } = await connectRaw(b(), { clientId: uniqueId("dup") });
        rawPublish(raw, topic, "first time, marked dup", { qos: 1, dup: true, messageId: 9 });
        await raw.nextPacketOf("puback");
        raw.close();
        const m = await got;
        expect(m.packet.dup).toBe(false);
      } finally {
        await closeAll(sub);
      }
    });

    for (const qos of [0, 1, 2] as const) {
      test(`[3.1.1 MQTT-4.6.0-6] QoS ${qos} messages from one publisher to one topic arrive in publish order`, async () => {
        const topic = uniqueId("t/order");
        const sub = await connectClient(b(), { clientId: uniqueId("sub") });
        const pub = await connectClient(b(), { clientId: uniqueId("pub") });
        try {
          await subscribe(sub, topic, { qos });
          const col = collectMessages(sub);
          const n = 200;
          const sends = [];
          for (let i = 0; i < n; i++) sends.push(publish(pub, topic, String(i), { qos }, 10_000));
          await Promise.all(sends);
          await col.waitFor(n, 10_000);
          expect(col.messages.map((m) => Number(m.payload.toString()))).toEqual(Array.from({ length: n }, (_, i) => i));
        } finally {
          await closeAll(sub, pub);
        }
      }, 20_000);
    }
  });
}
