/** Clock port: time and timers. The core uses only this, so tests can drive time. */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
}

type TimerId = ReturnType<typeof globalThis.setTimeout>;

/**
 * Host timers take a signed 32-bit delay (about 24.8 days); a longer one fires at once (Node and
 * Deno warn with TimeoutOverflowWarning). A v5 Session Expiry or Will Delay Interval can be 136
 * years, so longer timers are chained: each link waits at most this long.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** A timer longer than one host timer: `current` is whichever link is armed now. */
export class ChainedTimer {
  current: TimerId;
  constructor(fn: () => void, ms: number, private readonly maxDelay = MAX_TIMER_DELAY_MS) {
    this.current = this.arm(fn, ms);
  }
  private arm(fn: () => void, ms: number): TimerId {
    if (ms <= this.maxDelay) return globalThis.setTimeout(fn, ms);
    return globalThis.setTimeout(() => (this.current = this.arm(fn, ms - this.maxDelay)), this.maxDelay);
  }
}

/** The real clock, from ECMAScript host globals that both Bun and Deno provide. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => (ms > MAX_TIMER_DELAY_MS ? new ChainedTimer(fn, ms) : globalThis.setTimeout(fn, ms)),
  clearTimeout: (h) => globalThis.clearTimeout(h instanceof ChainedTimer ? h.current : h as TimerId),
  setInterval: (fn, ms) => globalThis.setInterval(fn, Math.min(ms, MAX_TIMER_DELAY_MS)),
  clearInterval: (h) => globalThis.clearInterval(h as TimerId),
};
