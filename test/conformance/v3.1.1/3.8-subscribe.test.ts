/**
 * MQTT 3.1.1 (OASIS 2014) §3.8 SUBSCRIBE and §3.9 SUBACK: packet identifiers, one return code per
 * filter in order, invalid filters never granted, malformed SUBSCRIBE packets, and replacement of an
 * identical subscription.
 */
import { describe, expect, test } from "bun:test";
import { RUNTIMES } from "../../helpers/broker.ts";
import { closeAll, collectMessages, connectClient, expectNoMessage, publish, subscribe, uniqueId } from "../../helpers/clients.ts";
import { type AnyPacket, connectRaw, remainingLength, u16 } from "../../helpers/raw.ts";
import { expectClosed, expectOpen, nextPacketOrClose, useBroker } from "../../helpers/suite.ts";

/** Hand-built SUBSCRIBE: flags byte, packet id, then (filter bytes, options byte) pairs. */
function subscribeBytes(messageId: number, entries: Array<[Buffer | string, number]>, firstByte = 0x82): Buffer {
  const body = Buffer.concat([
    u16(messageId),
    ...entries.flatMap(([f, o]) => {
      const fb = typeof f === "string" ? Buffer.from(f) : f;
      return [u16(fb.length), fb, Buffer.from([o])];
    }),
  ]);
  return Buffer.concat([Buffer.from([firstByte]), remainingLength(body.length), body]);
}

const VALID_CODES = [0x00, 0x01, 0x02, 0x80];

