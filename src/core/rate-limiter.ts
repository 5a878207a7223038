/**
 * Token buckets for a client's inbound PUBLISH rate (mqtt.maxPublishRate, maxPublishBytesRate).
 *
 * Each bucket holds one second's worth of tokens (the burst) and refills continuously. A message
 * is admitted while the buckets are not exhausted; the one that exhausts them is still handled
 * (its size is only known once it arrived, and a message larger than the byte burst must not be
 * stuck forever), leaving the byte bucket in debt. The caller then holds further input for
 * `take`'s answer: long enough that a batch of about 20 ms worth of messages can follow, so a
 * throttled client costs tens of timers a second, not one per message.
 */
import type { Clock } from "../ports/clock.ts";

export interface PublishRates {
  /** PUBLISH packets per second; 0 = no limit. */
  messagesPerSecond: number;
  /** PUBLISH bytes (whole packets) per second; 0 = no limit. */
  bytesPerSecond: number;
}

/** Refill this fraction of a second's worth before letting a throttled client go on. */
const RESUME_BATCH = 0.02;

export class RateLimiter {
  private messages: number;
  private bytes: number;
  private last: number;

  constructor(private readonly clock: Clock, private readonly rates: PublishRates) {
    this.messages = rates.messagesPerSecond;
    this.bytes = rates.bytesPerSecond;
    this.last = clock.now();
  }

  /** Limiting is on when either rate is set. */
  static for(clock: Clock, rates: PublishRates): RateLimiter | null {
    return rates.messagesPerSecond > 0 || rates.bytesPerSecond > 0 ? new RateLimiter(clock, rates) : null;
  }

  /**
   * Count one PUBLISH of `size` bytes. Returns 0 when the next one may follow at once, otherwise
   * the milliseconds to hold input for.
   */
  take(size: number): number {
    this.refill();
    const { messagesPerSecond, bytesPerSecond } = this.rates;
    if (messagesPerSecond > 0) this.messages -= 1;
    if (bytesPerSecond > 0) this.bytes -= size;
    const messagesOut = messagesPerSecond > 0 && this.messages < 1;
    const bytesOut = bytesPerSecond > 0 && this.bytes < 0;
    if (!messagesOut && !bytesOut) return 0;
    let wait = 0;
    if (messagesOut) {
      const target = Math.min(messagesPerSecond, Math.max(1, messagesPerSecond * RESUME_BATCH));
      wait = ((target - this.messages) * 1000) / messagesPerSecond;
    }
    if (bytesOut) {
      const target = Math.min(bytesPerSecond, bytesPerSecond * RESUME_BATCH);
      wait = Math.max(wait, ((target - this.bytes) * 1000) / bytesPerSecond);
    }
    return Math.max(1, Math.ceil(wait));
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = now - this.last;
    this.last = now; // a clock set back neither adds tokens nor freezes the refill
    if (elapsed <= 0) return;
    const { messagesPerSecond, bytesPerSecond } = this.rates;
    if (messagesPerSecond > 0) {
      this.messages = Math.min(messagesPerSecond, this.messages + (elapsed * messagesPerSecond) / 1000);
    }
    if (bytesPerSecond > 0) this.bytes = Math.min(bytesPerSecond, this.bytes + (elapsed * bytesPerSecond) / 1000);
  }
}
