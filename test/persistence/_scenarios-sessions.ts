/**
 * Restart scenarios (restart.test.ts), sessions and QoS flows: a v5 session and a 3.1.1
 * CleanSession 0 session with subscriptions and queued messages, half-finished QoS 2 flows in
 * both directions, and unacknowledged outbound messages.
 */
import { expect } from "bun:test";
import { publish, uniqueId } from "../helpers/clients.ts";
import type { AnyPacket, RawClient } from "../helpers/raw.ts";
import {
  connectPersistent,
  describePacket,
  disconnect,
  hex,
  Receiver,
  subscribeRaw,
  subscriptionIds,
  topicPayloads,
  type Version,
  versionName,
  withPublisher,
} from "../helpers/persistence.ts";
import { leftOpen, type Scenario } from "./scenario.ts";

/** v5 session (Session Expiry 3600 s): exact, wildcard + Subscription Identifier, shared; QoS 1/2 queued. */
export const v5Session: Scenario = {
  name: "[v5 MQTT-3.1.2-23] [v5 MQTT-3.1.2-5] [v5 MQTT-3.2.2-3] a v5 session with Session Expiry Interval > 0 comes " +
    "back (Session Present 1) with its subscriptions (exact, wildcard with Subscription Identifier, shared) and its " +
    "queued QoS 1 and QoS 2 messages, delivered with their Subscription Identifiers [v5 MQTT-3.3.4-3], in order per " +
    "topic and QoS [v5 MQTT-4.6.0-5]",
  async prepare(b) {
    const base = uniqueId("r5");
    const id = uniqueId("s5");
    const group = uniqueId("g");
    const { raw } = await connectPersistent(b, 5, id, true);
    await subscribeRaw(raw, [{ topic: `${base}/exact`, qos: 2 }], { messageId: 1 });
    await subscribeRaw(raw, [{ topic: `${base}/wild/+`, qos: 1 }], { messageId: 2, subscriptionIdentifier: 42 });
    await subscribeRaw(raw, [{ topic: `$share/${group}/${base}/shared`, qos: 1 }], {
      messageId: 3,
      subscriptionIdentifier: 7,
    });
    await disconnect(raw);
    // Offline now: each PUBACK / PUBCOMP below means the copy queued for the session is durable.
    await withPublisher(b, 5, async (c) => {
      await publish(c, `${base}/exact`, "q1-a", { qos: 1 });
      await publish(c, `${base}/exact`, "q2-a", { qos: 2 });
      await publish(c, `${base}/wild/a`, "w2", { qos: 2 });
      await publish(c, `${base}/shared`, "sh1", { qos: 1 });
      await publish(c, `${base}/exact`, "q1-b", { qos: 1 });
      await publish(c, `${base}/exact`, "q2-b", { qos: 2 });
    });
    return {
      async verify(b2) {
        const { raw, connack } = await connectPersistent(b2, 5, id, false);
        const rx = new Receiver(raw);
        try {
          expect(connack.sessionPresent).toBe(true);
          const got = await rx.publishesUntil(6, 5_000);
          await rx.drainFor(300);
          const seen = got.map((p) =>
            `${p.topic} ${String(p.payload)} qos=${p.qos} ids=${subscriptionIds(p).join(",")}`
          );
          expect(seen.slice().sort()).toEqual([
            `${base}/exact q1-a qos=1 ids=`,
            `${base}/exact q1-b qos=1 ids=`,
            `${base}/exact q2-a qos=2 ids=`,
            `${base}/exact q2-b qos=2 ids=`,
            `${base}/shared sh1 qos=1 ids=7`,
            `${base}/wild/a w2 qos=1 ids=42`,
          ]);
          // Same topic and QoS keep their order [v5 MQTT-4.6.0-5].
          const order = (q: number) =>
            got.filter((p) => p.topic === `${base}/exact` && p.qos === q).map((p) => String(p.payload));
          expect(order(1)).toEqual(["q1-a", "q1-b"]);
          expect(order(2)).toEqual(["q2-a", "q2-b"]);
          expect(rx.publishes.length).toBe(6);

          // The subscriptions themselves survived: new messages still match them.
          await withPublisher(b2, 5, async (c) => {
            await publish(c, `${base}/wild/b`, "w-after", { qos: 1 });
            await publish(c, `${base}/shared`, "sh-after", { qos: 1 });
            await publish(c, `${base}/exact`, "x-after", { qos: 2 });
          });
          const after = (await rx.publishesUntil(9, 3_000)).slice(6);
          expect(
            after.map((p) => `${p.topic} ${String(p.payload)} qos=${p.qos} ids=${subscriptionIds(p).join(",")}`).sort(),
          )
            .toEqual([
              `${base}/exact x-after qos=2 ids=`,
              `${base}/shared sh-after qos=1 ids=7`,
              `${base}/wild/b w-after qos=1 ids=42`,
            ]);
        } finally {
          raw.close();
        }
      },
    };
  },
};

