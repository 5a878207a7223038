/**
 * Input gating for one connection: which frames are handled now and which wait, and when the
 * transport's reading is paused.
 *
 * Design note: packets are handled strictly in arrival order. A handler may be asynchronous
 * (authentication, ACL hooks); while one runs, further frames wait in the backlog and reading is
 * paused, so ordering and the packet-before-CONNACK rules hold without locks. The publish rate
 * limit uses the same hold: a client over its rate has its further frames wait (never dropped)
 * and its transport paused until a Clock timer says the bucket has refilled.
 *
 * Reading is paused while any reason holds: a frame waits behind a running handler (pausing when
 * the handler starts instead cost a pause and a resume per CONNECT, issue 14: connect CPU), the
 * client is over its publish rate, or the connection says so (`extraPause`: the client is not reading what we send, or too many of
 * its acks wait for the store); it resumes only when none holds.
 */
import type { Clock } from "../ports/clock.ts";
import type { Transport } from "../ports/transport.ts";
import { ProtocolError, ReasonCode } from "../protocol/reason-codes.ts";
import { Deque } from "../util/deque.ts";
import { RateLimiter } from "./rate-limiter.ts";

/**
 * Bytes of frames held while an async handler runs or the client is throttled. With reading
 * paused that is about one read (64 KiB in the Deno adapter), which can hold over 10,000 small
 * packets: a frame count would cut off a client that did nothing wrong. Adapters that cannot
 * pause (Bun's WebSocket) keep delivering; past this a client is cut off with 0x96.
 */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;

export interface InputGateOptions {
  clock: Clock;
  transport: Transport;
  messagesPerSecond: number;
  bytesPerSecond: number;
  /** Handle one frame; a returned promise holds the following frames until it settles. */
  handle(frame: Uint8Array): void | Promise<void>;
  /** A frame handler threw or rejected: the connection ends. */
  fail(e: unknown): void;
  /** Further reasons of the connection's to pause reading. */
  extraPause(): boolean;
  /** Throttling started (for a debug line) and ended (held input counts as activity). */
  onThrottle(ms: number): void;
  onThrottleEnd(): void;
}

export class InputGate {
  /** A Deque: a throttled client can have thousands of frames waiting, shifted one by one. Made on first hold. */
  private backlog: Deque<Uint8Array> | null = null;
  private backlogBytes = 0;
  private busy = false;
  /** Over the publish rate: input is held until `throttleTimer` fires. */
  private throttled = false;
  private throttleTimer: unknown = null;
  private readingPaused = false;
  private closed = false;
  private readonly rateLimiter: RateLimiter | null;

  constructor(private readonly options: InputGateOptions) {
    this.rateLimiter = RateLimiter.for(options.clock, {
      messagesPerSecond: options.messagesPerSecond,
      bytesPerSecond: options.bytesPerSecond,
    });
  }

  /** A whole frame arrived: handle it now, or hold it behind what is running. */
  push(frame: Uint8Array): void {
    if (!this.busy && !this.throttled) return this.handleFrame(frame);
    const backlog = (this.backlog ??= new Deque());
    if (this.backlogBytes + frame.length > MAX_BACKLOG_BYTES && backlog.length > 0) {
      throw new ProtocolError(ReasonCode.MessageRateTooHigh, "client keeps sending while its packets wait");
    }
    this.backlogBytes += frame.length;
    backlog.push(frame);
    if (backlog.length === 1) this.update();
  }

  /** Count a PUBLISH against the rate limit; over it, hold input until the bucket has refilled. */
  countPublish(size: number): void {
    if (!this.rateLimiter) return;
    const wait = this.rateLimiter.take(size);
    if (wait === 0) return;
    if (!this.throttled) this.options.onThrottle(wait);
    this.throttled = true;
    this.update();
    this.throttleTimer = this.options.clock.setTimeout(() => {
      this.throttleTimer = null;
      this.throttled = false;
      this.options.onThrottleEnd();
      this.drain();
    }, wait);
  }

  /** Pause or resume reading to match the reasons that hold now. */
  update(): void {
    if (this.closed) return;
    const held = this.busy && this.backlog !== null && this.backlog.length > 0;
    const pause = held || this.throttled || this.options.extraPause();
    if (pause === this.readingPaused) return;
    this.readingPaused = pause;
    if (pause) this.options.transport.pauseReading();
    else this.options.transport.resumeReading();
  }

  /** The connection ended: forget held frames and timers. */
  close(): void {
    this.closed = true;
    this.options.clock.clearTimeout(this.throttleTimer);
    this.backlog = null;
    this.backlogBytes = 0;
  }

  private handleFrame(frame: Uint8Array): void {
    if (this.closed) return;
    try {
      const result = this.options.handle(frame);
      if (result) this.waitFor(result);
    } catch (e: unknown) {
      this.options.fail(e);
    }
  }

  /** An async handler is running: hold further frames until it settles. */
  private waitFor(pending: Promise<void>): void {
    this.busy = true;
    this.update();
    pending.then(
      () => {
        this.busy = false;
        this.drain();
      },
      (e: unknown) => {
        this.busy = false;
        this.options.fail(e);
      },
    );
  }

  /** Handle held frames until another hold starts, then pause or resume reading to match. */
  private drain(): void {
    const backlog = this.backlog;
    while (backlog && backlog.length > 0 && !this.busy && !this.throttled && !this.closed) {
      const frame = backlog.shift()!;
      this.backlogBytes -= frame.length;
      this.handleFrame(frame);
    }
    if (backlog && backlog.length === 0 && this.backlog === backlog) this.backlog = null; // nothing held: none kept
    this.update();
  }
}
