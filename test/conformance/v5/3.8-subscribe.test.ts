/**
 * MQTT 5.0 (OASIS 2019) sections 3.8 SUBSCRIBE and 3.9 SUBACK: reason codes per filter, granted
 * QoS, the subscription options (No Local, Retain As Published, Retain Handling), replacing a
 * subscription, and malformed SUBSCRIBE packets. Shared subscriptions: 4.8-shared-subscriptions.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RUNTIMES, type RunningBroker, startBroker } from "../../helpers/broker.ts";
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
import type { MqttClient } from "mqtt";
import {
  type AnyPacket,
  connectV5Ok,
  expectDisconnect,
  hex,
  P,
  props,
  RC,
  rawSubscribe,
  reasonOf,
  sleep,
  subscribeBytes,
} from "../../helpers/v5.ts";

const v5 = { protocolVersion: 5 as const };

for (const runtime of RUNTIMES) {
  describe(`MQTT 5.0 §3.8 SUBSCRIBE [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({ runtime });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    async function retained(topic: string, payload: string): Promise<MqttClient> {
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("retpub") });
      await publish(pub, topic, payload, { qos: 1, retain: true });
      return pub;
    }

    test("[v5 MQTT-3.8.4-1] [v5 MQTT-3.8.4-2] [v5 MQTT-3.8.4-5] [v5 MQTT-3.8.4-6] [v5 MQTT-3.9.3-1] one SUBACK with the same Packet Identifier and a reason code per filter, in order; 0x8F for invalid filters", async () => {
      const base = uniqueId("t/multi");
      const { raw } = await connectV5Ok(b, uniqueId("multi"));
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        const suback = await rawSubscribe(raw, [
          { topic: `${base}/+`, qos: 0 },
          { topic: `${base}/#/x`, qos: 1 }, // '#' not last [v5 MQTT-4.7.1-1]
          { topic: `${base}/c`, qos: 2 },
          { topic: `${base}a+`, qos: 1 }, // '+' not a whole level [v5 MQTT-4.7.1-2]
          { topic: `${base}/#`, qos: 1 },
        ], { messageId: 4242 });
        expect(suback.granted.map(hex)).toEqual([0, RC.topicFilterInvalid, 2, RC.topicFilterInvalid, 1].map(hex));
        expect(raw.packets().filter((p: AnyPacket) => p.cmd === "suback").length).toBe(1);
        await publish(pub, `${base}/c`, "valid-still-work", { qos: 2 });
        const p = await raw.nextPacketOf("publish", 2_000);
        expect(String(p.payload)).toBe("valid-still-work");
      } finally {
        raw.close();
        await closeAll(pub);
      }
    });

    test("[v5 MQTT-3.8.4-7] [v5 MQTT-3.8.4-8] delivered QoS is the minimum of the published QoS and the granted QoS", async () => {
      const topic = uniqueId("t/minqos");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        const granted = await subscribe(sub, topic, { qos: 1 });
        expect(granted[0].qos).toBe(1);
        const msgs = collectMessages(sub);
        await publish(pub, topic, "q2", { qos: 2 });
        await publish(pub, topic, "q0", { qos: 0 });
        const got = await msgs.waitFor(2);
        expect(got.map((m) => [m.payload.toString(), m.packet.qos])).toEqual([["q2", 1], ["q0", 0]]);
      } finally {
        await closeAll(sub, pub);
      }
    });

    test("[v5 MQTT-3.8.3-3] No Local: the subscriber's own messages are not sent back to it; others' are, and other subscribers get its messages", async () => {
      const topic = uniqueId("t/nolocal");
      const self = await connectClient(b, { ...v5, clientId: uniqueId("self") });
      const other = await connectClient(b, { ...v5, clientId: uniqueId("other") });
      try {
        await subscribe(self, topic, { qos: 1, nl: true });
        await subscribe(other, topic, { qos: 1 });
        const mine = collectMessages(self);
        const theirs = collectMessages(other);
        await publish(self, topic, "from-self", { qos: 1 });
        await publish(other, topic, "from-other", { qos: 1 });
        await theirs.waitFor(2);
        await mine.waitFor(1);
        await sleep(200);
        expect(mine.messages.map((m) => m.payload.toString())).toEqual(["from-other"]);
        expect(theirs.messages.map((m) => m.payload.toString())).toEqual(["from-self", "from-other"]);
      } finally {
        await closeAll(self, other);
      }
    });

    test("[v5 MQTT-3.3.1-12] [v5 MQTT-3.3.1-13] Retain As Published: 0 forwards a live retained message with RETAIN 0, 1 keeps RETAIN 1", async () => {
      const topic = uniqueId("t/rap");
      const rap0 = await connectClient(b, { ...v5, clientId: uniqueId("rap0") });
      const rap1 = await connectClient(b, { ...v5, clientId: uniqueId("rap1") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await subscribe(rap0, topic, { qos: 1, rap: false });
        await subscribe(rap1, topic, { qos: 1, rap: true });
        const a = nextMessage(rap0);
        const c = nextMessage(rap1);
        await publish(pub, topic, "live-retained", { qos: 1, retain: true });
        expect((await a).packet.retain).toBe(false);
        expect((await c).packet.retain).toBe(true);
      } finally {
        await publish(pub, topic, "", { qos: 1, retain: true }).catch(() => {});
        await closeAll(rap0, rap1, pub);
      }
    });

    test("[§3.3.1.3] [v5 MQTT-3.3.1-9] a retained message sent because of a new subscription has RETAIN 1, even with Retain As Published 0", async () => {
      const topic = uniqueId("t/retnew");
      const pub = await retained(topic, "stored");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      try {
        const got = nextMessage(sub);
        await subscribe(sub, topic, { qos: 1, rap: false });
        const m = await got;
        expect(m.payload.toString()).toBe("stored");
        expect(m.packet.retain).toBe(true);
      } finally {
        await publish(pub, topic, "", { qos: 1, retain: true }).catch(() => {});
        await closeAll(pub, sub);
      }
    });

    test("[v5 MQTT-3.3.4-3] a retained message sent because of a new subscription carries that subscription's Subscription Identifier", async () => {
      const topic = uniqueId("t/retsid");
      const pub = await retained(topic, "with-id");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      try {
        const got = nextMessage(sub);
        await subscribe(sub, topic, { qos: 1, properties: { subscriptionIdentifier: 77 } });
        const m = await got;
        expect(m.payload.toString()).toBe("with-id");
        expect(m.packet.properties?.subscriptionIdentifier).toBe(77);
      } finally {
        await publish(pub, topic, "", { qos: 1, retain: true }).catch(() => {});
        await closeAll(pub, sub);
      }
    });

    test("[v5 MQTT-3.3.1-9] Retain Handling 0: retained messages are sent on every SUBSCRIBE, also when the subscription exists", async () => {
      const topic = uniqueId("t/rh0");
      const pub = await retained(topic, "r");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      try {
        const msgs = collectMessages(sub);
        await subscribe(sub, topic, { qos: 1, rh: 0 });
        await msgs.waitFor(1);
        await subscribe(sub, topic, { qos: 1, rh: 0 });
        await msgs.waitFor(2);
        await sleep(100);
        expect(msgs.messages.map((m) => m.payload.toString())).toEqual(["r", "r"]);
      } finally {
        await publish(pub, topic, "", { qos: 1, retain: true }).catch(() => {});
        await closeAll(pub, sub);
      }
    });

    test("[v5 MQTT-3.3.1-10] Retain Handling 1: retained messages are sent only if the subscription did not exist", async () => {
      const topic = uniqueId("t/rh1");
      const pub = await retained(topic, "r");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      try {
        const msgs = collectMessages(sub);
        await subscribe(sub, topic, { qos: 1, rh: 1 });
        await msgs.waitFor(1);
        await subscribe(sub, topic, { qos: 1, rh: 1 });
        await sleep(300);
        expect(msgs.messages.map((m) => m.payload.toString())).toEqual(["r"]);
      } finally {
        await publish(pub, topic, "", { qos: 1, retain: true }).catch(() => {});
        await closeAll(pub, sub);
      }
    });

    test("[v5 MQTT-3.3.1-11] Retain Handling 2: retained messages are not sent at subscribe time (live messages are)", async () => {
      const topic = uniqueId("t/rh2");
      const pub = await retained(topic, "r");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      try {
        const msgs = collectMessages(sub);
        await subscribe(sub, topic, { qos: 1, rh: 2 });
        await sleep(300);
        expect(msgs.messages).toEqual([]);
        await publish(pub, topic, "live", { qos: 1 });
        await msgs.waitFor(1);
        expect(msgs.messages.map((m) => m.payload.toString())).toEqual(["live"]);
      } finally {
        await publish(pub, topic, "", { qos: 1, retain: true }).catch(() => {});
        await closeAll(pub, sub);
      }
    });

    test("[v5 MQTT-3.8.4-3] a SUBSCRIBE with an identical filter replaces the subscription (new QoS and Subscription Identifier, one copy)", async () => {
      const topic = uniqueId("t/replace");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await subscribe(sub, topic, { qos: 0, properties: { subscriptionIdentifier: 5 } });
        await subscribe(sub, topic, { qos: 2, properties: { subscriptionIdentifier: 6 } });
        const msgs = collectMessages(sub);
        await publish(pub, topic, "once", { qos: 2 });
        await msgs.waitFor(1);
        await sleep(300);
        expect(msgs.messages.length).toBe(1);
        expect(msgs.messages[0].packet.qos).toBe(2);
        expect(msgs.messages[0].packet.properties?.subscriptionIdentifier).toBe(6);
      } finally {
        await closeAll(sub, pub);
      }
    });

    test("[§3.8.2.1.2] Subscription Identifier 0 is a Protocol Error: DISCONNECT 0x82", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("sid0"));
      try {
        raw.send(subscribeBytes(1, [{ topic: uniqueId("t/sid0"), options: 0 }], { properties: props(P.subscriptionIdentifier(0)) }));
        await expectDisconnect(raw, RC.protocolError);
      } finally {
        raw.close();
      }
    });

    test("[§3.8.3.1] Retain Handling 3 is a Protocol Error: DISCONNECT 0x82", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("rh3"));
      try {
        raw.send(subscribeBytes(1, [{ topic: uniqueId("t/rh3"), options: 0x30 }]));
        await expectDisconnect(raw, RC.protocolError);
      } finally {
        raw.close();
      }
    });

    test("[§3.8.3.1] Maximum QoS 3 in the subscription options is a Protocol Error: DISCONNECT 0x82", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("sq3"));
      try {
        raw.send(subscribeBytes(1, [{ topic: uniqueId("t/sq3"), options: 0x03 }]));
        await expectDisconnect(raw, RC.protocolError);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.8.3-5] reserved bits set in the subscription options: Malformed Packet, DISCONNECT 0x81", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("rsvopt"));
      try {
        raw.send(subscribeBytes(1, [{ topic: uniqueId("t/rsv"), options: 0x41 }]));
        await expectDisconnect(raw, RC.malformedPacket);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.8.1-1] SUBSCRIBE with fixed header flags 0000: Malformed Packet, DISCONNECT 0x81", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("subflags"));
      try {
        raw.send(subscribeBytes(1, [{ topic: uniqueId("t/flags"), options: 0 }], { firstByte: 0x80 }));
        await expectDisconnect(raw, RC.malformedPacket);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.8.3-2] SUBSCRIBE without any Topic Filter is a Protocol Error: DISCONNECT 0x82", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("nofilter"));
      try {
        raw.send(subscribeBytes(1, []));
        await expectDisconnect(raw, RC.protocolError);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-4.7.3-1] an empty Topic Filter is refused (SUBACK 0x8F, or DISCONNECT 0x81/0x82)", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("emptyf"));
      try {
        raw.sendPacket({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "", qos: 0 }] });
        const p = await raw.nextPacket(2_000);
        if (p.cmd === "suback") expect(p.granted.map(hex)).toEqual([hex(RC.topicFilterInvalid)]);
        else {
          expect(p.cmd).toBe("disconnect");
          expect([RC.malformedPacket, RC.protocolError].map(hex)).toContain(hex(reasonOf(p)));
        }
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.8.4-8] a QoS 0 subscription receives QoS 1 and 2 messages at QoS 0", async () => {
      const topic = uniqueId("t/q0sub");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await subscribe(sub, topic, { qos: 0 });
        const msgs = collectMessages(sub);
        await publish(pub, topic, "a", { qos: 1 });
        await publish(pub, topic, "b", { qos: 2 });
        const got = await msgs.waitFor(2);
        expect(got.map((m) => m.packet.qos)).toEqual([0, 0]);
        await expectNoMessage(sub, 100);
      } finally {
        await closeAll(sub, pub);
      }
    });
  });
}
