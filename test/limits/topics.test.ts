/**
 * mqtt.maxTopicLevels and mqtt.maxTopicLength on the wire: PUBLISH topic names (also resolved
 * through a v5 Topic Alias), will topics, SUBSCRIBE and UNSUBSCRIBE filters, for MQTT 5.0 and 3.1.1.
 * A topic over the limits is well formed, so it is refused, never a protocol error:
 *  - PUBLISH v5: QoS 1/2 PUBACK/PUBREC 0x90; QoS 0 dropped and logged. 3.1.1: dropped and logged,
 *    acknowledged as usual (a close would make the client resend it on every reconnect).
 *  - will topic: CONNACK 0x90 (v5), return code 0x03 (3.1.1).
 *  - SUBSCRIBE: SUBACK 0x8F (v5) / 0x80 (3.1.1); UNSUBSCRIBE: UNSUBACK 0x8F (v5).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RunningBroker, RUNTIMES, startBroker } from "../helpers/broker.ts";
import { type AnyPacket, connectRaw, type RawClient, rawPublish, rawSubscribe } from "../helpers/raw.ts";
import { expectOpen } from "../helpers/suite.ts";
import { uniqueId } from "../helpers/clients.ts";

const MAX_LEVELS = 3;
const MAX_LENGTH = 40;
const TOPIC_NAME_INVALID = 0x90;
const TOPIC_FILTER_INVALID = 0x8f;

/** A unique root of 2 levels: one more level is within the limit, two are over it. */
function root(): string {
  return `lt/${uniqueId("r")}`;
}

async function connect(b: RunningBroker, version: 4 | 5, extra: Partial<AnyPacket> = {}): Promise<RawClient> {
  const { raw, connack } = await connectRaw(b, {
    protocolVersion: version,
    clientId: uniqueId(`lt${version}`),
    ...extra,
  }, {
    protocolVersion: version,
  });
  expect(connack.reasonCode ?? connack.returnCode ?? 0).toBe(0);
  return raw;
}

/** Nothing for the subscriber within ms (PUBLISH packets only). */
async function expectNoPublish(raw: RawClient, ms = 400): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  expect(raw.packets().filter((p) => p.cmd === "publish").map((p) => p.topic)).toEqual([]);
}

