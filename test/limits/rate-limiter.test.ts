/** The publish-rate token buckets (src/core/rate-limiter.ts), driven by a fake clock. */
import { describe, expect, test } from "bun:test";
import { RateLimiter } from "../../src/core/rate-limiter.ts";
import { FakeClock } from "../helpers/fake-clock.ts";

/** Messages admitted back to back until the limiter asks to wait (the wait included). */
function burst(limiter: RateLimiter, size: number, max = 100_000): { admitted: number; wait: number } {
  for (let i = 1; i <= max; i++) {
    const wait = limiter.take(size);
    if (wait > 0) return { admitted: i, wait };
  }
  return { admitted: max, wait: 0 };
}

describe("RateLimiter", () => {
  test("no limiter when both rates are 0", () => {
    expect(RateLimiter.for(new FakeClock(), { messagesPerSecond: 0, bytesPerSecond: 0 })).toBeNull();
  });

  test("messages/s: a burst of one second's worth, then a wait until one more token", () => {
    const clock = new FakeClock();
    const limiter = RateLimiter.for(clock, { messagesPerSecond: 50, bytesPerSecond: 0 })!;
    expect(burst(limiter, 10)).toEqual({ admitted: 50, wait: 20 });
  });

  test("messages/s: the sustained rate after the burst is the configured one", () => {
    const clock = new FakeClock();
    const limiter = RateLimiter.for(clock, { messagesPerSecond: 50, bytesPerSecond: 0 })!;
    burst(limiter, 10);
    let admitted = 0;
    const start = clock.now();
    // Follow the limiter's own waits for 10 simulated seconds.
    while (clock.now() - start < 10_000) {
      const { admitted: n, wait } = burst(limiter, 10);
      admitted += n;
      clock.advance(wait);
    }
    expect(admitted).toBeGreaterThanOrEqual(495);
    expect(admitted).toBeLessThanOrEqual(505);
  });

  test("messages/s: a throttled client resumes with a batch of about 20 ms worth (few timers at high rates)", () => {
    const clock = new FakeClock();
    const limiter = RateLimiter.for(clock, { messagesPerSecond: 10_000, bytesPerSecond: 0 })!;
    const first = burst(limiter, 10);
    expect(first.admitted).toBe(10_000);
    expect(first.wait).toBe(20);
    clock.advance(first.wait);
    expect(burst(limiter, 10).admitted).toBe(200);
  });

  test("idle time refills the bucket up to the burst, not beyond", () => {
    const clock = new FakeClock();
    const limiter = RateLimiter.for(clock, { messagesPerSecond: 5, bytesPerSecond: 0 })!;
    burst(limiter, 1);
    clock.advance(60_000);
    expect(burst(limiter, 1).admitted).toBe(5);
  });

  test("bytes/s: the message that exhausts the bucket is admitted; the debt is waited out", () => {
    const clock = new FakeClock();
    const limiter = RateLimiter.for(clock, { messagesPerSecond: 0, bytesPerSecond: 1000 })!;
    // 1000 bytes of burst: 9 x 100 bytes leave 100, the 10th leaves 0, the 11th goes into debt.
    const { admitted, wait } = burst(limiter, 100);
    expect(admitted).toBe(11);
    // Debt of 100 bytes plus a 20 ms batch (20 bytes) at 1000 bytes/s.
    expect(wait).toBe(120);
  });

  test("bytes/s: one message larger than the burst still goes through, then waits", () => {
    const clock = new FakeClock();
    const limiter = RateLimiter.for(clock, { messagesPerSecond: 0, bytesPerSecond: 1000 })!;
    expect(limiter.take(5000)).toBe(4020);
    clock.advance(4020);
    expect(limiter.take(10)).toBe(0);
  });

  test("both rates: the longer wait wins", () => {
    const clock = new FakeClock();
    const limiter = RateLimiter.for(clock, { messagesPerSecond: 100, bytesPerSecond: 1000 })!;
    // Bytes run out first: 11 messages of 100 bytes.
    expect(burst(limiter, 100)).toEqual({ admitted: 11, wait: 120 });
    clock.advance(120);
    // Messages: 100 - 11 + 12 refilled; bytes: back to 20, so one 100-byte message then a wait.
    expect(burst(limiter, 100).admitted).toBe(1);
  });

  test("a clock set back adds no tokens and does not freeze the refill", () => {
    const clock = new FakeClock();
    const limiter = RateLimiter.for(clock, { messagesPerSecond: 2, bytesPerSecond: 0 })!;
    burst(limiter, 1);
    clock.setBack(10_000);
    expect(limiter.take(1)).toBeGreaterThan(0); // 1 token in debt now
    clock.advance(1500); // +3 tokens: two more messages fit
    expect(limiter.take(1)).toBe(0);
  });
});