/** 3.1.1 CleanSession 0: wildcard and shared subscriptions, QoS 1/2 queued. */
export const v311Session: Scenario = {
  name: "[3.1.1 MQTT-4.1.0-1] [3.1.1 MQTT-3.1.2-4] [3.1.1 MQTT-3.1.2-5] [3.1.1 MQTT-3.2.2-2] a 3.1.1 CleanSession 0 " +
    "session comes back " +
    "(Session Present 1) with its wildcard and shared subscriptions and the QoS 1 and QoS 2 messages queued while offline",
  async prepare(b) {
    const base = uniqueId("r4");
    const id = uniqueId("s4");
    const group = uniqueId("g");
    const { raw } = await connectPersistent(b, 4, id, false);
    await subscribeRaw(raw, [{ topic: `${base}/+/q`, qos: 2 }, { topic: `$share/${group}/${base}/s`, qos: 1 }]);
    await disconnect(raw);
    await withPublisher(b, 4, async (c) => {
      await publish(c, `${base}/a/q`, "p2", { qos: 2 });
      await publish(c, `${base}/b/q`, "p1", { qos: 1 });
      await publish(c, `${base}/s`, "ps", { qos: 2 });
      await publish(c, `${base}/a/q`, "p2-b", { qos: 2 });
    });
    return {
      async verify(b2) {
        const { raw, connack } = await connectPersistent(b2, 4, id, false);
        const rx = new Receiver(raw);
        try {
          expect(connack.sessionPresent).toBe(true);
          const got = await rx.publishesUntil(4, 5_000);
          await rx.drainFor(300);
          expect(got.map((p) => `${p.topic} ${String(p.payload)} qos=${p.qos}`).sort()).toEqual([
            `${base}/a/q p2 qos=2`,
            `${base}/a/q p2-b qos=2`,
            `${base}/b/q p1 qos=1`,
            `${base}/s ps qos=1`,
          ]);
          expect(got.filter((p) => p.topic === `${base}/a/q`).map((p) => String(p.payload))).toEqual(["p2", "p2-b"]);
          expect(rx.publishes.length).toBe(4);
          await withPublisher(b2, 4, async (c) => {
            await publish(c, `${base}/c/q`, "after-q", { qos: 1 });
            await publish(c, `${base}/s`, "after-s", { qos: 1 });
          });
          const after = (await rx.publishesUntil(6, 3_000)).slice(4);
          expect(topicPayloads(after).sort()).toEqual([`${base}/c/q after-q`, `${base}/s after-s`]);
        } finally {
          raw.close();
        }
      },
    };
  },
};

