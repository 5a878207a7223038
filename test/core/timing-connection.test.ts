/**
 * Timing rules of one connection, on fake time (test/helpers/in-process.ts): the CONNECT timeout
 * and Keep Alive. The socket suites keep one real-time test of each (test/conformance/v3.1.1/
 * 3.1-connect.test.ts, 3.12-pingreq-keepalive.test.ts).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { type InProcessBroker, inProcessBroker, type Version } from "../helpers/in-process.ts";

const KEEPALIVE_TIMEOUT = 0x8d;
let b: InProcessBroker;
afterEach(async () => {
  await b.close();
});

describe("CONNECT timeout (mqtt.connectTimeout)", () => {
  test("a connection that sends nothing is closed when mqtt.connectTimeout passes, not before", async () => {
    b = await inProcessBroker({ mqtt: { connectTimeout: 5 } });
    const c = b.open();
    await b.advance(4_999);
    expect(c.closed).toBe(false);
    await b.advance(1);
    expect(c.closed).toBe(true);
    await c.expectNoPacket();
    expect(b.logs.some((l) => l.msg === "closing connection: no CONNECT in time" && l.fields.timeout === 5)).toBe(true);
  });

  test("half a CONNECT does not stop the timeout", async () => {
    b = await inProcessBroker({ mqtt: { connectTimeout: 5 } });
    const c = b.open();
    c.sendBytes(new Uint8Array([0x10, 0x20, 0x00, 0x04, 0x4d])); // fixed header and 3 bytes of 32
    await b.advance(5_000);
    expect(c.closed).toBe(true);
  });

  for (const version of [4, 5] as Version[]) {
    test(`[${name(version)}] a CONNECT in time stops the timeout: still connected long after it`, async () => {
      b = await inProcessBroker({ mqtt: { connectTimeout: 5 } });
      const { client } = await b.connect({ version, clientId: "in-time" });
      await b.advance(60_000);
      expect(client.closed).toBe(false);
      await client.expectNoPacket();
    });
  }
});

function name(version: Version): string {
  return version === 5 ? "v5" : "3.1.1";
}

/** Statement ids per version, written out so that test/architecture/spec-ids.test.ts can check them. */
const ids = {
  4: { closesAtOneAndAHalf: "[3.1.1 MQTT-3.1.2-24]", willOnClose: "[3.1.1 MQTT-3.1.2-8]" },
  5: { closesAtOneAndAHalf: "[v5 MQTT-3.1.2-22]", willOnClose: "[v5 MQTT-3.1.2-8]" },
} as const;

describe("Keep Alive", () => {
  for (const version of [4, 5] as Version[]) {
    const id = ids[version].closesAtOneAndAHalf;

    test(`${id} Keep Alive 10 s and silence: open at 14.999 s, closed at 15 s${version === 5 ? " with DISCONNECT 0x8D" : ""}`, async () => {
      b = await inProcessBroker();
      const { client } = await b.connect({ version, clientId: "silent", keepalive: 10 });
      await b.advance(14_999);
      expect(client.closed).toBe(false);
      await b.advance(1);
      expect(client.closed).toBe(true);
      if (version === 5) expect((await client.expectPacket("disconnect")).reasonCode).toBe(KEEPALIVE_TIMEOUT);
      await client.expectNoPacket();
    });

    test(`${id} ${ids[version].willOnClose} the will of a connection closed for Keep Alive is published`, async () => {
      b = await inProcessBroker();
      const { client: watcher } = await b.connect({ version, clientId: "watcher" });
      await watcher.subscribe("will/ka");
      await b.connect({ version, clientId: "silent", keepalive: 10, will: { topic: "will/ka", payload: Buffer.from("gone") } });
      await b.advance(15_000);
      const will = await watcher.expectPacket("publish");
      expect([will.topic, String(will.payload)]).toEqual(["will/ka", "gone"]);
    });

    test(`${id} any Control Packet resets the timer: PINGREQ or PUBLISH every 14 s keeps a Keep Alive 10 s connection open`, async () => {
      b = await inProcessBroker();
      const { client } = await b.connect({ version, clientId: "talker", keepalive: 10 });
      for (let i = 0; i < 10; i++) {
        await b.advance(14_000);
        if (i % 2 === 0) {
          client.pingreq();
          await client.expectPacket("pingresp");
        } else {
          await client.publish("ka/talk", String(i));
        }
      }
      expect(client.closed).toBe(false);
      await b.advance(15_000);
      expect(client.closed).toBe(true);
    });

    test(`${id} bytes of an unfinished packet are not a Control Packet: they do not reset the timer`, async () => {
      b = await inProcessBroker();
      const { client } = await b.connect({ version, clientId: "dripper", keepalive: 10 });
      const ping = new Uint8Array([0xc0, 0x00]);
      await b.advance(14_000);
      client.sendBytes(ping.subarray(0, 1)); // the first byte of a PINGREQ, the rest never comes
      await b.advance(1_000);
      expect(client.closed).toBe(true);
    });

    test(`[${name(version)} §3.1.2.10] Keep Alive 0 turns the mechanism off: a silent connection stays open for a day`, async () => {
      b = await inProcessBroker();
      const { client } = await b.connect({ version, clientId: "quiet", keepalive: 0 });
      await b.advance(24 * 3600_000);
      expect(client.closed).toBe(false);
      await client.expectNoPacket();
    });
  }

  test("[v5 MQTT-3.1.2-22] [§3.2.2.3.14] Keep Alive above mqtt.maxKeepalive: CONNACK carries Server Keep Alive and the timeout is 1.5 times that", async () => {
    b = await inProcessBroker({ mqtt: { maxKeepalive: 20 } });
    const { client, connack } = await b.connect({ version: 5, clientId: "capped", keepalive: 120 });
    expect(connack.properties?.serverKeepAlive).toBe(20);
    await b.advance(29_999);
    expect(client.closed).toBe(false);
    await b.advance(1);
    expect((await client.expectPacket("disconnect")).reasonCode).toBe(KEEPALIVE_TIMEOUT);
  });

  test("[v5 §3.2.2.3.14] Keep Alive 0 with mqtt.maxKeepalive set: the server imposes its maximum", async () => {
    b = await inProcessBroker({ mqtt: { maxKeepalive: 20 } });
    const { client, connack } = await b.connect({ version: 5, clientId: "imposed", keepalive: 0 });
    expect(connack.properties?.serverKeepAlive).toBe(20);
    await b.advance(30_000);
    expect(client.closed).toBe(true);
  });
});
