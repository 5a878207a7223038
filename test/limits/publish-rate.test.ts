/**
 * mqtt.maxPublishRate / maxPublishBytesRate on the wire: a client over its rate is throttled
 * (the broker stops reading from it until its token bucket refills), never disconnected and
 * never has messages dropped; other clients are unaffected. Timing is asserted only as lower
 * bounds well under the theoretical span, so a slow machine cannot make these fail.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RunningBroker, RUNTIMES, startBroker } from "../helpers/broker.ts";
import { closeAll, connectClient, publish, subscribe, uniqueId } from "../helpers/clients.ts";
import type { MqttClient } from "mqtt";

const MESSAGES_PER_SECOND = 50;
const BYTES_PER_SECOND = 20_000;

/** Arrival times (ms) of messages per topic. */
function arrivals(c: MqttClient): Map<string, number[]> {
  const seen = new Map<string, number[]>();
  c.on("message", (topic) => {
    const list = seen.get(topic) ?? [];
    list.push(Date.now());
    seen.set(topic, list);
  });
  return seen;
}

async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const runtime of RUNTIMES) {
  describe(`publish rate limits: ${MESSAGES_PER_SECOND} messages/s, ${BYTES_PER_SECOND} bytes/s [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({
        runtime,
        set: { "mqtt.maxPublishRate": MESSAGES_PER_SECOND, "mqtt.maxPublishBytesRate": BYTES_PER_SECOND },
      });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    for (const transport of ["tcp", "ws"] as const) {
      test(
        `${transport}: 200 QoS 0 messages sent at once at 50/s: all arrive in order, spread over at least 2 s, the publisher stays connected; another client's messages flow meanwhile`,
        async () => {
          const throttledTopic = uniqueId("rate/t");
          const otherTopic = uniqueId("rate/o");
          const sub = await connectClient(b, { clientId: uniqueId("rate-sub") });
          const fast = await connectClient(b, { clientId: uniqueId("rate-fast"), transport });
          const other = await connectClient(b, { clientId: uniqueId("rate-other") });
          let fastClosed = false;
          fast.on("close", () => (fastClosed = true));
          const payloads: string[] = [];
          sub.on("message", (topic, payload) => topic === throttledTopic && payloads.push(payload.toString()));
          const seen = arrivals(sub);
          try {
            await subscribe(sub, [throttledTopic, otherTopic], { qos: 0 });
            for (let i = 0; i < 200; i++) fast.publish(throttledTopic, String(i), { qos: 0 });
            // Once the throttled stream is under way, another client publishes: its messages must
            // not wait for the throttled client's backlog.
            await waitUntil(() => (seen.get(throttledTopic)?.length ?? 0) > 0, 5_000, "the first throttled message");
            for (let i = 0; i < 20; i++) await publish(other, otherTopic, `o${i}`, { qos: 1 });
            await waitUntil(() => (seen.get(otherTopic)?.length ?? 0) === 20, 5_000, "the other client's 20 messages");
            const throttledSoFar = seen.get(throttledTopic)!.length;
            await waitUntil(() => payloads.length >= 200, 30_000, "all 200 throttled messages");
            const times = seen.get(throttledTopic)!;
            expect(payloads).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
            expect(throttledSoFar).toBeLessThan(200);
            expect(times[times.length - 1] - times[0]).toBeGreaterThanOrEqual(2_000); // 3 s in theory
            expect(fastClosed).toBe(false);
            expect(fast.connected).toBe(true);
          } finally {
            await closeAll(sub, fast, other);
          }
        },
        40_000,
      );
    }

    test(
      "bytes/s: 20 messages of 2,000 bytes at 20,000 bytes/s all arrive, spread over at least 0.7 s, without a disconnect",
      async () => {
        const topic = uniqueId("rate/bytes");
        const sub = await connectClient(b, { clientId: uniqueId("bytes-sub") });
        const fast = await connectClient(b, { clientId: uniqueId("bytes-fast") });
        let fastClosed = false;
        fast.on("close", () => (fastClosed = true));
        const seen = arrivals(sub);
        try {
          await subscribe(sub, topic, { qos: 0 });
          const payload = Buffer.alloc(2_000, "x");
          for (let i = 0; i < 20; i++) fast.publish(topic, payload, { qos: 0 });
          await waitUntil(() => (seen.get(topic)?.length ?? 0) >= 20, 20_000, "all 20 messages");
          const times = seen.get(topic)!;
          expect(times.length).toBe(20);
          expect(times[19] - times[0]).toBeGreaterThanOrEqual(700); // about 1 s in theory
          expect(fastClosed).toBe(false);
        } finally {
          await closeAll(sub, fast);
        }
      },
      30_000,
    );
  });
}
