/**
 * Timing rules of sessions and messages, on fake time (test/helpers/in-process.ts): Will Delay,
 * session expiry, message expiry, and resending only on reconnect. The socket suites keep one
 * real-time test of each feature (test/conformance/v5/3.14-disconnect.test.ts,
 * 3.3.2-message-expiry.test.ts, 3.4-3.7-acks.test.ts, test/conformance/v3.1.1/3.1-session.test.ts).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { type InProcessBroker, inProcessBroker, type TestClient, type Version } from "../helpers/in-process.ts";

let b: InProcessBroker;
afterEach(async () => {
  await b.close();
});

const name = (version: Version) => (version === 5 ? "v5" : "3.1.1");

/** A subscriber to `topic` that stays connected (clean session). */
async function watcher(topic: string, version: Version = 5): Promise<TestClient> {
  const { client } = await b.connect({ version, clientId: `watch-${topic}` });
  await client.subscribe(topic, { qos: 1 });
  return client;
}

/** A v5 connection with a persistent session and a will on `topic`. */
function withWill(clientId: string, topic: string, o: { expiry: number; delay: number; clean?: boolean }) {
  return b.connect({
    version: 5,
    clientId,
    clean: o.clean ?? true,
    properties: { sessionExpiryInterval: o.expiry },
    will: { topic, payload: Buffer.from(`will of ${clientId}`), properties: { willDelayInterval: o.delay } },
  });
}

