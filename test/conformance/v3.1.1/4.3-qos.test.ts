/**
 * MQTT 3.1.1 (OASIS 2014) §4.3 Quality of Service levels and protocol flows, seen from both sides of
 * the broker (as receiver of a client's PUBLISH and as sender to a subscriber), and §2.3.1 Packet
 * Identifiers.
 */
import { describe, expect, test } from "bun:test";
import { RUNTIMES } from "../../helpers/broker.ts";
import { closeAll, collectMessages, connectClient, expectNoMessage, publish, subscribe, uniqueId } from "../../helpers/clients.ts";
import { connectRaw, rawPublish, rawSubscribe } from "../../helpers/raw.ts";
import { expectClosed, expectOpen, useBroker } from "../../helpers/suite.ts";

for (const runtime of RUNTIMES) {
  describe(`MQTT 3.1.1 §4.3 QoS flows [${runtime}]`, () => {
    const b = useBroker(runtime);

    test("[3.1.1 MQTT-4.3.1-1] [3.1.1 MQTT-2.3.1-5] QoS 0 delivery: PUBLISH with QoS 0, DUP 0 and no Packet Identifier", async () => {
      const topic = uniqueId("q/zero");
      const { raw } = await connectRaw(b(), { clientId: uniqueId("sub") });
      try {
        await rawSubscribe(raw, [{ topic, qos: 0 }]);
        const pub = await connectClient(b(), { clientId: uniqueId("pub") });
        await publish(pub, topic, "fire and forget", { qos: 0 });
        await closeAll(pub);
        const p = await raw.nextPacketOf("publish");
        expect(p.qos).toBe(0);
        expect(p.dup).toBe(false);
        expect(p.messageId).toBeUndefined();
      } finally {
        raw.close();
      }
    });

    test("[3.1.1 MQTT-4.3.2-2] [3.1.1 MQTT-2.3.1-6] QoS 1 from a client: the broker answers PUBACK with the same Packet Identifier", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("p1") });
      try {
        rawPublish(raw, uniqueId("q/one"), "x", { qos: 1, messageId: 4242 });
        const ack = await raw.nextPacketOf("puback");
        expect(ack.messageId).toBe(4242);
      } finally {
        raw.close();
      }
    });

    test("[3.1.1 MQTT-4.3.2-2] after PUBACK, a PUBLISH reusing the Packet Identifier is a new publication (even with DUP=1)", async () => {
      const topic = uniqueId("q/reuse1");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const col = collectMessages(sub);
        const { raw } = await connectRaw(b(), { clientId: uniqueId("p1") });
        rawPublish(raw, topic, "first", { qos: 1, messageId: 7 });
        await raw.nextPacketOf("puback");
        rawPublish(raw, topic, "second", { qos: 1, messageId: 7, dup: true });
        await raw.nextPacketOf("puback");
        raw.close();
        await col.waitFor(2);
        expect(col.messages.map((m) => m.payload.toString())).toEqual(["first", "second"]);
      } finally {
        await closeAll(sub);
      }
    });

    test("[3.1.1 MQTT-4.3.3-2] QoS 2 from a client: PUBREC, a re-sent PUBLISH (DUP=1) before PUBREL gets PUBREC again and is delivered once; PUBREL gets PUBCOMP", async () => {
      const topic = uniqueId("q/two");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 2 });
        const col = collectMessages(sub);
        const { raw } = await connectRaw(b(), { clientId: uniqueId("p2") });
        rawPublish(raw, topic, "exactly once", { qos: 2, messageId: 11 });
        const rec1 = await raw.nextPacketOf("pubrec");
        expect(rec1.messageId).toBe(11);
        rawPublish(raw, topic, "exactly once", { qos: 2, messageId: 11, dup: true });
        const rec2 = await raw.nextPacketOf("pubrec");
        expect(rec2.messageId).toBe(11);
        raw.sendPacket({ cmd: "pubrel", messageId: 11 });
        const comp = await raw.nextPacketOf("pubcomp");
        expect(comp.messageId).toBe(11);
        await col.waitFor(1);
        await expectNoMessage(sub, 400);
        expect(col.messages.map((m) => m.payload.toString())).toEqual(["exactly once"]);
        raw.close();
      } finally {
        await closeAll(sub);
      }
    });

    test("[3.1.1 MQTT-4.3.3-2] after PUBCOMP, a QoS 2 PUBLISH reusing the Packet Identifier is a new publication", async () => {
      const topic = uniqueId("q/reuse2");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 2 });
        const col = collectMessages(sub);
        const { raw } = await connectRaw(b(), { clientId: uniqueId("p2") });
        for (const payload of ["one", "two"]) {
          rawPublish(raw, topic, payload, { qos: 2, messageId: 12 });
          await raw.nextPacketOf("pubrec");
          raw.sendPacket({ cmd: "pubrel", messageId: 12 });
          await raw.nextPacketOf("pubcomp");
        }
        raw.close();
        await col.waitFor(2);
        await expectNoMessage(sub, 300);
        expect(col.messages.map((m) => m.payload.toString())).toEqual(["one", "two"]);
      } finally {
        await closeAll(sub);
      }
    });

    test("[3.1.1 MQTT-4.3.2-1] QoS 1 to a subscriber: PUBLISH QoS 1, DUP 0, a non-zero Packet Identifier; PUBACK completes it", async () => {
      const topic = uniqueId("q/out1");
      const { raw } = await connectRaw(b(), { clientId: uniqueId("sub") });
      try {
        await rawSubscribe(raw, [{ topic, qos: 1 }]);
        const pub = await connectClient(b(), { clientId: uniqueId("pub") });
        await publish(pub, topic, "x", { qos: 1 });
        await closeAll(pub);
        const p = await raw.nextPacketOf("publish");
        expect(p.qos).toBe(1);
        expect(p.dup).toBe(false);
        expect(p.messageId).toBeGreaterThan(0);
        raw.sendPacket({ cmd: "puback", messageId: p.messageId });
        await expectOpen(raw);
        // Not re-sent on the same connection once acknowledged
        await new Promise((r) => setTimeout(r, 200));
        expect(raw.packets().filter((x) => x.cmd === "publish").length).toBe(1);
      } finally {
        raw.close();
      }
    });

    test("[3.1.1 MQTT-4.3.3-1] QoS 2 to a subscriber: PUBLISH QoS 2 DUP 0, PUBREC → PUBREL with the same id, PUBCOMP ends it", async () => {
      const topic = uniqueId("q/out2");
      const { raw } = await connectRaw(b(), { clientId: uniqueId("sub") });
      try {
        await rawSubscribe(raw, [{ topic, qos: 2 }]);
        const pub = await connectClient(b(), { clientId: uniqueId("pub") });
        await publish(pub, topic, "x", { qos: 2 });
        await closeAll(pub);
        const p = await raw.nextPacketOf("publish");
        expect(p.qos).toBe(2);
        expect(p.dup).toBe(false);
        expect(p.messageId).toBeGreaterThan(0);
        raw.sendPacket({ cmd: "pubrec", messageId: p.messageId });
        const rel = await raw.nextPacketOf("pubrel");
        expect(rel.messageId).toBe(p.messageId);
        raw.sendPacket({ cmd: "pubcomp", messageId: p.messageId });
        await expectOpen(raw);
        await new Promise((r) => setTimeout(r, 200));
        expect(raw.packets().filter((x) => x.cmd === "publish" || x.cmd === "pubrel").length).toBe(2);
      } finally {
        raw.close();
      }
    });

    test("[3.1.1 MQTT-2.3.1-2] [3.1.1 MQTT-2.3.1-4] unacknowledged QoS 1 messages in flight to one subscriber carry distinct non-zero Packet Identifiers", async () => {
      const topic = uniqueId("q/ids");
      const { raw } = await connectRaw(b(), { clientId: uniqueId("sub") });
      try {
        await rawSubscribe(raw, [{ topic, qos: 1 }]);
        const pub = await connectClient(b(), { clientId: uniqueId("pub") });
        for (let i = 0; i < 10; i++) await publish(pub, topic, String(i), { qos: 1 });
        await closeAll(pub);
        const ids: number[] = [];
        for (let i = 0; i < 10; i++) ids.push((await raw.nextPacketOf("publish")).messageId);
        expect(ids.every((id) => id > 0)).toBe(true);
        expect(new Set(ids).size).toBe(10);
      } finally {
        raw.close();
      }
    });

    test("[3.1.1 MQTT-3.6.1-1] a PUBREL whose reserved flags are not 0010 closes the connection", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("rel") });
      rawPublish(raw, uniqueId("q/rel"), "x", { qos: 2, messageId: 5 });
      await raw.nextPacketOf("pubrec");
      raw.send(Buffer.from([0x60, 0x02, 0x00, 0x05])); // PUBREL with flags 0000
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "pubcomp")).toBe(false);
    });

    test("[3.1.1 MQTT-2.2.2-2] a PUBACK with reserved flags set closes the connection", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("ackflags") });
      raw.send(Buffer.from([0x42, 0x02, 0x00, 0x01]));
      await expectClosed(raw);
    });
  });
}