for (const runtime of RUNTIMES) {
  describe(`topic limits: maxTopicLevels ${MAX_LEVELS}, maxTopicLength ${MAX_LENGTH} [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({
        runtime,
        set: { "mqtt.maxTopicLevels": MAX_LEVELS, "mqtt.maxTopicLength": MAX_LENGTH, "mqtt.topicAliasMaximum": 10 },
      });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    test("v5 PUBLISH QoS 1/2 over the level limit: PUBACK/PUBREC 0x90 Topic Name invalid, not routed, connection stays", async () => {
      const base = root();
      const sub = await connect(b, 5);
      const pub = await connect(b, 5);
      try {
        await rawSubscribe(sub, [{ topic: "#", qos: 2 }]);
        rawPublish(pub, `${base}/c/d`, "deep", { qos: 1, messageId: 7 });
        const puback = await pub.nextPacketOf("puback");
        expect([puback.messageId, puback.reasonCode]).toEqual([7, TOPIC_NAME_INVALID]);
        rawPublish(pub, `${base}/c/d`, "deep", { qos: 2, messageId: 8 });
        const pubrec = await pub.nextPacketOf("pubrec");
        expect([pubrec.messageId, pubrec.reasonCode]).toEqual([8, TOPIC_NAME_INVALID]);
        await expectOpen(pub);
        await expectNoPublish(sub);
        await b.waitForLog(/"msg":"publish refused: topic over limits".*more than 3 levels/);
      } finally {
        sub.close();
        pub.close();
      }
    });

    test("v5 PUBLISH over the length limit (UTF-8 bytes): PUBACK 0x90; a topic of exactly the limit is accepted", async () => {
      const base = root();
      const sub = await connect(b, 5);
      const pub = await connect(b, 5);
      try {
        const exact = `${base}/`.padEnd(MAX_LENGTH - 2, "x") + "é"; // é is 2 bytes: exactly MAX_LENGTH
        await rawSubscribe(sub, [{ topic: `${base}/#`, qos: 1 }]);
        rawPublish(pub, exact + "x", "long", { qos: 1, messageId: 1 });
        expect((await pub.nextPacketOf("puback")).reasonCode).toBe(TOPIC_NAME_INVALID);
        rawPublish(pub, exact, "fits", { qos: 1, messageId: 2 });
        expect((await pub.nextPacketOf("puback")).reasonCode ?? 0).toBe(0);
        const delivered = await sub.nextPacketOf("publish");
        expect([delivered.topic, String(delivered.payload)]).toEqual([exact, "fits"]);
      } finally {
        sub.close();
        pub.close();
      }
    });

    test("v5 PUBLISH QoS 0 over the limits is dropped and logged, without a DISCONNECT; the next valid one flows", async () => {
      const base = root();
      const sub = await connect(b, 5);
      const pub = await connect(b, 5);
      try {
        await rawSubscribe(sub, [{ topic: "#", qos: 0 }]);
        rawPublish(pub, `${base}/c/d/e`, "dropped");
        rawPublish(pub, `${base}/ok`, "after");
        const delivered = await sub.nextPacketOf("publish");
        expect([delivered.topic, String(delivered.payload)]).toEqual([`${base}/ok`, "after"]);
        await expectOpen(pub);
        expect(pub.packets().map((p) => p.cmd)).not.toContain("disconnect");
      } finally {
        sub.close();
        pub.close();
      }
    });

    test("v5 Topic Alias: the limits apply to the name an alias resolves to", async () => {
      const base = root();
      const sub = await connect(b, 5);
      const pub = await connect(b, 5);
      try {
        await rawSubscribe(sub, [{ topic: "#", qos: 1 }]);
        const long = `${base}/c/d`;
        pub.sendPacket({
          cmd: "publish",
          topic: long,
          payload: Buffer.from("set"),
          qos: 1,
          messageId: 1,
          properties: { topicAlias: 3 },
        });
        expect((await pub.nextPacketOf("puback")).reasonCode).toBe(TOPIC_NAME_INVALID);
        pub.sendPacket({
          cmd: "publish",
          topic: "",
          payload: Buffer.from("use"),
          qos: 1,
          messageId: 2,
          properties: { topicAlias: 3 },
        });
        expect((await pub.nextPacketOf("puback")).reasonCode).toBe(TOPIC_NAME_INVALID);
        await expectOpen(pub);
        await expectNoPublish(sub);
      } finally {
        sub.close();
        pub.close();
      }
    });

    test("3.1.1 PUBLISH over the limits: acknowledged as usual (PUBACK; PUBREC then PUBCOMP), not routed, connection stays", async () => {
      const base = root();
      const sub = await connect(b, 4);
      const pub = await connect(b, 4);
      try {
        await rawSubscribe(sub, [{ topic: "#", qos: 2 }]);
        rawPublish(pub, `${base}/c/d`, "q0");
        rawPublish(pub, `${base}/c/d`, "q1", { qos: 1, messageId: 11 });
        expect((await pub.nextPacketOf("puback")).messageId).toBe(11);
        rawPublish(pub, `${base}/`.padEnd(MAX_LENGTH + 1, "x"), "q2", { qos: 2, messageId: 12 });
        expect((await pub.nextPacketOf("pubrec")).messageId).toBe(12);
        pub.sendPacket({ cmd: "pubrel", messageId: 12 });
        expect((await pub.nextPacketOf("pubcomp")).messageId).toBe(12);
        await expectOpen(pub);
        await expectNoPublish(sub);
      } finally {
        sub.close();
        pub.close();
      }
    });

    test("will topic over the limits: v5 CONNACK 0x90, 3.1.1 CONNACK 0x03, and the connection is closed", async () => {
      const will = { topic: `${root()}/c/d`, payload: Buffer.from("w"), qos: 0, retain: false };
      const v5 = await connectRaw(b, { protocolVersion: 5, clientId: uniqueId("will5"), will }, { protocolVersion: 5 });
      const v4 = await connectRaw(b, { protocolVersion: 4, clientId: uniqueId("will4"), will }, { protocolVersion: 4 });
      try {
        expect(v5.connack.reasonCode).toBe(TOPIC_NAME_INVALID);
        expect(v4.connack.returnCode).toBe(3);
        expect(await v5.raw.waitClosed()).toBe(true);
        expect(await v4.raw.waitClosed()).toBe(true);
      } finally {
        v5.raw.close();
        v4.raw.close();
      }
    });

    test("[v5 MQTT-3.9.3-2] [3.1.1 MQTT-3.9.3-2] SUBSCRIBE filters over the limits: v5 SUBACK 0x8F, 3.1.1 SUBACK 0x80; other filters in the packet are granted", async () => {
      const base = root();
      const long = `${base}/`.padEnd(MAX_LENGTH + 1, "x");
      const v5 = await connect(b, 5);
      const v4 = await connect(b, 4);
      try {
        const filters = [{ topic: `${base}/#`, qos: 1 as const }, { topic: `${base}/+/x`, qos: 1 as const }, {
          topic: long,
          qos: 0 as const,
        }];
        expect((await rawSubscribe(v5, filters)).granted).toEqual([1, TOPIC_FILTER_INVALID, TOPIC_FILTER_INVALID]);
        expect((await rawSubscribe(v4, filters)).granted).toEqual([1, 0x80, 0x80]);
        await expectOpen(v4);
      } finally {
        v5.close();
        v4.close();
      }
    });

    test("shared subscriptions: levels count on the filter part of $share/{name}/{filter}; a share name over maxTopicLength is refused too", async () => {
      const base = root();
      const raw = await connect(b, 5);
      try {
        const suback = await rawSubscribe(raw, [
          { topic: `$share/g/${base}/a`, qos: 0 },
          { topic: `$share/g/${base}/a/b`, qos: 0 },
          { topic: `$share/${"n".repeat(MAX_LENGTH)}/x`, qos: 0 },
          { topic: `$share/${"n".repeat(MAX_LENGTH + 1)}/x`, qos: 0 },
        ]);
        expect(suback.granted).toEqual([0, TOPIC_FILTER_INVALID, 0, TOPIC_FILTER_INVALID]);
      } finally {
        raw.close();
      }
    });

    test("v5 UNSUBSCRIBE of a filter over the limits: UNSUBACK 0x8F", async () => {
      const base = root();
      const raw = await connect(b, 5);
      try {
        raw.sendPacket({ cmd: "unsubscribe", messageId: 5, unsubscriptions: [`${base}/a/b`, `${base}/a`] });
        const unsuback = await raw.nextPacketOf("unsuback");
        expect(unsuback.granted).toEqual([TOPIC_FILTER_INVALID, 0x11]);
      } finally {
        raw.close();
      }
    });
  });
}
