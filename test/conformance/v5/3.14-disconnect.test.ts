/**
 * MQTT 5.0 (OASIS 2019) section 3.14 DISCONNECT and the Will Message it controls (3.1.2.5, 3.1.3.2):
 * normal disconnection discards the Will, 0x04 and abnormal closes publish it, Will Delay Interval,
 * Session Expiry Interval in DISCONNECT, and the server's DISCONNECT reason codes.
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
import { type AnyPacket, connectV5Ok, expectClosedWith, expectDisconnect, RC, sleep } from "../../helpers/v5.ts";

const v5 = { protocolVersion: 5 as const };

function will(topic: string, payload: string, extra: Record<string, unknown> = {}, properties: Record<string, unknown> = {}) {
  return { will: { topic, payload: Buffer.from(payload), qos: 1, retain: false, properties, ...extra } };
}

for (const runtime of RUNTIMES) {
  describe(`MQTT 5.0 §3.14 DISCONNECT and Will [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({ runtime });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    async function watcher(topic: string): Promise<MqttClient> {
      const w = await connectClient(b, { ...v5, clientId: uniqueId("watch") });
      await subscribe(w, topic, { qos: 1 });
      return w;
    }

    test("[v5 MQTT-3.14.4-3] [v5 MQTT-3.1.2-10] DISCONNECT 0x00 (Normal disconnection) discards the Will Message", async () => {
      const topic = uniqueId("t/will-normal");
      const w = await watcher(topic);
      const { raw } = await connectV5Ok(b, uniqueId("normal"), will(topic, "should-not-appear"));
      try {
        raw.sendPacket({ cmd: "disconnect", reasonCode: 0 });
        await raw.waitClosed(1_000);
        raw.close();
        await expectNoMessage(w, 500);
      } finally {
        raw.close();
        await closeAll(w);
      }
    });

    test("[§3.14.2.1] [v5 MQTT-3.1.2-8] DISCONNECT 0x04 (Disconnect with Will Message) publishes the Will Message", async () => {
      const topic = uniqueId("t/will-04");
      const w = await watcher(topic);
      const { raw } = await connectV5Ok(b, uniqueId("with-will"), will(topic, "bye-04"));
      try {
        const got = nextMessage(w, 3_000);
        raw.sendPacket({ cmd: "disconnect", reasonCode: RC.disconnectWithWill });
        const m = await got;
        expect(m.topic).toBe(topic);
        expect(m.payload.toString()).toBe("bye-04");
      } finally {
        raw.close();
        await closeAll(w);
      }
    });

    test("[v5 MQTT-3.1.2-8] [v5 MQTT-3.1.2-14] a network close without DISCONNECT publishes the Will Message, non-retained, with its properties", async () => {
      const topic = uniqueId("t/will-drop");
      const w = await watcher(topic);
      const { raw } = await connectV5Ok(b, uniqueId("dropper"), will(topic, "dropped", {}, {
        contentType: "text/plain",
        responseTopic: "will/replies",
        correlationData: Buffer.from([1, 2, 3]),
        userProperties: { who: "dropper" },
        payloadFormatIndicator: true,
      }));
      try {
        const got = nextMessage(w, 3_000);
        raw.close();
        const m = await got;
        expect(m.payload.toString()).toBe("dropped");
        expect(m.packet.retain).toBe(false);
        const p = m.packet.properties ?? {};
        expect(p.contentType).toBe("text/plain");
        expect(p.responseTopic).toBe("will/replies");
        expect(Buffer.from(p.correlationData ?? []).equals(Buffer.from([1, 2, 3]))).toBe(true);
        expect(p.userProperties).toEqual({ who: "dropper" });
        expect(p.payloadFormatIndicator).toBe(true);
      } finally {
        await closeAll(w);
      }
    });

    test("[v5 MQTT-3.1.2-15] Will Retain 1: the Will Message is published as a retained message", async () => {
      const topic = uniqueId("t/will-ret");
      const { raw } = await connectV5Ok(b, uniqueId("retwill"), will(topic, "retained-will", { retain: true }));
      raw.close();
      await sleep(300);
      const late = await connectClient(b, { ...v5, clientId: uniqueId("late") });
      try {
        const got = nextMessage(late, 3_000);
        await subscribe(late, topic, { qos: 1 });
        const m = await got;
        expect(m.payload.toString()).toBe("retained-will");
        expect(m.packet.retain).toBe(true);
      } finally {
        await publish(late, topic, "", { qos: 1, retain: true }).catch(() => {});
        await closeAll(late);
      }
    });

    // The rules on fake time (not at 4.999 s, at 5 s; a reconnect cancels the will [v5 MQTT-3.1.3-9]; a
    // clean reconnect publishes it): test/core/timing-session.test.ts. Here, once over real time:
    test("[v5 MQTT-3.1.2-8] Will Delay Interval 1 s: the Will Message is not published at once, but after the delay", async () => {
      const topic = uniqueId("t/will-delay");
      const w = await watcher(topic);
      const { raw } = await connectV5Ok(b, uniqueId("delayed"), {
        clean: false,
        properties: { sessionExpiryInterval: 30 },
        ...will(topic, "late-will", {}, { willDelayInterval: 1 }),
      });
      try {
        const msgs = collectMessages(w);
        const closedAt = Date.now();
        raw.close();
        const [m] = await msgs.waitFor(1, 4_000); // 1 s delay + generous slack
        expect(m.payload.toString()).toBe("late-will");
        // The broker starts the delay when it sees the close, after closedAt; timers may fire a little early.
        expect(Date.now() - closedAt).toBeGreaterThanOrEqual(900);
      } finally {
        await closeAll(w);
      }
    }, 8_000);

    test("[v5 MQTT-3.1.2-8] the session ending before the Will Delay Interval publishes the Will Message (Session Expiry 1 s, Will Delay 30 s)", async () => {
      const topic = uniqueId("t/will-sessend");
      const w = await watcher(topic);
      const { raw } = await connectV5Ok(b, uniqueId("shortsess"), {
        clean: false,
        properties: { sessionExpiryInterval: 1 },
        ...will(topic, "session-ended", {}, { willDelayInterval: 30 }),
      });
      try {
        const got = nextMessage(w, 4_000); // 1 s session expiry + generous slack
        raw.close();
        expect((await got).payload.toString()).toBe("session-ended");
      } finally {
        await closeAll(w);
      }
    }, 8_000);

    test("[v5 MQTT-3.14.2-1] [v5 MQTT-3.14.2-2] a server DISCONNECT carries a reason code (0x94 for Topic Alias 0) and no Session Expiry Interval; the Will is published", async () => {
      const topic = uniqueId("t/will-err");
      const w = await watcher(topic);
      const { raw } = await connectV5Ok(b, uniqueId("err"), will(topic, "after-error"));
      try {
        const got = nextMessage(w, 3_000);
        raw.sendPacket({ cmd: "publish", topic: uniqueId("t/x"), payload: "x", qos: 0, properties: { topicAlias: 0 } });
        const d: AnyPacket = await expectDisconnect(raw, RC.topicAliasInvalid);
        expect(d.properties?.sessionExpiryInterval).toBeUndefined();
        expect((await got).payload.toString()).toBe("after-error");
      } finally {
        raw.close();
        await closeAll(w);
      }
    });

    test("[v5 MQTT-3.14.1-1] a DISCONNECT with reserved flags set is malformed: the connection closes and the Will is published", async () => {
      const topic = uniqueId("t/will-baddisc");
      const w = await watcher(topic);
      const { raw } = await connectV5Ok(b, uniqueId("baddisc"), will(topic, "malformed-disconnect"));
      try {
        const got = nextMessage(w, 3_000);
        raw.send(Buffer.from([0xe1, 0x00]));
        await expectClosedWith(raw, "disconnect", [RC.malformedPacket]);
        expect((await got).payload.toString()).toBe("malformed-disconnect");
      } finally {
        raw.close();
        await closeAll(w);
      }
    });

    test("[§3.14.2.2.2] [v5 MQTT-4.1.0-2] Session Expiry Interval 0 in DISCONNECT ends a session that had 60 s", async () => {
      const id = uniqueId("seidisc");
      const first = await connectV5Ok(b, id, { clean: false, properties: { sessionExpiryInterval: 60 } });
      first.raw.sendPacket({ cmd: "disconnect", reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
      await first.raw.waitClosed(1_000);
      first.raw.close();
      await sleep(100);
      const again = await connectV5Ok(b, id, { clean: false, properties: { sessionExpiryInterval: 60 } });
      again.raw.close();
      expect(again.connack.sessionPresent).toBe(false);
    });

    test("[§3.14.2.2.2] a non-zero Session Expiry Interval in DISCONNECT after 0 in CONNECT is a Protocol Error: DISCONNECT 0x82 (if any), close, no session kept", async () => {
      const id = uniqueId("seiproto");
      const first = await connectV5Ok(b, id, { clean: false });
      try {
        first.raw.sendPacket({ cmd: "disconnect", reasonCode: 0, properties: { sessionExpiryInterval: 30 } });
        await expectClosedWith(first.raw, "disconnect", [RC.protocolError]);
      } finally {
        first.raw.close();
      }
      await sleep(100);
      const again = await connectV5Ok(b, id, { clean: false });
      again.raw.close();
      expect(again.connack.sessionPresent).toBe(false);
    });
  });
}
