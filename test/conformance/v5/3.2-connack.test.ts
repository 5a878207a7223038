/**
 * MQTT 5.0 (OASIS 2019) section 3.2 CONNACK: the server's announced limits, and that the server
 * enforces them. One broker configured with every limit lowered or feature switched off.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RUNTIMES, type RunningBroker, startBroker } from "../../helpers/broker.ts";
import { closeAll, connectClient, nextMessage, publish, subscribe, uniqueId } from "../../helpers/clients.ts";
import {
  type AnyPacket,
  connectV5,
  connectV5Ok,
  expectClosedWith,
  expectDisconnect,
  hex,
  openV5,
  RC,
  type RawClient,
  rawSubscribe,
  reasonOf,
} from "../../helpers/v5.ts";

const LIMITS = {
  "mqtt.receiveMaximum": 7,
  "mqtt.topicAliasMaximum": 5,
  "mqtt.maxPacketSize": 4096,
  "mqtt.maxSessionExpiryInterval": 2,
  "mqtt.maxKeepalive": 30,
  "mqtt.maxQos": 1,
  "mqtt.retainAvailable": false,
  "mqtt.wildcardSubscriptions": false,
  "mqtt.subscriptionIdentifiers": false,
  "mqtt.sharedSubscriptions": false,
};

/** A refused subscription: SUBACK with `code` for the filter, or DISCONNECT `code` and close. */
async function expectSubscribeRefused(raw: RawClient, code: number): Promise<void> {
  const p: AnyPacket = await raw.nextPacket(2_000);
  expect(["suback", "disconnect"]).toContain(p.cmd);
  if (p.cmd === "suback") expect(hex(p.granted[0])).toBe(hex(code));
  else {
    expect(hex(reasonOf(p))).toBe(hex(code));
    expect(await raw.waitClosed(2_000)).toBe(true);
  }
}