/** Inbound QoS 2: PUBLISH sent, PUBREC received, no PUBREL before the stop. */
export function inboundQos2(version: Version): Scenario {
  const rules = version === 5 ? "[v5 MQTT-4.3.3-10] [v5 MQTT-4.3.3-11] [v5 MQTT-4.3.3-12]" : "[3.1.1 MQTT-4.3.3-2]";
  return {
    name:
      `${rules} ${
        versionName(version)
      } inbound QoS 2 half-finished (PUBREC sent, no PUBREL yet) survives: the resent PUBLISH ` +
      `(DUP 1) gets PUBREC and is not delivered twice, PUBREL gets PUBCOMP${
        version === 5 ? " 0x00" : ""
      }, then the packet id is free`,
    async prepare(b) {
      const topic = uniqueId("in2");
      const subId = uniqueId("in2-sub");
      const pubId = uniqueId("in2-pub");
      const sub = await connectPersistent(b, version, subId, true);
      await subscribeRaw(sub.raw, [{ topic, qos: 2 }]);
      await disconnect(sub.raw);
      const { raw } = await connectPersistent(b, version, pubId, true);
      leftOpen.push(raw);
      raw.sendPacket({
        cmd: "publish",
        topic,
        payload: Buffer.from("once"),
        qos: 2,
        messageId: 77,
        dup: false,
        retain: false,
      });
      const pubrec = await raw.nextPacket(3_000);
      if (pubrec.cmd !== "pubrec" || pubrec.messageId !== 77 || (pubrec.reasonCode ?? 0) !== 0) {
        throw new Error(`expected PUBREC 77 0x00, got ${describePacket(pubrec)}`);
      }
      return {
        async verify(b2) {
          const { raw, connack } = await connectPersistent(b2, version, pubId, false);
          let receiver: RawClient | undefined;
          try {
            expect(connack.sessionPresent).toBe(true);
            raw.sendPacket({
              cmd: "publish",
              topic,
              payload: Buffer.from("once"),
              qos: 2,
              messageId: 77,
              dup: true,
              retain: false,
            });
            const rec = await raw.nextPacket(3_000);
            expect(`${rec.cmd} ${rec.messageId}`).toBe("pubrec 77");
            if (version === 5) expect(rec.reasonCode ?? 0).toBeLessThan(0x80);
            raw.sendPacket({ cmd: "pubrel", messageId: 77 });
            const comp = await raw.nextPacket(3_000);
            expect(comp.cmd).toBe("pubcomp");
            expect(comp.messageId).toBe(77);
            if (version === 5) expect(hex(comp.reasonCode ?? 0)).toBe(hex(0x00)); // not 0x92 Packet Identifier not found
            // After PUBCOMP the id starts a new message.
            raw.sendPacket({
              cmd: "publish",
              topic,
              payload: Buffer.from("second"),
              qos: 2,
              messageId: 77,
              dup: false,
              retain: false,
            });
            expect((await raw.nextPacket(3_000)).cmd).toBe("pubrec");
            raw.sendPacket({ cmd: "pubrel", messageId: 77 });
            expect((await raw.nextPacket(3_000)).cmd).toBe("pubcomp");

            const sub = await connectPersistent(b2, version, subId, false);
            receiver = sub.raw;
            expect(sub.connack.sessionPresent).toBe(true);
            const rx = new Receiver(sub.raw);
            await rx.until(() => rx.publishes.some((p) => String(p.payload) === "second"), 3_000, '"second"');
            await rx.drainFor(300);
            expect(rx.publishes.map((p) => String(p.payload))).toEqual(["once", "second"]);
          } finally {
            raw.close();
            receiver?.close();
          }
        },
      };
    },
  };
}