describe("Will Delay Interval", () => {
  test("[3.1.1 MQTT-3.1.2-8] a 3.1.1 will is published as soon as the connection is lost", async () => {
    b = await inProcessBroker();
    const w = await watcher("will/now", 4);
    const { client } = await b.connect({ clientId: "w311", will: { topic: "will/now", payload: Buffer.from("bye") } });
    await client.drop();
    expect(String((await w.expectPacket("publish")).payload)).toBe("bye");
  });

  test("[v5 MQTT-3.1.2-8] Will Delay 5 s: nothing at 4.999 s, the will at 5 s", async () => {
    b = await inProcessBroker();
    const w = await watcher("will/late");
    const { client } = await withWill("late", "will/late", { expiry: 60, delay: 5 });
    await client.drop();
    await b.advance(4_999);
    await w.expectNoPacket();
    await b.advance(1);
    expect(String((await w.expectPacket("publish")).payload)).toBe("will of late");
  });

  test("[v5 MQTT-3.1.3-9] a reconnect to the session before the Will Delay passes: the will is never published", async () => {
    b = await inProcessBroker();
    const w = await watcher("will/back");
    const { client } = await withWill("back", "will/back", { expiry: 60, delay: 5 });
    await client.drop();
    await b.advance(4_000);
    const { connack } = await b.connect({ version: 5, clientId: "back", clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(connack.sessionPresent).toBe(true);
    await b.advance(3_600_000);
    await w.expectNoPacket();
  });

  test("[v5 MQTT-3.1.2-8] the session ends before the Will Delay (Session Expiry 2 s, Will Delay 30 s): the will goes at 2 s", async () => {
    b = await inProcessBroker();
    const w = await watcher("will/expiry");
    const { client } = await withWill("short", "will/expiry", { expiry: 2, delay: 30 });
    await client.drop();
    await b.advance(1_999);
    await w.expectNoPacket();
    await b.advance(1);
    expect(String((await w.expectPacket("publish")).payload)).toBe("will of short");
  });

  test("[v5 MQTT-3.1.2-8] a reconnect with Clean Start 1 ends the session: a delayed will goes at once", async () => {
    b = await inProcessBroker();
    const w = await watcher("will/clean");
    const { client } = await withWill("clean", "will/clean", { expiry: 60, delay: 30 });
    await client.drop();
    await b.advance(1_000);
    await b.connect({ version: 5, clientId: "clean", clean: true });
    expect(String((await w.expectPacket("publish")).payload)).toBe("will of clean");
  });

  test("[v5 MQTT-3.14.4-3] DISCONNECT 0x00 discards the will: nothing after the Will Delay either", async () => {
    b = await inProcessBroker();
    const w = await watcher("will/normal");
    const { client } = await withWill("normal", "will/normal", { expiry: 60, delay: 5 });
    await client.disconnect();
    await b.advance(120_000);
    await w.expectNoPacket();
  });
});

describe("Session expiry", () => {
  const reconnect = (clientId: string) =>
    b.connect({ version: 5, clientId, clean: false, properties: { sessionExpiryInterval: 10 } });

  test("[v5 MQTT-3.1.2-23] Session Expiry 10 s: the session is there at 9.999 s", async () => {
    b = await inProcessBroker();
    const { client } = await reconnect("exp-a");
    await client.drop();
    await b.advance(9_999);
    expect((await reconnect("exp-a")).connack.sessionPresent).toBe(true);
  });

  test("[v5 MQTT-3.1.2-23] Session Expiry 10 s: the session is gone at 10 s, with its subscriptions", async () => {
    b = await inProcessBroker();
    const { client } = await reconnect("exp-b");
    await client.subscribe("exp/b", { qos: 1 });
    await client.drop();
    expect(b.broker.stats.subscriptions).toBe(1);
    await b.advance(10_000);
    expect(b.broker.stats.subscriptions).toBe(0);
    expect(b.broker.stats.sessions).toBe(0);
    expect((await reconnect("exp-b")).connack.sessionPresent).toBe(false);
  });

  test("[v5 MQTT-3.1.2-23] [v5 MQTT-4.1.0-2] Session Expiry above mqtt.maxSessionExpiryInterval: CONNACK says 2 s and the session ends after 2 s", async () => {
    b = await inProcessBroker({ mqtt: { maxSessionExpiryInterval: 2 } });
    const first = await b.connect({ version: 5, clientId: "capped", properties: { sessionExpiryInterval: 3600 } });
    expect(first.connack.properties?.sessionExpiryInterval).toBe(2);
    await first.client.drop();
    await b.advance(2_000);
    const again = await b.connect({ version: 5, clientId: "capped", clean: false, properties: { sessionExpiryInterval: 3600 } });
    expect(again.connack.sessionPresent).toBe(false);
  });

  test("[v5 §3.14.2.2.2] a Session Expiry Interval in DISCONNECT replaces the one from CONNECT", async () => {
    b = await inProcessBroker();
    const { client } = await b.connect({ version: 5, clientId: "exp-d", properties: { sessionExpiryInterval: 3600 } });
    await client.disconnect({ properties: { sessionExpiryInterval: 5 } });
    await b.advance(5_000);
    expect((await reconnect("exp-d")).connack.sessionPresent).toBe(false);
  });

  test("[3.1.1 MQTT-3.1.2-4] a CleanSession 0 session is kept after the client goes: present a year later", async () => {
    b = await inProcessBroker();
    const first = await b.connect({ clientId: "keeper", clean: false });
    await first.client.drop();
    await b.advance(365 * 24 * 3600_000);
    expect((await b.connect({ clientId: "keeper", clean: false })).connack.sessionPresent).toBe(true);
  });
});

describe("Message Expiry Interval", () => {
  /** An offline v5 session subscribed to `topic` at QoS 1 (Session Expiry 1 h). */
  async function offline(clientId: string, topic: string): Promise<void> {
    const { client } = await b.connect({ version: 5, clientId, properties: { sessionExpiryInterval: 3600 } });
    await client.subscribe(topic, { qos: 1 });
    await client.drop();
  }
  const resume = (clientId: string) =>
    b.connect({ version: 5, clientId, clean: false, properties: { sessionExpiryInterval: 3600 } });

  test("[v5 MQTT-3.3.2-6] a queued message is sent with the time it waited subtracted (10 s, 4 s offline: 6)", async () => {
    b = await inProcessBroker();
    await offline("me-a", "me/a");
    const { client: pub } = await b.connect({ version: 5, clientId: "pub-a" });
    await pub.publish("me/a", "aging", { qos: 1, properties: { messageExpiryInterval: 10 } });
    await b.advance(4_000);
    const { client } = await resume("me-a");
    const p = await client.expectPacket("publish");
    expect([String(p.payload), p.properties?.messageExpiryInterval]).toEqual(["aging", 6]);
  });

  test("[v5 MQTT-3.3.2-5] a queued message whose interval passed is not delivered; one without expiry is", async () => {
    b = await inProcessBroker();
    await offline("me-b", "me/b");
    const { client: pub } = await b.connect({ version: 5, clientId: "pub-b" });
    await pub.publish("me/b", "expires", { qos: 1, properties: { messageExpiryInterval: 10 } });
    await pub.publish("me/b", "stays", { qos: 1 });
    await b.advance(10_000);
    const { client } = await resume("me-b");
    const p = await client.expectPacket("publish");
    expect([String(p.payload), p.properties?.messageExpiryInterval]).toEqual(["stays", undefined]);
    await client.expectNoPacket();
  });

  test("[v5 MQTT-3.3.2-5] [v5 MQTT-3.3.2-6] a retained message: decremented for a subscriber at 4 s, gone at 10 s", async () => {
    b = await inProcessBroker();
    const { client: pub } = await b.connect({ version: 5, clientId: "pub-r" });
    await pub.publish("me/r", "kept a while", { qos: 1, retain: true, properties: { messageExpiryInterval: 10 } });
    await b.advance(4_000);
    const { client: early } = await b.connect({ version: 5, clientId: "early" });
    await early.subscribe("me/r", { qos: 1 });
    const p = await early.expectPacket("publish");
    expect([p.retain, p.properties?.messageExpiryInterval]).toEqual([true, 6]);
    await b.advance(6_000);
    const { client: late } = await b.connect({ version: 5, clientId: "late" });
    await late.subscribe("me/r", { qos: 1 });
    await late.expectNoPacket();
  });

  test("[v5 MQTT-3.3.2-6] a will's Message Expiry Interval counts from when the will is published", async () => {
    b = await inProcessBroker();
    await offline("me-w", "me/w");
    const { client } = await b.connect({
      version: 5,
      clientId: "dying",
      properties: { sessionExpiryInterval: 60 },
      will: { topic: "me/w", payload: Buffer.from("w"), qos: 1, properties: { willDelayInterval: 5, messageExpiryInterval: 10 } },
    });
    await client.drop();
    await b.advance(5_000 + 3_000); // published at 5 s, then waits 3 s in the offline session
    const p = await (await resume("me-w")).client.expectPacket("publish");
    expect(p.properties?.messageExpiryInterval).toBe(7);
  });
});

describe("Resending unacknowledged messages", () => {
  for (const version of [4, 5] as Version[]) {
    const v = name(version);
    // Written out so that test/architecture/spec-ids.test.ts can check them.
    const resend = version === 5 ? "[v5 MQTT-4.4.0-1]" : "[3.1.1 MQTT-4.4.0-1]";
    const dup = version === 5 ? "[v5 MQTT-3.3.1-1]" : "[3.1.1 MQTT-3.3.1-1]";
    const session = { version, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}) };

    test(`${resend} no resend while connected: an unacknowledged QoS 1 PUBLISH is not repeated an hour later`, async () => {
      b = await inProcessBroker();
      const { client } = await b.connect({ ...session, clientId: `slow-${v}` });
      await client.subscribe("rs/a", { qos: 1 });
      b.broker.publish({ topic: "rs/a", payload: "once", qos: 1 });
      expect((await client.expectPacket("publish")).dup).toBe(false);
      await b.advance(3_600_000);
      await client.expectNoPacket();
    });

    test(`${resend} ${dup} on reconnect, an unacknowledged QoS 1 PUBLISH is resent with DUP 1 and its Packet Identifier`, async () => {
      b = await inProcessBroker();
      const first = await b.connect({ ...session, clientId: `rs1-${v}` });
      await first.client.subscribe("rs/b", { qos: 1 });
      b.broker.publish({ topic: "rs/b", payload: "again", qos: 1 });
      const sent = await first.client.expectPacket("publish");
      await first.client.drop();
      await b.advance(60_000);
      const { client, connack } = await b.connect({ ...session, clientId: `rs1-${v}` });
      expect(connack.sessionPresent).toBe(true);
      const resent = await client.expectPacket("publish");
      expect([resent.dup, resent.messageId, String(resent.payload)]).toEqual([true, sent.messageId, "again"]);
      client.puback(resent.messageId);
      await client.expectNoPacket();
    });

    test(`${resend} on reconnect after PUBREC, the PUBREL is resent (same id), not the PUBLISH`, async () => {
      b = await inProcessBroker();
      const first = await b.connect({ ...session, clientId: `rs2-${v}` });
      await first.client.subscribe("rs/c", { qos: 2 });
      b.broker.publish({ topic: "rs/c", payload: "two", qos: 2 });
      const sent = await first.client.expectPacket("publish");
      first.client.pubrec(sent.messageId);
      expect((await first.client.expectPacket("pubrel")).messageId).toBe(sent.messageId);
      await first.client.drop();
      const { client } = await b.connect({ ...session, clientId: `rs2-${v}` });
      expect((await client.expectPacket("pubrel")).messageId).toBe(sent.messageId);
      client.pubcomp(sent.messageId);
      await client.expectNoPacket();
    });
  }
});
