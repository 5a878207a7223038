/**
 * Backpressure: a subscriber that stops reading its socket must not stall the publisher or other
 * subscribers, nor bring the broker down (ARCHITECTURE.md: a slow subscriber must never make the
 * broker buffer without bound).
 */
import { describe, expect, test } from "bun:test";
import { RUNTIMES } from "../helpers/broker.ts";
import { assertRoundTrip, closeAll, collectMessages, connectClient, publish, subscribe, uniqueId } from "../helpers/clients.ts";
import { connectRaw, rawSubscribe } from "../helpers/raw.ts";
import { useBroker } from "../helpers/suite.ts";

const MESSAGE_SIZE = 64 * 1024;
const MESSAGES = 800; // ~50 MB

for (const runtime of RUNTIMES) {
  describe(`bad input: a subscriber that stops reading [${runtime}]`, () => {
    const b = useBroker(runtime);

    test("~50 MB published while one QoS 0 subscriber reads nothing: the publisher, another subscriber and the broker keep working", async () => {
      const topic = uniqueId("slow/firehose");
      const { raw: stuck } = await connectRaw(b(), { clientId: uniqueId("stuck") });
      const granted = await rawSubscribe(stuck, [{ topic, qos: 0 }]);
      expect(granted.granted).toEqual([0]);
      stuck.socket.pause(); // stop reading: the kernel buffers fill and the broker's writes back up

      const fast = await connectClient(b(), { clientId: uniqueId("fast") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        await subscribe(fast, topic, { qos: 1 });
        const col = collectMessages(fast);
        const payload = Buffer.alloc(MESSAGE_SIZE);
        const sends: Promise<void>[] = [];
        for (let i = 0; i < MESSAGES; i++) {
          payload.writeUInt32BE(i, 0);
          sends.push(publish(pub, topic, Buffer.from(payload), { qos: 1 }, 60_000));
        }
        await Promise.all(sends); // every PUBACK arrives: the publisher is not blocked by the stuck subscriber
        await col.waitFor(MESSAGES, 30_000);
        expect(col.messages.map((m) => m.payload.readUInt32BE(0))).toEqual(Array.from({ length: MESSAGES }, (_, i) => i));

        // While the stuck subscriber is still connected and unread, new clients are served.
        await assertRoundTrip(b());
        stuck.socket.destroy();
        await assertRoundTrip(b());
        // The broker process is still the one we started.
        expect(b().logs()).not.toMatch(/"level":"error".*(heap|out of memory|RangeError)/i);
      } finally {
        stuck.close();
        await closeAll(fast, pub);
      }
    }, 90_000);

    test("a stuck subscriber that later resumes reading is still connected and receives new messages", async () => {
      const topic = uniqueId("slow/resume");
      const { raw: stuck } = await connectRaw(b(), { clientId: uniqueId("stuck") });
      await rawSubscribe(stuck, [{ topic, qos: 0 }]);
      stuck.socket.pause();
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        const payload = Buffer.alloc(MESSAGE_SIZE, 0x61);
        const sends: Promise<void>[] = [];
        for (let i = 0; i < 200; i++) sends.push(publish(pub, topic, payload, { qos: 1 }, 30_000));
        await Promise.all(sends);
        stuck.socket.resume();
        // QoS 0 messages beyond the broker's buffer may have been dropped for this subscriber, but
        // the connection survives: a message published after it catches up arrives.
        const deadline = Date.now() + 20_000;
        const marker = Buffer.from("after-resume");
        let seen = false;
        while (!seen && Date.now() < deadline && !stuck.closed) {
          await publish(pub, topic, marker, { qos: 1 });
          await new Promise((r) => setTimeout(r, 200));
          seen = stuck.packets().some((p) => p.cmd === "publish" && Buffer.compare(p.payload, marker) === 0);
        }
        expect(stuck.closed).toBe(false);
        expect(seen).toBe(true);
      } finally {
        stuck.close();
        await closeAll(pub);
      }
    }, 60_000);
  });
}
