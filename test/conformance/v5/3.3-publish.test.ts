/**
 * MQTT 5.0 (OASIS 2019) section 3.3 PUBLISH: QoS 0/1/2 flows and their reason codes, invalid
 * PUBLISH packets, properties forwarded unaltered, Subscription Identifiers, retained messages,
 * ordering, and MQTT over WebSocket.
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
import {
  captureBytes,
  connectV5Ok,
  expectClosedWith,
  expectDisconnect,
  nextPublish,
  P,
  packet,
  props,
  publishUserProperties,
  RC,
  rawSubscribe,
  reasonOf,
  sleep,
  splitPackets,
  utf8,
} from "../../helpers/v5.ts";

const v5 = { protocolVersion: 5 as const };

for (const runtime of RUNTIMES) {
  describe(`MQTT 5.0 §3.3 PUBLISH [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({ runtime });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    test("[v5 MQTT-3.3.4-1] QoS 0 PUBLISH is delivered and not acknowledged", async () => {
      const topic = uniqueId("t/q0");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        await subscribe(sub, topic, { qos: 2 });
        const got = nextMessage(sub);
        raw.sendPacket({ cmd: "publish", topic, payload: "zero", qos: 0 });
        raw.send(Buffer.from([0xc0, 0x00])); // PINGREQ: the next packet must be its PINGRESP
        const m = await got;
        expect(m.payload.toString()).toBe("zero");
        expect(m.packet.qos).toBe(0);
        expect((await raw.nextPacket(2_000)).cmd).toBe("pingresp");
      } finally {
        raw.close();
        await closeAll(sub);
      }
    });

    test("[v5 MQTT-4.3.2-4] [v5 MQTT-3.4.2-1] QoS 1 PUBLISH with a subscriber: PUBACK with the same Packet Identifier and 0x00", async () => {
      const topic = uniqueId("t/q1");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        await subscribe(sub, topic, { qos: 1 });
        const got = nextMessage(sub);
        raw.sendPacket({ cmd: "publish", topic, payload: "one", qos: 1, messageId: 4321 });
        const ack = await raw.nextPacketOf("puback", 2_000);
        expect(ack.messageId).toBe(4321);
        expect(reasonOf(ack)).toBe(RC.success);
        const m = await got;
        expect(m.payload.toString()).toBe("one");
        expect(m.packet.qos).toBe(1);
      } finally {
        raw.close();
        await closeAll(sub);
      }
    });

    test("[v5 MQTT-3.4.2-1] QoS 1 PUBLISH without subscribers: PUBACK 0x00 or 0x10 (No matching subscribers)", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        raw.sendPacket({ cmd: "publish", topic: uniqueId("t/nobody"), payload: "x", qos: 1, messageId: 7 });
        const ack = await raw.nextPacketOf("puback", 2_000);
        expect(ack.messageId).toBe(7);
        expect([RC.success, RC.noMatchingSubscribers]).toContain(reasonOf(ack));
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-4.3.3-8] [v5 MQTT-4.3.3-11] [v5 MQTT-3.5.2-1] [v5 MQTT-3.7.2-1] QoS 2 PUBLISH: PUBREC 0x00, PUBREL → PUBCOMP 0x00, same Packet Identifier, delivered once", async () => {
      const topic = uniqueId("t/q2");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        await subscribe(sub, topic, { qos: 2 });
        const msgs = collectMessages(sub);
        raw.sendPacket({ cmd: "publish", topic, payload: "two", qos: 2, messageId: 99 });
        const rec = await raw.nextPacketOf("pubrec", 2_000);
        expect(rec.messageId).toBe(99);
        expect(reasonOf(rec)).toBe(RC.success);
        raw.sendPacket({ cmd: "pubrel", messageId: 99, reasonCode: 0 });
        const comp = await raw.nextPacketOf("pubcomp", 2_000);
        expect(comp.messageId).toBe(99);
        expect(reasonOf(comp)).toBe(RC.success);
        const [m] = await msgs.waitFor(1);
        expect(m.payload.toString()).toBe("two");
        expect(m.packet.qos).toBe(2);
        await sleep(200);
        expect(msgs.messages.length).toBe(1);
      } finally {
        raw.close();
        await closeAll(sub);
      }
    });

    test("[v5 MQTT-3.5.2-1] QoS 2 PUBLISH without subscribers: PUBREC 0x00 or 0x10, then PUBCOMP 0x00", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        raw.sendPacket({ cmd: "publish", topic: uniqueId("t/nobody2"), payload: "x", qos: 2, messageId: 8 });
        const rec = await raw.nextPacketOf("pubrec", 2_000);
        expect(rec.messageId).toBe(8);
        expect([RC.success, RC.noMatchingSubscribers]).toContain(reasonOf(rec));
        raw.sendPacket({ cmd: "pubrel", messageId: 8, reasonCode: 0 });
        const comp = await raw.nextPacketOf("pubcomp", 2_000);
        expect(comp.messageId).toBe(8);
        expect(reasonOf(comp)).toBe(RC.success);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-4.3.3-10] a QoS 2 PUBLISH repeated (DUP) before PUBREL gets another PUBREC and is delivered only once", async () => {
      const topic = uniqueId("t/q2dup");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        await subscribe(sub, topic, { qos: 2 });
        const msgs = collectMessages(sub);
        raw.sendPacket({ cmd: "publish", topic, payload: "once", qos: 2, messageId: 5 });
        expect((await raw.nextPacketOf("pubrec", 2_000)).messageId).toBe(5);
        raw.sendPacket({ cmd: "publish", topic, payload: "once", qos: 2, messageId: 5, dup: true });
        expect((await raw.nextPacketOf("pubrec", 2_000)).messageId).toBe(5);
        raw.sendPacket({ cmd: "pubrel", messageId: 5, reasonCode: 0 });
        expect((await raw.nextPacketOf("pubcomp", 2_000)).messageId).toBe(5);
        await msgs.waitFor(1);
        await sleep(300);
        expect(msgs.messages.map((m) => m.payload.toString())).toEqual(["once"]);
      } finally {
        raw.close();
        await closeAll(sub);
      }
    });

    test("[v5 MQTT-3.3.1-4] QoS 3 (both QoS bits set) is a Malformed Packet: DISCONNECT 0x81 (if any) and close", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("q3"));
      try {
        raw.send(packet(0x36, utf8(uniqueId("t/q3")), Buffer.from([0x00, 0x01]), props(), Buffer.from("x")));
        await expectClosedWith(raw, "disconnect", [RC.malformedPacket]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.3.1-2] DUP 1 on a QoS 0 PUBLISH: DISCONNECT 0x81/0x82 (if any) and close", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("dup0"));
      try {
        raw.send(packet(0x38, utf8(uniqueId("t/dup0")), props(), Buffer.from("x")));
        await expectClosedWith(raw, "disconnect", [RC.malformedPacket, RC.protocolError]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.3.2-2] [v5 MQTT-4.7.0-1] '+' in a Topic Name: DISCONNECT 0x90 (Topic Name invalid), not delivered", async () => {
      const base = uniqueId("t/wild");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        await subscribe(sub, `${base}/#`, { qos: 0 });
        raw.sendPacket({ cmd: "publish", topic: `${base}/+`, payload: "x", qos: 0 });
        await expectDisconnect(raw, RC.topicNameInvalid);
        await expectNoMessage(sub, 200);
      } finally {
        raw.close();
        await closeAll(sub);
      }
    });

    test("[v5 MQTT-3.3.2-2] '#' in a Topic Name: DISCONNECT 0x90 (Topic Name invalid)", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        raw.sendPacket({ cmd: "publish", topic: `${uniqueId("t/hash")}/#`, payload: "x", qos: 1, messageId: 1 });
        await expectDisconnect(raw, RC.topicNameInvalid);
      } finally {
        raw.close();
      }
    });

    test("[§3.3.2.1] [v5 MQTT-4.7.3-1] zero-length Topic Name without a Topic Alias: DISCONNECT 0x82 (Protocol Error)", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        raw.sendPacket({ cmd: "publish", topic: "", payload: "x", qos: 0 });
        await expectDisconnect(raw, RC.protocolError);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.3.4-6] a Subscription Identifier in a PUBLISH from the client: DISCONNECT 0x81/0x82", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        raw.send(packet(0x30, utf8(uniqueId("t/subid")), props(P.subscriptionIdentifier(3)), Buffer.from("x")));
        await expectDisconnect(raw, [RC.malformedPacket, RC.protocolError]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.3.2-14] a wildcard in the Response Topic: DISCONNECT 0x81/0x82", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        raw.sendPacket({
          cmd: "publish", topic: uniqueId("t/rt"), payload: "x", qos: 0,
          properties: { responseTopic: "replies/+" },
        });
        await expectDisconnect(raw, [RC.malformedPacket, RC.protocolError]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.3.2-4] [v5 MQTT-3.3.2-20] Payload Format Indicator and Content Type are forwarded unaltered", async () => {
      const topic = uniqueId("t/pfi");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const got = nextMessage(sub);
        await publish(pub, topic, "{\"a\":1}", {
          qos: 1,
          properties: { payloadFormatIndicator: true, contentType: "application/json; charset=utf-8" },
        });
        const m = await got;
        expect(m.packet.properties?.payloadFormatIndicator).toBe(true);
        expect(m.packet.properties?.contentType).toBe("application/json; charset=utf-8");
      } finally {
        await closeAll(sub, pub);
      }
    });

    test("[v5 MQTT-3.3.2-15] [v5 MQTT-3.3.2-16] Response Topic and (binary) Correlation Data are forwarded unaltered", async () => {
      const topic = uniqueId("t/req");
      const correlation = Buffer.from([0x00, 0xff, 0xfe, 0x10, 0x80, 0x7f]);
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await subscribe(sub, topic, { qos: 0 });
        const got = nextMessage(sub);
        await publish(pub, topic, "q", { qos: 0, properties: { responseTopic: "reply/to/me", correlationData: correlation } });
        const m = await got;
        expect(m.packet.properties?.responseTopic).toBe("reply/to/me");
        expect(Buffer.from(m.packet.properties?.correlationData ?? []).equals(correlation)).toBe(true);
      } finally {
        await closeAll(sub, pub);
      }
    });

    test("[v5 MQTT-3.3.2-17] [v5 MQTT-3.3.2-18] User Properties are forwarded unaltered and in order (repeated keys included)", async () => {
      const topic = uniqueId("t/up");
      const sent: Array<[string, string]> = [["z", "1"], ["a", "2"], ["z", "3"], ["m", "ü"], ["a", "2"]];
      const sub = await connectV5Ok(b, uniqueId("sub"));
      const pub = await connectV5Ok(b, uniqueId("pub"));
      try {
        await rawSubscribe(sub.raw, [{ topic, qos: 0 }]);
        const bytes = captureBytes(sub.raw);
        pub.raw.send(packet(0x30, utf8(topic), props(...sent.map(([k, v]) => P.userProperty(k, v))), Buffer.from("u")));
        await nextPublish(sub.raw);
        const publishes = splitPackets(bytes()).filter((p) => p[0] >> 4 === 3);
        expect(publishes.length).toBe(1);
        expect(publishUserProperties(publishes[0])).toEqual(sent);
      } finally {
        sub.raw.close();
        pub.raw.close();
      }
    });

    test("[v5 MQTT-3.3.4-3] a Subscription Identifier is sent with messages matching that subscription; none without one", async () => {
      const base = uniqueId("t/sid");
      const withId = await connectClient(b, { ...v5, clientId: uniqueId("withid") });
      const without = await connectClient(b, { ...v5, clientId: uniqueId("noid") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await subscribe(withId, `${base}/+`, { qos: 0, properties: { subscriptionIdentifier: 268_435_455 } });
        await subscribe(without, `${base}/+`, { qos: 0 });
        const a = nextMessage(withId);
        const c = nextMessage(without);
        await publish(pub, `${base}/x`, "sid", { qos: 0 });
        expect((await a).packet.properties?.subscriptionIdentifier).toBe(268_435_455);
        expect((await c).packet.properties?.subscriptionIdentifier).toBeUndefined();
      } finally {
        await closeAll(withId, without, pub);
      }
    });

    test("[v5 MQTT-3.3.4-2] [v5 MQTT-3.3.4-4] [v5 MQTT-3.3.4-5] overlapping subscriptions with ids 1 and 2: maximum QoS respected, both ids delivered (one message carries both)", async () => {
      const base = uniqueId("t/overlap");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await subscribe(sub, `${base}/+`, { qos: 0, properties: { subscriptionIdentifier: 1 } });
        await subscribe(sub, `${base}/x`, { qos: 1, properties: { subscriptionIdentifier: 2 } });
        const msgs = collectMessages(sub);
        await publish(pub, `${base}/x`, "both", { qos: 1 });
        await msgs.waitFor(1);
        await sleep(300);
        const ids = (m: { packet: { properties?: { subscriptionIdentifier?: number | number[] } } }) =>
          [m.packet.properties?.subscriptionIdentifier ?? []].flat().sort();
        const perMessage = msgs.messages.map(ids);
        // One copy must carry the maximum QoS; if the server sends a single copy it carries both ids,
        // if it sends one copy per subscription each carries its own id.
        expect(Math.max(...msgs.messages.map((m) => m.packet.qos))).toBe(1);
        if (msgs.messages.length === 1) expect(perMessage[0]).toEqual([1, 2]);
        else {
          expect(msgs.messages.length).toBe(2);
          expect(perMessage.flat().sort()).toEqual([1, 2]);
        }
      } finally {
        await closeAll(sub, pub);
      }
    });

    test("[v5 MQTT-3.3.1-5] [v5 MQTT-3.3.1-9] a retained message replaces the previous one and is sent to new subscribers with RETAIN 1", async () => {
      const topic = uniqueId("t/ret");
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      try {
        await publish(pub, topic, "r1", { qos: 1, retain: true });
        await publish(pub, topic, "r2", { qos: 1, retain: true });
        const msgs = collectMessages(sub);
        await subscribe(sub, topic, { qos: 1 });
        await msgs.waitFor(1);
        await sleep(200);
        expect(msgs.messages.map((m) => m.payload.toString())).toEqual(["r2"]);
        expect(msgs.messages[0].packet.retain).toBe(true);
      } finally {
        await publish(pub, topic, "", { qos: 1, retain: true }).catch(() => {});
        await closeAll(pub, sub);
      }
    });

    test("[v5 MQTT-3.3.1-6] [v5 MQTT-3.3.1-7] a retained PUBLISH with an empty payload removes the retained message", async () => {
      const topic = uniqueId("t/retdel");
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      try {
        await publish(pub, topic, "doomed", { qos: 1, retain: true });
        await publish(pub, topic, "", { qos: 1, retain: true });
        await subscribe(sub, topic, { qos: 1 });
        await expectNoMessage(sub, 300);
      } finally {
        await closeAll(pub, sub);
      }
    });

    test("[v5 MQTT-3.3.1-8] a PUBLISH with RETAIN 0 neither stores nor replaces the retained message", async () => {
      const topic = uniqueId("t/ret0");
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      try {
        await publish(pub, topic, "kept", { qos: 1, retain: true });
        await publish(pub, topic, "live", { qos: 1, retain: false });
        const msgs = collectMessages(sub);
        await subscribe(sub, topic, { qos: 1 });
        await msgs.waitFor(1);
        await sleep(200);
        expect(msgs.messages.map((m) => m.payload.toString())).toEqual(["kept"]);
      } finally {
        await publish(pub, topic, "", { qos: 1, retain: true }).catch(() => {});
        await closeAll(pub, sub);
      }
    });

    test("[v5 MQTT-4.6.0-5] [v5 MQTT-4.6.0-6] messages from one client on one topic are delivered in order (QoS 1)", async () => {
      const topic = uniqueId("t/order");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        await subscribe(sub, topic, { qos: 1 });
        const msgs = collectMessages(sub);
        for (let i = 1; i <= 30; i++) raw.sendPacket({ cmd: "publish", topic, payload: String(i), qos: 1, messageId: i });
        await msgs.waitFor(30, 3_000);
        expect(msgs.messages.map((m) => Number(m.payload.toString()))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      } finally {
        raw.close();
        await closeAll(sub);
      }
    });

    test("[§6] MQTT over WebSocket: QoS 1 and QoS 2 publish from a WebSocket client reach WebSocket and TCP subscribers with properties", async () => {
      const topic = uniqueId("t/ws");
      const wsSub = await connectClient(b, { ...v5, transport: "ws", clientId: uniqueId("wssub") });
      const tcpSub = await connectClient(b, { ...v5, clientId: uniqueId("tcpsub") });
      const wsPub = await connectClient(b, { ...v5, transport: "ws", clientId: uniqueId("wspub") });
      try {
        await subscribe(wsSub, topic, { qos: 2 });
        await subscribe(tcpSub, topic, { qos: 2 });
        const a = collectMessages(wsSub);
        const c = collectMessages(tcpSub);
        await publish(wsPub, topic, "over-ws-1", { qos: 1, properties: { userProperties: { via: "ws" } } });
        await publish(wsPub, topic, "over-ws-2", { qos: 2 });
        for (const got of [await a.waitFor(2), await c.waitFor(2)]) {
          expect(got.map((m) => m.payload.toString())).toEqual(["over-ws-1", "over-ws-2"]);
          expect(got.map((m) => m.packet.qos)).toEqual([1, 2]);
          expect(got[0].packet.properties?.userProperties).toEqual({ via: "ws" });
        }
      } finally {
        await closeAll(wsSub, tcpSub, wsPub);
      }
    });
  });
}