/** Outbound QoS 2: broker sent PUBLISH, got PUBREC, sent PUBREL; no PUBCOMP before the stop. */
export function outboundQos2(version: Version): Scenario {
  const rules = version === 5
    ? "[v5 MQTT-4.4.0-1] [v5 MQTT-4.3.3-5] [v5 MQTT-4.3.3-6]"
    : "[3.1.1 MQTT-4.4.0-1] [3.1.1 MQTT-4.3.3-1]";
  return {
    name:
      `${rules} ${
        versionName(version)
      } outbound QoS 2 half-finished (PUBREL sent, no PUBCOMP yet) survives: after the ` +
      "reconnect the broker resends PUBREL with the same packet id, not the PUBLISH",
    async prepare(b) {
      const topic = uniqueId("out2");
      const id = uniqueId("out2-sub");
      const { raw } = await connectPersistent(b, version, id, true);
      leftOpen.push(raw);
      await subscribeRaw(raw, [{ topic, qos: 2 }]);
      await withPublisher(b, version, (c) => publish(c, topic, "half", { qos: 2 }));
      const p = await raw.nextPacketOf("publish", 3_000);
      if (p.qos !== 2 || String(p.payload) !== "half") {
        throw new Error(`expected the QoS 2 "half", got ${describePacket(p)}`);
      }
      raw.sendPacket({ cmd: "pubrec", messageId: p.messageId });
      const rel = await raw.nextPacket(3_000);
      if (rel.cmd !== "pubrel" || rel.messageId !== p.messageId) {
        throw new Error(`expected PUBREL ${p.messageId}, got ${describePacket(rel)}`);
      }
      const packetId = p.messageId as number;
      return {
        async verify(b2) {
          const { raw, connack } = await connectPersistent(b2, version, id, false);
          try {
            expect(connack.sessionPresent).toBe(true);
            const rx = new Receiver(raw, false);
            await rx.until(() => rx.all.some((x) => x.cmd === "pubrel"), 3_000, `PUBREL ${packetId}`);
            await rx.drainFor(300);
            // Exactly the PUBREL: no PUBLISH of "half" before or after it.
            expect(rx.all.map((x) => (x.cmd === "pubrel" ? `pubrel ${x.messageId}` : describePacket(x))))
              .toEqual([`pubrel ${packetId}`]);
            raw.sendPacket({ cmd: "pubcomp", messageId: packetId });
            // The flow is over: a new message arrives, "half" does not come back.
            const rx2 = new Receiver(raw);
            await withPublisher(b2, version, (c) => publish(c, topic, "next", { qos: 2 }));
            await rx2.publishesUntil(1, 3_000);
            await rx2.drainFor(300);
            expect(rx2.publishes.map((x: AnyPacket) => String(x.payload))).toEqual(["next"]);
          } finally {
            raw.close();
          }
        },
      };
    },
  };
}

/** Outbound QoS 1 and QoS 2 PUBLISH sent, never acknowledged before the stop. */
export function unacknowledged(version: Version): Scenario {
  const rules = version === 5 ? "[v5 MQTT-4.4.0-1] [v5 MQTT-3.3.1-1]" : "[3.1.1 MQTT-4.4.0-1] [3.1.1 MQTT-3.3.1-1]";
  return {
    name:
      `${rules} ${
        versionName(version)
      } unacknowledged outbound QoS 1 (and QoS 2 before PUBREC) are redelivered after the ` +
      "restart with DUP 1 and their original packet ids",
    async prepare(b) {
      const base = uniqueId("unack");
      const id = uniqueId("unack-sub");
      const { raw } = await connectPersistent(b, version, id, true);
      leftOpen.push(raw);
      await subscribeRaw(raw, [{ topic: `${base}/1`, qos: 1 }, { topic: `${base}/2`, qos: 2 }]);
      await withPublisher(b, version, async (c) => {
        await publish(c, `${base}/1`, "unacked-1", { qos: 1 });
        await publish(c, `${base}/2`, "unacked-2", { qos: 2 });
      });
      const first = await raw.nextPacketOf("publish", 3_000);
      const second = await raw.nextPacketOf("publish", 3_000);
      const sent = [first, second].map((p) => ({
        payload: String(p.payload),
        qos: p.qos,
        messageId: p.messageId as number,
      }));
      return {
        async verify(b2) {
          const { raw, connack } = await connectPersistent(b2, version, id, false);
          try {
            expect(connack.sessionPresent).toBe(true);
            const rx = new Receiver(raw);
            await rx.publishesUntil(2, 3_000);
            await rx.drainFor(300);
            const want = sent.map((s) =>
              describePacket({
                cmd: "publish",
                topic: `${base}/${s.qos}`,
                payload: s.payload,
                qos: s.qos,
                dup: true,
                messageId: s.messageId,
              })
            );
            expect(rx.publishes.map(describePacket).sort()).toEqual(want.sort());
          } finally {
            raw.close();
          }
        },
      };
    },
  };
}
