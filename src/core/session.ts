/**
 * Session state (MQTT 5 section 4.1): what survives a disconnection while the session lives.
 *
 * Design note on QoS flows: outbound QoS 1/2 messages sit in `inflight` (keyed by packet id, in
 * send order) from PUBLISH until PUBACK, or PUBREC then PUBCOMP (state `awaitingComp`, where the
 * broker owes a PUBREL). Messages beyond the client's Receive Maximum, or sent while the client
 * is offline or not reading, wait in `queue` in arrival order; the queue is bounded by count and
 * bytes and drops the newest message when full (Mosquitto's policy), counting each drop.
 * Inbound QoS 2 packet ids whose PUBREC went out and whose PUBREL has not arrived are kept in
 * `awaitingRelease`, so a resent PUBLISH with the same id is not delivered twice.
 */
import type { Message, QoS } from "../hooks/types.ts";
import type { Subscription } from "./topic-index.ts";

/** One message on its way to one session, in the form that session gets it. */
export interface Delivery {
  message: Message;
  qos: QoS;
  retain: boolean;
  subscriptionIdentifiers?: number[];
}

export interface InflightEntry {
  packetId: number;
  delivery: Delivery;
  state: "awaitingAck" | "awaitingComp";
}

export interface QueueLimits {
  maxQueuedMessages: number;
  maxQueuedBytes: number;
}

/** The connection currently attached to a session (implemented by Connection). */
export interface SessionOwner {
  deliver(delivery: Delivery): void;
  readonly connected: boolean;
}

export class Session {
  readonly subscriptions = new Map<string, Subscription>();
  readonly inflight = new Map<number, InflightEntry>();
  readonly awaitingRelease = new Set<number>();
  queue: Delivery[] = [];
  queuedBytes = 0;
  droppedMessages = 0;
  owner: SessionOwner | null = null;
  /** Seconds the session outlives its connection; 0xFFFFFFFF = forever. */
  expiryInterval = 0;
  expiryTimer: unknown = null;
  /** Clock time when the last connection closed (for $SYS and expiry bookkeeping). */
  disconnectedAt = 0;
  private lastPacketId = 0;

  constructor(readonly clientId: string) {}

  /** A free packet id for an outbound QoS 1/2 PUBLISH, or null when all 65,535 are in use. */
  allocatePacketId(): number | null {
    for (let tries = 0; tries < 65_535; tries++) {
      this.lastPacketId = this.lastPacketId >= 65_535 ? 1 : this.lastPacketId + 1;
      if (!this.inflight.has(this.lastPacketId)) return this.lastPacketId;
    }
    return null;
  }

  /** Queue a delivery; false (and a counted drop) when the queue is full. */
  enqueue(delivery: Delivery, limits: QueueLimits): boolean {
    const size = delivery.message.payload.length;
    const overCount = this.queue.length >= limits.maxQueuedMessages;
    const overBytes = limits.maxQueuedBytes > 0 && this.queuedBytes + size > limits.maxQueuedBytes;
    if (overCount || overBytes) {
      this.droppedMessages++;
      return false;
    }
    this.queue.push(delivery);
    this.queuedBytes += size;
    return true;
  }

  dequeue(): Delivery | undefined {
    const delivery = this.queue.shift();
    if (delivery) this.queuedBytes -= delivery.message.payload.length;
    return delivery;
  }
}