for (const runtime of RUNTIMES) {
  describe(`MQTT 5.0 §3.2 CONNACK, limited server [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({ runtime, set: LIMITS });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    test("[§3.2.2.3.3] [§3.2.2.3.6] [§3.2.2.3.8] CONNACK carries Receive Maximum 7, Maximum Packet Size 4096 and Topic Alias Maximum 5", async () => {
      const { raw, connack } = await connectV5Ok(b, uniqueId("lim"));
      raw.close();
      expect(connack.properties?.receiveMaximum).toBe(7);
      expect(connack.properties?.maximumPacketSize).toBe(4096);
      expect(connack.properties?.topicAliasMaximum).toBe(5);
    });

    test("[v5 MQTT-3.2.2-9] a server without QoS 2 sends Maximum QoS 1 in CONNACK", async () => {
      const { raw, connack } = await connectV5Ok(b, uniqueId("maxqos"));
      raw.close();
      expect(connack.properties?.maximumQoS).toBe(1);
    });

    test("[§3.2.2.3.5] Retain Available 0 in CONNACK when retained messages are disabled", async () => {
      const { raw, connack } = await connectV5Ok(b, uniqueId("retav"));
      raw.close();
      expect(connack.properties?.retainAvailable).toBe(false);
    });

    test("[§3.2.2.3.11] [§3.2.2.3.12] [§3.2.2.3.13] Wildcard, Subscription Identifier and Shared Subscription Available are 0 when disabled", async () => {
      const { raw, connack } = await connectV5Ok(b, uniqueId("avail"));
      raw.close();
      expect(connack.properties?.wildcardSubscriptionAvailable).toBe(false);
      expect(connack.properties?.subscriptionIdentifiersAvailable).toBe(false);
      expect(connack.properties?.sharedSubscriptionAvailable).toBe(false);
    });

    // That the session then ends after the 2 s [v5 MQTT-4.1.0-2]: test/core/timing-session.test.ts, on fake time.
    test("[§3.2.2.3.2] Session Expiry Interval above the maximum: CONNACK says 2 s and the session is kept within it", async () => {
      const id = uniqueId("seicap");
      const first = await connectV5Ok(b, id, { clean: false, properties: { sessionExpiryInterval: 3600 } });
      expect(first.connack.properties?.sessionExpiryInterval).toBe(2);
      first.raw.sendPacket({ cmd: "disconnect", reasonCode: 0 });
      await first.raw.waitClosed(1_000);
      first.raw.close();

      const soon = await connectV5Ok(b, id, { clean: false, properties: { sessionExpiryInterval: 3600 } });
      soon.raw.close();
      expect(soon.connack.sessionPresent).toBe(true);
    });

    test("[§3.2.2.3.2] Session Expiry Interval within the maximum is kept (CONNACK omits it or repeats it)", async () => {
      const { raw, connack } = await connectV5Ok(b, uniqueId("seiok"), { properties: { sessionExpiryInterval: 1 } });
      raw.close();
      expect(connack.properties?.sessionExpiryInterval ?? 1).toBe(1);
    });

    test("[§3.2.2.3.14] [v5 MQTT-3.1.2-21] Keep Alive 120 above the maximum 30: CONNACK carries Server Keep Alive 30", async () => {
      const { raw, connack } = await connectV5Ok(b, uniqueId("ka"), { keepalive: 120 });
      raw.close();
      expect(connack.properties?.serverKeepAlive).toBe(30);
    });

    test("[§3.2.2.3.14] Keep Alive 10 within the maximum: no different Server Keep Alive", async () => {
      const { raw, connack } = await connectV5Ok(b, uniqueId("ka10"), { keepalive: 10 });
      raw.close();
      expect(connack.properties?.serverKeepAlive ?? 10).toBe(10);
    });

    test("[v5 MQTT-3.2.2-10] [v5 MQTT-3.8.4-8] with Maximum QoS 1 a QoS 2 SUBSCRIBE is still accepted (granted QoS ≤ 1) and delivers", async () => {
      const topic = uniqueId("t/q2sub");
      const { raw } = await connectV5Ok(b, uniqueId("q2sub"));
      const pub = await connectClient(b, { protocolVersion: 5, clientId: uniqueId("pub") });
      try {
        const suback = await rawSubscribe(raw, [{ topic, qos: 2 }]);
        expect([0, 1]).toContain(suback.granted[0]);
        await publish(pub, topic, "q1", { qos: 1 });
        const p = await raw.nextPacketOf("publish", 2_000);
        expect(String(p.payload)).toBe("q1");
        expect(p.qos).toBeLessThanOrEqual(suback.granted[0]);
      } finally {
        raw.close();
        await closeAll(pub);
      }
    });

    test("[v5 MQTT-3.2.2-11] [§3.3.1.2] PUBLISH QoS 2 above Maximum QoS 1: DISCONNECT 0x9B (QoS not supported)", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("q2pub"));
      try {
        raw.sendPacket({ cmd: "publish", topic: uniqueId("t/q2"), payload: "x", qos: 2, messageId: 1 });
        await expectDisconnect(raw, RC.qosNotSupported);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.2.2-12] Will QoS 2 above Maximum QoS 1: connection refused (CONNACK 0x9B if any) and closed", async () => {
      const raw = await openV5(b);
      try {
        raw.sendPacket({
          cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, keepalive: 60,
          clientId: uniqueId("willq2"),
          will: { topic: uniqueId("t/will"), payload: Buffer.from("w"), qos: 2, retain: false, properties: {} },
        });
        await expectClosedWith(raw, "connack", [RC.qosNotSupported]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.2.2-13] Will Retain with Retain Available 0: connection refused (CONNACK 0x9A if any) and closed", async () => {
      const raw = await openV5(b);
      try {
        raw.sendPacket({
          cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, keepalive: 60,
          clientId: uniqueId("willret"),
          will: { topic: uniqueId("t/will"), payload: Buffer.from("w"), qos: 0, retain: true, properties: {} },
        });
        await expectClosedWith(raw, "connack", [RC.retainNotSupported]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.2.2-14] [§3.3.1.3] PUBLISH with RETAIN 1 when Retain Available is 0: DISCONNECT 0x9A (Retain not supported)", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("retpub"));
      try {
        raw.sendPacket({ cmd: "publish", topic: uniqueId("t/ret"), payload: "x", qos: 0, retain: true });
        await expectDisconnect(raw, RC.retainNotSupported);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.2.2-15] [§3.2.2.3.6] a PUBLISH bigger than the server's Maximum Packet Size: DISCONNECT 0x95 (Packet too large)", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("toobig"));
      try {
        raw.sendPacket({ cmd: "publish", topic: uniqueId("t/big"), payload: Buffer.alloc(5_000, 0x62), qos: 0 });
        await expectDisconnect(raw, RC.packetTooLarge);
      } finally {
        raw.close();
      }
    });

    test("[§3.2.2.3.6] a PUBLISH within the server's Maximum Packet Size is delivered", async () => {
      const topic = uniqueId("t/fits");
      const sub = await connectClient(b, { protocolVersion: 5, clientId: uniqueId("sub") });
      const { raw } = await connectV5Ok(b, uniqueId("fits"));
      try {
        await subscribe(sub, topic, { qos: 0 });
        const got = nextMessage(sub);
        raw.sendPacket({ cmd: "publish", topic, payload: Buffer.alloc(3_000, 0x63), qos: 0 });
        expect((await got).payload.length).toBe(3_000);
        expect(raw.closed).toBe(false);
      } finally {
        raw.close();
        await closeAll(sub);
      }
    });

    test("[v5 MQTT-3.3.2-12] Topic Alias up to the announced maximum (5) is accepted", async () => {
      const topic = uniqueId("t/alias5");
      const sub = await connectClient(b, { protocolVersion: 5, clientId: uniqueId("sub") });
      const { raw } = await connectV5Ok(b, uniqueId("alias5"));
      try {
        await subscribe(sub, topic, { qos: 0 });
        const got = nextMessage(sub);
        raw.sendPacket({ cmd: "publish", topic, payload: "a5", qos: 0, properties: { topicAlias: 5 } });
        expect((await got).topic).toBe(topic);
      } finally {
        raw.close();
        await closeAll(sub);
      }
    });

    test("[v5 MQTT-3.3.2-9] Topic Alias 6 above the announced maximum (5): DISCONNECT 0x94 (Topic Alias invalid)", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("alias6"));
      try {
        raw.sendPacket({ cmd: "publish", topic: uniqueId("t/a6"), payload: "a6", qos: 0, properties: { topicAlias: 6 } });
        await expectDisconnect(raw, RC.topicAliasInvalid);
      } finally {
        raw.close();
      }
    });

    test("[§3.2.2.3.11] wildcard subscription when not supported: refused with 0xA2 (SUBACK or DISCONNECT); a plain filter is granted", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("nowild"));
      try {
        const ok = await rawSubscribe(raw, [{ topic: uniqueId("plain"), qos: 1 }], { messageId: 1 });
        expect(ok.granted).toEqual([1]);
        raw.sendPacket({ cmd: "subscribe", messageId: 2, subscriptions: [{ topic: uniqueId("w") + "/+", qos: 0 }] });
        await expectSubscribeRefused(raw, RC.wildcardSubscriptionsNotSupported);
      } finally {
        raw.close();
      }
    });

    test("[§3.2.2.3.12] Subscription Identifier when not supported: refused with 0xA1 (SUBACK or DISCONNECT)", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("nosubid"));
      try {
        raw.sendPacket({
          cmd: "subscribe", messageId: 3,
          subscriptions: [{ topic: uniqueId("subid"), qos: 0 }],
          properties: { subscriptionIdentifier: 7 },
        });
        await expectSubscribeRefused(raw, RC.subscriptionIdentifiersNotSupported);
      } finally {
        raw.close();
      }
    });

    test("[§3.2.2.3.13] Shared Subscription when not supported: refused with 0x9E (SUBACK or DISCONNECT)", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("noshare"));
      try {
        raw.sendPacket({ cmd: "subscribe", messageId: 4, subscriptions: [{ topic: `$share/g/${uniqueId("s")}`, qos: 0 }] });
        await expectSubscribeRefused(raw, RC.sharedSubscriptionsNotSupported);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.2.2-6] [v5 MQTT-3.2.2-7] a refused CONNECT has Session Present 0 and the connection is closed", async () => {
      const id = uniqueId("refused");
      // Create a session first, so Session Present would be 1 if the CONNECT were accepted.
      const first = await connectV5Ok(b, id, { clean: false, properties: { sessionExpiryInterval: 2 } });
      first.raw.sendPacket({ cmd: "disconnect", reasonCode: 0 });
      first.raw.close();
      const { raw, connack } = await connectV5(b, id, {
        clean: false,
        properties: { sessionExpiryInterval: 2 },
        will: { topic: uniqueId("t/will"), payload: Buffer.from("w"), qos: 0, retain: true, properties: {} },
      });
      try {
        expect(reasonOf(connack)).toBeGreaterThanOrEqual(0x80);
        expect(connack.sessionPresent).toBe(false);
        expect(await raw.waitClosed(2_000)).toBe(true);
      } finally {
        raw.close();
      }
    });
  });
}
