/**
 * The bridge's queue bounds, on the broker's in-process session: count and byte bounds with
 * whenFull dropOldest or dropNewest, and maxAge (also while the queue sits idle), each counted.
 * Driven by a fake clock against the memory store; the same session code runs with SQLite.
 */
import { describe, expect, test } from "bun:test";
import { createBroker, defaultConfig } from "../../src/mod.ts";
import type { LocalDelivery, LocalSessionOptions } from "../../src/mod.ts";
import { FakeClock } from "../helpers/fake-clock.ts";

async function setup(queue: NonNullable<LocalSessionOptions["queue"]>) {
  const clock = new FakeClock();
  const broker = createBroker(defaultConfig(), { clock });
  await broker.start();
  const got: LocalDelivery[] = [];
  const session = broker.openLocalSession(
    { clientId: "bridge:test", cleanStart: true, sessionExpiryInterval: 0xffffffff, maxInflight: 100, queue },
    (d) => got.push(d),
  );
  session.pause();
  session.subscribe("t/#", { qos: 1 });
  const publish = (n: number, payload = String(n)) => broker.publish({ topic: `t/${n}`, payload, qos: 1 });
  const drain = async () => {
    session.resume();
    await new Promise((resolve) => setTimeout(resolve, 10)); // hand-outs wait on a promise chain
    return got.map((d) => d.topic);
  };
  return { clock, broker, session, publish, drain };
}

describe("bridge queue bounds (in-process session)", () => {
  test("count bound, dropOldest: the newest messages stay, drops counted", async () => {
    const { session, publish, drain } = await setup({ maxMessages: 3, whenFull: "dropOldest" });
    for (let n = 1; n <= 5; n++) publish(n);
    expect(session.stats).toMatchObject({ queued: 3, dropped: 2 });
    expect(await drain()).toEqual(["t/3", "t/4", "t/5"]);
  });

  test("count bound, dropNewest: the oldest messages stay, drops counted", async () => {
    const { session, publish, drain } = await setup({ maxMessages: 3, whenFull: "dropNewest" });
    for (let n = 1; n <= 5; n++) publish(n);
    expect(session.stats).toMatchObject({ queued: 3, dropped: 2 });
    expect(await drain()).toEqual(["t/1", "t/2", "t/3"]);
  });

  test("byte bound, dropOldest: room is made from the front; a message over the bound alone is refused", async () => {
    const { session, publish, drain } = await setup({ maxMessages: 100, maxBytes: 10, whenFull: "dropOldest" });
    for (let n = 1; n <= 4; n++) publish(n, "abcd"); // 4 bytes each: two fit
    expect(session.stats).toMatchObject({ queued: 2, queuedBytes: 8, dropped: 2 });
    publish(9, "x".repeat(11));
    expect(session.stats).toMatchObject({ queued: 2, dropped: 3 });
    expect(await drain()).toEqual(["t/3", "t/4"]);
  });

  test("maxAge: messages older than the bound are dropped, also from an idle queue", async () => {
    const { clock, session, publish, drain } = await setup({ maxMessages: 100, maxAgeMs: 60_000 });
    publish(1);
    publish(2);
    const firstAt = clock.now();
    expect(session.stats.oldestQueuedAt).toBe(firstAt);
    clock.advance(30_000);
    publish(3);
    clock.advance(40_000); // 1 and 2 are 70 s old, 3 is 40 s old; nothing new arrives
    expect(session.stats).toMatchObject({ queued: 1, dropped: 2 });
    expect(session.stats.oldestQueuedAt).toBe(firstAt + 30_000);
    expect(await drain()).toEqual(["t/3"]);
  });
});
