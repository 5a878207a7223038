/**
 * The system clock's timers: host timers take a signed 32-bit delay and fire at once beyond it,
 * which expired v5 sessions with an expiry interval above ~24.8 days the moment they went
 * offline (found by the fuzz test on Deno). Longer timers are chained.
 */
import { expect, test } from "bun:test";
import { ChainedTimer, MAX_TIMER_DELAY_MS, systemClock } from "../../src/ports/clock.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a timer longer than 2^31-1 ms (30 days) does not fire at once, and can be cleared", async () => {
  let fired = false;
  const handle = systemClock.setTimeout(() => (fired = true), 30 * 24 * 3600 * 1000);
  await sleep(100);
  expect(fired).toBe(false);
  systemClock.clearTimeout(handle);
});

test("a timer of exactly the host limit is a plain host timer", async () => {
  let fired = false;
  const handle = systemClock.setTimeout(() => (fired = true), MAX_TIMER_DELAY_MS);
  await sleep(50);
  expect(fired).toBe(false);
  expect(handle instanceof ChainedTimer).toBe(false);
  systemClock.clearTimeout(handle);
});

test("a chained timer fires once, after the whole delay (links of 40 ms for a 130 ms timer)", async () => {
  const started = Date.now();
  const firedAt: number[] = [];
  new ChainedTimer(() => firedAt.push(Date.now() - started), 130, 40);
  await sleep(90);
  expect(firedAt).toEqual([]);
  await sleep(300);
  expect(firedAt.length).toBe(1);
  expect(firedAt[0]).toBeGreaterThanOrEqual(125);
});

test("clearing a chained timer between links stops it", async () => {
  let fired = false;
  const timer = new ChainedTimer(() => (fired = true), 100, 30);
  await sleep(45); // the second link is armed now
  systemClock.clearTimeout(timer);
  await sleep(150);
  expect(fired).toBe(false);
});
