/**
 * QoS 0 to a client that is reading (issue 14): sending a large message puts the client's send
 * buffer above its high-water mark for as long as the message takes to drain. That client is
 * still reading, so nothing may be dropped for it; QoS 0 is dropped only for a client that stopped
 * making progress (see test/hostile/attacks.test.ts and slow-subscriber.test.ts for those bounds).
 */
import { describe, expect, test } from "bun:test";
import { RUNTIMES } from "../helpers/broker.ts";
import { closeAll, collectMessages, connectClient, publish, subscribe, uniqueId } from "../helpers/clients.ts";
import { connectRaw, rawPublishBytes, rawSubscribe } from "../helpers/raw.ts";
import { useBroker } from "../helpers/suite.ts";

/** 1 MiB payloads: above the send buffer's high-water mark (1 MiB), so each one congests the client for a moment. */
const LARGE = 1024 * 1024;
/**
 * mqtt.maxPacketSize: room for a 1 MiB payload, and more. The broker stops sending QoS 0 to a
 * client whose backlog passes 8 x maxPacketSize even while it reads (a bound on what a slow reader
 * can hold): at 4 MiB that is 32 MiB, above the 20 MiB sent here, so whether they all arrive does
 * not depend on how fast this test process happens to read.
 */
const MAX_PACKET = 4 * 1024 * 1024;
const VERSIONS = [{ version: 4, tag: "3.1.1" }, { version: 5, tag: "v5" }] as const;

for (const runtime of RUNTIMES) {
  describe(`QoS 0 to a reading client after large messages [${runtime}]`, () => {
    const b = useBroker(runtime, { set: { "mqtt.maxPacketSize": MAX_PACKET } });

    for (const { version, tag } of VERSIONS) {
      test(`${tag}: a 1 MiB message, then a small one published right after it: both arrive, nothing is dropped`, async () => {
        const topic = uniqueId("large/then-small");
        const subId = uniqueId("reader");
        const sub = await connectClient(b(), { protocolVersion: version, clientId: subId });
        const pub = await connectClient(b(), { protocolVersion: version });
        try {
          await subscribe(sub, topic, { qos: 0 });
          const got = collectMessages(sub);
          const big = Buffer.alloc(LARGE, 0x62);
          // Both leave in one write from the publisher: the small one is routed while the big one drains.
          const sends = [publish(pub, topic, big, { qos: 0 }), publish(pub, topic, "small", { qos: 0 })];
          await Promise.all(sends);
          await got.waitFor(2, 10_000);
          expect(got.messages.map((m) => m.payload.length)).toEqual([LARGE, 5]);
          expect(b().logs().split("\n").filter((l) => l.includes("client not reading") && l.includes(subId))).toEqual([]);
        } finally {
          await closeAll(sub, pub);
        }
      }, 30_000);
    }

    test("3.1.1: 20 MiB as 20 QoS 0 messages of 1 MiB, all published at once, to a client that reads a chunk every 2 ms: all 20 arrive, in order", async () => {
      const topic = uniqueId("large/stream");
      const subId = uniqueId("reader");
      const { raw: sub } = await connectRaw(b(), { clientId: subId });
      const { raw: pub } = await connectRaw(b(), { clientId: uniqueId("pub") });
      try {
        expect((await rawSubscribe(sub, [{ topic, qos: 0 }])).granted).toEqual([0]);
        // A reader slower than the broker writes (as an application busy between reads): the
        // broker's send buffer stays above its high-water mark for most of the run, yet it reads.
        sub.socket.on("data", () => {
          sub.socket.pause();
          setTimeout(() => sub.socket.resume(), 2);
        });
        // All 20 in one write, so the broker routes each while the earlier ones still drain.
        const packets: Buffer[] = [];
        for (let i = 0; i < 20; i++) {
          const payload = Buffer.alloc(LARGE, 0x61);
          payload.writeUInt32BE(i, 0);
          packets.push(rawPublishBytes(Buffer.from(topic), payload));
        }
        pub.send(Buffer.concat(packets));
        const received = () => sub.packets().filter((p: { cmd: string }) => p.cmd === "publish");
        const deadline = Date.now() + 30_000;
        while (received().length < 20 && Date.now() < deadline && !sub.closed) await new Promise((r) => setTimeout(r, 50));
        expect(received().map((p: { payload: Buffer }) => p.payload.readUInt32BE(0))).toEqual(Array.from({ length: 20 }, (_, i) => i));
        expect(b().logs().split("\n").filter((l) => l.includes("client not reading") && l.includes(subId))).toEqual([]);
      } finally {
        pub.close();
        sub.close();
      }
    }, 60_000);
  });
}