for (const runtime of RUNTIMES) {
  describe(`MQTT 3.1.1 §3.8 SUBSCRIBE [${runtime}]`, () => {
    const b = useBroker(runtime);

    test("[3.1.1 MQTT-3.8.4-1] [3.1.1 MQTT-3.8.4-2] [3.1.1 MQTT-2.3.1-7] SUBSCRIBE is answered by SUBACK with the same Packet Identifier", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("s") });
      try {
        raw.send(subscribeBytes(0x1234, [[uniqueId("s/id"), 1]]));
        const ack = await raw.nextPacketOf("suback");
        expect(ack.messageId).toBe(0x1234);
        expect(ack.granted).toEqual([1]);
      } finally {
        raw.close();
      }
    });

    test("[3.1.1 MQTT-3.8.4-4] [3.1.1 MQTT-3.8.4-5] [3.1.1 MQTT-3.9.3-1] several filters: one SUBACK with a return code per filter, in order, and all are active", async () => {
      const base = uniqueId("s/multi");
      const { raw } = await connectRaw(b(), { clientId: uniqueId("s") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        raw.send(subscribeBytes(3, [[`${base}/two`, 2], [`${base}/zero`, 0], [`${base}/one`, 1]]));
        const ack = await raw.nextPacketOf("suback");
        expect(ack.granted).toEqual([2, 0, 1]);
        await publish(pub, `${base}/zero`, "z", { qos: 2 });
        await publish(pub, `${base}/one`, "o", { qos: 2 });
        await publish(pub, `${base}/two`, "t", { qos: 2 });
        const got: AnyPacket[] = [];
        for (let i = 0; i < 3; i++) {
          const p = await raw.nextPacketOf("publish");
          got.push(p);
          if (p.qos === 1) raw.sendPacket({ cmd: "puback", messageId: p.messageId });
          if (p.qos === 2) raw.sendPacket({ cmd: "pubrec", messageId: p.messageId });
        }
        expect(got.map((p) => [p.topic, p.qos])).toEqual([[`${base}/zero`, 0], [`${base}/one`, 1], [`${base}/two`, 2]]);
        expect(raw.packets().filter((p) => p.cmd === "suback").length).toBe(1);
      } finally {
        raw.close();
        await closeAll(pub);
      }
    });

    for (const bad of ["a/#/b", "a/b#", "a+/b", "a/+b/c", "#/a", ""]) {
      test(`[3.1.1 MQTT-4.7.1-2] [3.1.1 MQTT-4.7.1-3] [3.1.1 MQTT-4.7.3-1] the invalid filter ${JSON.stringify(bad)} is never granted (SUBACK 0x80 or connection closed)`, async () => {
        const { raw } = await connectRaw(b(), { clientId: uniqueId("bad") });
        try {
          raw.send(subscribeBytes(21, [[bad, 1]]));
          const p = await nextPacketOrClose(raw);
          if (p !== "closed") {
            expect(p.cmd).toBe("suback");
            expect(p.messageId).toBe(21);
            expect(p.granted).toEqual([0x80]);
          }
        } finally {
          raw.close();
        }
      });
    }

    test("[3.1.1 MQTT-3.8.4-1] [3.1.1 MQTT-3.10.4-4] an MQTT 5 client connecting in between does not change how a 3.1.1 client's SUBSCRIBE and UNSUBSCRIBE are read", async () => {
      // The broker decodes with one parser per protocol version; reading a v5 CONNECT must not turn
      // the 3.1.1 parser into a v5 one (a v5 SUBSCRIBE has a properties length after its packet id).
      const topic = uniqueId("s/after-v5");
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      const { raw } = await connectRaw(b(), { clientId: uniqueId("v4") });
      const { raw: v5 } = await connectRaw(b(), { clientId: uniqueId("v5"), protocolVersion: 5 }); // the last CONNECT
      try {
        raw.send(subscribeBytes(7, [[topic, 1]]));
        const ack = await raw.nextPacketOf("suback");
        expect(ack.messageId).toBe(7);
        expect(ack.granted).toEqual([1]);
        await publish(pub, topic, "after v5", { qos: 1 });
        const got = await raw.nextPacketOf("publish");
        expect([got.topic, got.payload.toString()]).toEqual([topic, "after v5"]);
        raw.sendPacket({ cmd: "puback", messageId: got.messageId });
        const unsubscribe = Buffer.concat([u16(8), u16(Buffer.byteLength(topic)), Buffer.from(topic)]);
        raw.send(Buffer.concat([Buffer.from([0xa2]), remainingLength(unsubscribe.length), unsubscribe]));
        expect((await raw.nextPacketOf("unsuback")).messageId).toBe(8);
        await expectOpen(raw);
      } finally {
        raw.close();
        v5.close();
        await closeAll(pub);
      }
    });

    test("[3.1.1 MQTT-3.8.4-5] [3.1.1 MQTT-3.9.3-2] a valid and an invalid filter together: the valid one is granted, the invalid one is not", async () => {
      const topic = uniqueId("s/mixed");
      const { raw } = await connectRaw(b(), { clientId: uniqueId("mix") });
      try {
        raw.send(subscribeBytes(22, [[topic, 1], ["x/#/y", 1]]));
        const p = await nextPacketOrClose(raw);
        if (p !== "closed") {
          expect(p.cmd).toBe("suback");
          expect(p.granted.length).toBe(2);
          expect(p.granted[0]).toBe(1);
          expect(p.granted[1]).toBe(0x80);
          for (const code of p.granted) expect(VALID_CODES).toContain(code);
        }
      } finally {
        raw.close();
      }
    });

    test("[3.1.1 MQTT-3.8.1-1] a SUBSCRIBE whose fixed header flags are not 0010 closes the connection", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("flags") });
      raw.send(subscribeBytes(5, [[uniqueId("s/flags"), 0]], 0x80));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "suback")).toBe(false);
    });

    test("[3.1.1 MQTT-3.8.3-3] a SUBSCRIBE with no Topic Filter is a protocol violation: connection closed", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("empty") });
      raw.send(subscribeBytes(6, []));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "suback")).toBe(false);
    });

    test("[3.1.1 MQTT-3.8.3-4] a requested QoS of 3 is malformed: connection closed", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("q3") });
      raw.send(subscribeBytes(7, [[uniqueId("s/q3"), 3]]));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "suback" && p.granted?.[0] !== 0x80)).toBe(false);
    });

    test("[3.1.1 MQTT-3.8.3-4] reserved bits set in the requested QoS byte are malformed: connection closed", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("rsv") });
      raw.send(subscribeBytes(8, [[uniqueId("s/rsv"), 0x05]]));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "suback" && p.granted?.[0] !== 0x80)).toBe(false);
    });

    test("[3.1.1 MQTT-2.3.1-1] a SUBSCRIBE with Packet Identifier 0 closes the connection", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("pid0") });
      raw.send(subscribeBytes(0, [[uniqueId("s/pid0"), 0]]));
      await expectClosed(raw);
    });

    test("[3.1.1 MQTT-3.8.3-1] a Topic Filter that is not well-formed UTF-8 closes the connection", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("utf") });
      raw.send(subscribeBytes(9, [[Buffer.from([0x61, 0x2f, 0xc3, 0x28]), 0]]));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "suback" && p.granted?.[0] !== 0x80)).toBe(false);
    });

    test("[3.1.1 MQTT-3.8.4-3] subscribing again to an identical filter replaces the subscription: one copy, at the new QoS", async () => {
      const topic = uniqueId("s/replace");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        expect((await subscribe(sub, topic, { qos: 2 }))[0].qos).toBe(2);
        expect((await subscribe(sub, topic, { qos: 0 }))[0].qos).toBe(0);
        const col = collectMessages(sub);
        await publish(pub, topic, "m", { qos: 2 });
        await col.waitFor(1);
        await expectNoMessage(sub, 300);
        expect(col.messages.length).toBe(1);
        expect(col.messages[0].packet.qos).toBe(0);
      } finally {
        await closeAll(sub, pub);
      }
    });

    test("[3.1.1 MQTT-3.8.4-3] replacing a subscription does not interrupt the flow of publications", async () => {
      const topic = uniqueId("s/flow");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const col = collectMessages(sub);
        const n = 100;
        const sends: Promise<void>[] = [];
        for (let i = 0; i < n; i++) {
          sends.push(publish(pub, topic, String(i), { qos: 1 }, 5_000));
          if (i === n / 2) sends.push(subscribe(sub, topic, { qos: 1 }).then(() => {}));
        }
        await Promise.all(sends);
        await col.waitFor(n, 5_000);
        expect(col.messages.map((m) => Number(m.payload.toString()))).toEqual(Array.from({ length: n }, (_, i) => i));
      } finally {
        await closeAll(sub, pub);
      }
    });

    test("a SUBSCRIBE of many filters at once is acknowledged for each and the connection stays usable", async () => {
      const base = uniqueId("s/many");
      const { raw } = await connectRaw(b(), { clientId: uniqueId("many") });
      try {
        const entries: Array<[string, number]> = Array.from({ length: 200 }, (_, i) => [`${base}/${i}`, i % 3]);
        raw.send(subscribeBytes(10, entries));
        const ack = await raw.nextPacketOf("suback");
        expect(ack.granted).toEqual(entries.map(([, q]) => q));
        await expectOpen(raw);
      } finally {
        raw.close();
      }
    });
  });
}
