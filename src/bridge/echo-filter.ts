/**
 * Echo suppression for MQTT 3.1.1 upstreams, which have no No Local: when the bridge's own
 * upstream subscription overlaps its out rules, the upstream sends our messages straight back.
 * Each message sent out leaves a fingerprint (topic, payload) for a while; an inbound message
 * matching one consumes it and is dropped. The cost: an identical message published upstream by
 * someone else within that window is dropped too (documented in the README).
 */
import type { Clock } from "../ports/clock.ts";

function fingerprint(topic: string, payload: Uint8Array): string {
  // FNV-1a over the payload: cheap, and a collision needs the same topic and length too.
  let hash = 0x811c9dc5;
  for (let i = 0; i < payload.length; i++) hash = Math.imul(hash ^ payload[i], 0x01000193);
  return `${topic}\u0000${payload.length}\u0000${(hash >>> 0).toString(16)}`;
}

export class EchoFilter {
  private readonly sent = new Map<string, number[]>();
  private size = 0;

  constructor(private readonly clock: Clock, private readonly windowMs: number, private readonly max = 100_000) {}

  /** A message went out on `topic` (the upstream's topic). */
  sentOut(topic: string, payload: Uint8Array): void {
    if (this.size >= this.max) this.prune(true);
    const key = fingerprint(topic, payload);
    const times = this.sent.get(key);
    if (times) times.push(this.clock.now());
    else this.sent.set(key, [this.clock.now()]);
    this.size++;
  }

  /** True when an inbound message is the echo of one we sent (and forget that one). */
  isEcho(topic: string, payload: Uint8Array): boolean {
    const key = fingerprint(topic, payload);
    const times = this.sent.get(key);
    if (!times) return false;
    const now = this.clock.now();
    while (times.length > 0 && now - times[0] > this.windowMs) {
      times.shift();
      this.size--;
    }
    if (times.length === 0) {
      this.sent.delete(key);
      return false;
    }
    times.shift();
    this.size--;
    if (times.length === 0) this.sent.delete(key);
    return true;
  }

  /** Drop expired fingerprints (all of the oldest half when `hard`, to stay bounded). */
  private prune(hard: boolean): void {
    const now = this.clock.now();
    for (const [key, times] of this.sent) {
      while (times.length > 0 && (now - times[0] > this.windowMs || hard)) {
        times.shift();
        this.size--;
        if (hard && this.size < this.max / 2) break;
      }
      if (times.length === 0) this.sent.delete(key);
      if (hard && this.size < this.max / 2) return;
    }
  }
}
