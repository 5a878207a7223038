/**
 * MQTT 5.0 (OASIS 2019) sections 3.4-3.7 PUBACK, PUBREC, PUBREL, PUBCOMP and the QoS 1/2 delivery
 * protocol of section 4.3-4.4, in both directions: the server as receiver (Packet Identifier reuse,
 * malformed PUBREL, unknown PUBREL) and as sender (identifiers, PUBREL, redelivery on resume).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RUNTIMES, type RunningBroker, startBroker } from "../../helpers/broker.ts";
import { closeAll, collectMessages, connectClient, publish, subscribe, uniqueId } from "../../helpers/clients.ts";
import {
  type AnyPacket,
  connectV5Ok,
  expectClosedWith,
  expectNoPublish,
  nextPublish,
  packet,
  RC,
  type RawClient,
  rawSubscribe,
  reasonOf,
  sleep,
} from "../../helpers/v5.ts";
import { u16 } from "../../helpers/raw.ts";

const v5 = { protocolVersion: 5 as const };
const SESSION = { clean: false, properties: { sessionExpiryInterval: 60 } };

for (const runtime of RUNTIMES) {
  describe(`MQTT 5.0 §3.4-3.7 acknowledgements [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({ runtime });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    /** A persistent-session raw subscriber at `qos` on a fresh topic. */
    async function subscriber(qos: 1 | 2): Promise<{ id: string; topic: string; raw: RawClient }> {
      const id = uniqueId("rsub");
      const topic = uniqueId("t/ack");
      const { raw } = await connectV5Ok(b, id, SESSION);
      await rawSubscribe(raw, [{ topic, qos }]);
      return { id, topic, raw };
    }

    test("[v5 MQTT-3.6.1-1] a PUBREL with reserved flags 0000 is a Malformed Packet: DISCONNECT 0x81 (if any) and close", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("badrel"));
      try {
        raw.sendPacket({ cmd: "publish", topic: uniqueId("t/badrel"), payload: "x", qos: 2, messageId: 5 });
        await raw.nextPacketOf("pubrec", 2_000);
        raw.send(packet(0x60, u16(5)));
        await expectClosedWith(raw, "disconnect", [RC.malformedPacket]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-4.3.3-11] [v5 MQTT-3.7.2-1] a PUBREL for an unknown Packet Identifier gets PUBCOMP with that identifier (0x00 or 0x92)", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("unkrel"));
      try {
        raw.sendPacket({ cmd: "pubrel", messageId: 777, reasonCode: 0 });
        const comp = await raw.nextPacketOf("pubcomp", 2_000);
        expect(comp.messageId).toBe(777);
        expect([RC.success, RC.packetIdentifierNotFound]).toContain(reasonOf(comp));
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-4.3.2-5] after PUBACK, a QoS 1 PUBLISH reusing the Packet Identifier is a new message", async () => {
      const topic = uniqueId("t/reuse1");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        await subscribe(sub, topic, { qos: 1 });
        const msgs = collectMessages(sub);
        for (const payload of ["first", "second"]) {
          raw.sendPacket({ cmd: "publish", topic, payload, qos: 1, messageId: 11 });
          expect((await raw.nextPacketOf("puback", 2_000)).messageId).toBe(11);
        }
        const got = await msgs.waitFor(2);
        expect(got.map((m) => m.payload.toString())).toEqual(["first", "second"]);
      } finally {
        raw.close();
        await closeAll(sub);
      }
    });

    test("[v5 MQTT-4.3.3-12] after PUBCOMP, a QoS 2 PUBLISH reusing the Packet Identifier is a new message", async () => {
      const topic = uniqueId("t/reuse2");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        await subscribe(sub, topic, { qos: 2 });
        const msgs = collectMessages(sub);
        for (const payload of ["first", "second"]) {
          raw.sendPacket({ cmd: "publish", topic, payload, qos: 2, messageId: 12 });
          expect((await raw.nextPacketOf("pubrec", 2_000)).messageId).toBe(12);
          raw.sendPacket({ cmd: "pubrel", messageId: 12, reasonCode: 0 });
          expect((await raw.nextPacketOf("pubcomp", 2_000)).messageId).toBe(12);
        }
        const got = await msgs.waitFor(2);
        expect(got.map((m) => m.payload.toString())).toEqual(["first", "second"]);
      } finally {
        raw.close();
        await closeAll(sub);
      }
    });

    test("[v5 MQTT-2.2.1-4] [v5 MQTT-4.3.2-1] [v5 MQTT-4.3.2-2] outgoing QoS 1 PUBLISHes have non-zero, distinct Packet Identifiers and DUP 0", async () => {
      const s = await subscriber(1);
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        for (let i = 0; i < 5; i++) await publish(pub, s.topic, `m${i}`, { qos: 1 });
        const ids: number[] = [];
        for (let i = 0; i < 5; i++) {
          const p: AnyPacket = await nextPublish(s.raw);
          expect(p.qos).toBe(1);
          expect(p.dup).toBe(false);
          expect(p.messageId).toBeGreaterThan(0);
          ids.push(p.messageId);
        }
        expect(new Set(ids).size).toBe(5);
      } finally {
        s.raw.close();
        await closeAll(pub);
      }
    });

    test("[v5 MQTT-4.3.3-1] [v5 MQTT-4.3.3-2] [v5 MQTT-4.3.3-4] [v5 MQTT-3.6.2-1] outgoing QoS 2: PUBLISH (id ≠ 0, DUP 0), PUBREC → PUBREL with the same id, PUBCOMP ends it", async () => {
      const s = await subscriber(2);
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await publish(pub, s.topic, "exactly-once", { qos: 2 });
        const p: AnyPacket = await nextPublish(s.raw);
        expect(p.qos).toBe(2);
        expect(p.dup).toBe(false);
        expect(p.messageId).toBeGreaterThan(0);
        s.raw.sendPacket({ cmd: "pubrec", messageId: p.messageId, reasonCode: 0 });
        const rel = await s.raw.nextPacketOf("pubrel", 2_000);
        expect(rel.messageId).toBe(p.messageId);
        expect(reasonOf(rel)).toBe(RC.success);
        s.raw.sendPacket({ cmd: "pubcomp", messageId: p.messageId, reasonCode: 0 });
        await expectNoPublish(s.raw, 200);
        expect(s.raw.closed).toBe(false);
      } finally {
        s.raw.close();
        await closeAll(pub);
      }
    });

    test("[v5 MQTT-4.3.3-4] a PUBREC with reason 0x80 is final: no PUBREL follows", async () => {
      const s = await subscriber(2);
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await publish(pub, s.topic, "refused", { qos: 2 });
        const p: AnyPacket = await nextPublish(s.raw);
        s.raw.sendPacket({ cmd: "pubrec", messageId: p.messageId, reasonCode: RC.unspecifiedError });
        await sleep(300);
        expect(s.raw.packets().filter((x: AnyPacket) => x.cmd === "pubrel")).toEqual([]);
      } finally {
        s.raw.close();
        await closeAll(pub);
      }
    });

    test("[v5 MQTT-4.4.0-1] [v5 MQTT-3.3.1-1] an unacknowledged QoS 1 PUBLISH is resent on session resume with DUP 1 and the same Packet Identifier", async () => {
      const s = await subscriber(1);
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await publish(pub, s.topic, "unacked", { qos: 1 });
        const first: AnyPacket = await nextPublish(s.raw);
        expect(first.dup).toBe(false);
        s.raw.close(); // no PUBACK
        await sleep(100);
        const { raw, connack } = await connectV5Ok(b, s.id, SESSION);
        try {
          expect(connack.sessionPresent).toBe(true);
          const again: AnyPacket = await nextPublish(raw);
          expect(String(again.payload)).toBe("unacked");
          expect(again.messageId).toBe(first.messageId);
          expect(again.dup).toBe(true);
        } finally {
          raw.close();
        }
      } finally {
        await closeAll(pub);
      }
    });

    test("[v5 MQTT-4.4.0-1] [v5 MQTT-4.3.3-6] after PUBREC without PUBCOMP, resume resends the PUBREL (same id), not the PUBLISH", async () => {
      const s = await subscriber(2);
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await publish(pub, s.topic, "half-done", { qos: 2 });
        const p: AnyPacket = await nextPublish(s.raw);
        s.raw.sendPacket({ cmd: "pubrec", messageId: p.messageId, reasonCode: 0 });
        await s.raw.nextPacketOf("pubrel", 2_000);
        s.raw.close(); // no PUBCOMP
        await sleep(100);
        const { raw, connack } = await connectV5Ok(b, s.id, SESSION);
        try {
          expect(connack.sessionPresent).toBe(true);
          const rel = await raw.nextPacketOf("pubrel", 2_000);
          expect(rel.messageId).toBe(p.messageId);
          expect(raw.packets().filter((x: AnyPacket) => x.cmd === "publish")).toEqual([]);
          raw.sendPacket({ cmd: "pubcomp", messageId: p.messageId, reasonCode: 0 });
          await expectNoPublish(raw, 200);
        } finally {
          raw.close();
        }
      } finally {
        await closeAll(pub);
      }
    });

    test("[v5 MQTT-4.4.0-2] a PUBLISH acknowledged with PUBACK 0x80 is not resent on session resume", async () => {
      const s = await subscriber(1);
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await publish(pub, s.topic, "rejected", { qos: 1 });
        const p: AnyPacket = await nextPublish(s.raw);
        s.raw.sendPacket({ cmd: "puback", messageId: p.messageId, reasonCode: RC.unspecifiedError });
        await sleep(100);
        s.raw.close();
        await sleep(100);
        const { raw, connack } = await connectV5Ok(b, s.id, SESSION);
        try {
          expect(connack.sessionPresent).toBe(true);
          await expectNoPublish(raw, 300);
        } finally {
          raw.close();
        }
      } finally {
        await closeAll(pub);
      }
    });
  });
}
