/**
 * The in-process harness (test/helpers/in-process.ts) itself: the QoS flows end to end for both
 * versions, and the MemoryTransport behaving like an adapter (held input while paused, one onClose).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { type InProcessBroker, inProcessBroker, type Version } from "../helpers/in-process.ts";

let b: InProcessBroker;
afterEach(async () => {
  await b.close();
});

describe("in-process harness", () => {
  for (const version of [4, 5] as Version[]) {
    test(`${version === 5 ? "v5" : "3.1.1"}: QoS 0, 1 and 2 from one client to another, each flow completed`, async () => {
      b = await inProcessBroker();
      const { client: sub, connack } = await b.connect({ version, clientId: "sub" });
      expect(connack.sessionPresent).toBe(false);
      expect((await sub.subscribe("h/#", { qos: 2 })).granted).toEqual([2]);
      const { client: pub } = await b.connect({ version, clientId: "pub" });
      expect(await pub.publish("h/0", "zero")).toBeUndefined();
      expect((await pub.publish("h/1", "one", { qos: 1 }))?.cmd).toBe("puback");
      expect((await pub.publish("h/2", "two", { qos: 2 }))?.cmd).toBe("pubcomp");

      const zero = await sub.expectPacket("publish");
      const one = await sub.expectPacket("publish");
      const two = await sub.expectPacket("publish");
      expect([zero, one, two].map((p) => [p.topic, String(p.payload), p.qos])).toEqual([
        ["h/0", "zero", 0],
        ["h/1", "one", 1],
        ["h/2", "two", 2],
      ]);
      sub.puback(one.messageId);
      sub.pubrec(two.messageId);
      expect((await sub.expectPacket("pubrel")).messageId).toBe(two.messageId);
      sub.pubcomp(two.messageId);
      await sub.expectNoPacket();
      await pub.expectNoPacket();
    });
  }

  test("nextPacket fails when nothing came, naming what did", async () => {
    b = await inProcessBroker();
    const { client } = await b.connect({ clientId: "quiet" });
    await expect(client.nextPacket()).rejects.toThrow(/no packet from the broker \(connection open\); packets: \[connack\(rc=0x0\)\], 1 read/);
  });

  test("bytes sent while the broker paused reading are held and delivered in order on resume", async () => {
    b = await inProcessBroker();
    const { client } = await b.connect({ clientId: "held" });
    client.transport.pauseReading();
    client.pingreq();
    client.pingreq();
    await client.expectNoPacket();
    client.transport.resumeReading();
    await client.expectPacket("pingresp");
    await client.expectPacket("pingresp");
  });

  test("a connection the broker closes is closed once; sending on it throws", async () => {
    b = await inProcessBroker();
    const { client } = await b.connect({ clientId: "bad" });
    client.sendBytes(new Uint8Array([0xc4, 0x00])); // PINGREQ with reserved flags: a protocol violation
    await b.settle();
    expect(client.closed).toBe(true);
    expect(() => client.pingreq()).toThrow(/closed connection/);
    expect(b.broker.stats.clientsConnected).toBe(0);
  });
});
