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
 *
 * Every change to that state goes through the methods below, which also tell the session's
 * journal (persistent sessions only), so memory and the store cannot drift apart.
 */
import type { Message, ProtocolVersion, QoS } from "../model/message.ts";
import type { WillMessage } from "./context.ts";
import { Deque } from "../util/deque.ts";
import type { Subscription } from "./topic-index.ts";

/** One message on its way to one session, in the form that session gets it. */
export interface Delivery {
  message: Message;
  qos: QoS;
  retain: boolean;
  subscriptionIdentifiers?: number[];
  /** Store id, set when the delivery is journaled (QoS 1/2 to a persistent session). */
  id?: number;
  /** Clock time it entered the queue (memory only: restored deliveries count from the restart). */
  queuedAt?: number;
}

export interface InflightEntry {
  packetId: number;
  delivery: Delivery;
  state: "awaitingAck" | "awaitingComp";
}

/** Told how many queued messages were dropped to make room (queueFull) or for their age (maxAge). */
export type QueueDropReport = (reason: "queueFull" | "maxAge", count: number) => void;

export interface QueueLimits {
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  /** Make room by dropping the oldest queued messages instead of refusing the new one. */
  dropOldest?: boolean;
  /** Queued messages older than this many milliseconds are dropped (0 or absent: no limit). */
  maxAgeMs?: number;
}

/** What a session's owner tells about itself for the management queries (plain data). */
export interface OwnerSnapshot {
  username?: string;
  protocolVersion?: ProtocolVersion;
  address?: string;
  listener?: string;
  connectedAt: number;
  lastPacketAt?: number;
  keepalive?: number;
  cleanStart?: boolean;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  will?: { topic: string; qos: QoS; retain: boolean; delayInterval: number };
}

/**
 * Whoever is attached to a session and gets its messages: a client connection, or an in-process
 * owner such as a bridge (local-session.ts). The broker knows owners only through this.
 */
export interface SessionOwner {
  deliver(delivery: Delivery): void;
  readonly connected: boolean;
  /** After attaching to a present session: hand out what is in flight, then the queue. */
  resume(): void;
  /**
   * Another owner takes the session (or an administrator deletes it): end this one (v5 DISCONNECT
   * with `reasonCode`, default 0x8E Session taken over) and return a will to publish now, if any
   * (a delayed will is cancelled by the new owner instead, unless it starts clean).
   */
  takenOver(cleanStart: boolean, reasonCode?: number, reasonString?: string): WillMessage | null;
  /** End this owner from outside (administrative disconnect, session deleted). */
  disconnect(reasonCode: number, reasonString?: string): void;
  describe(): OwnerSnapshot;
}

/** Where a persistent session writes its changes (see persistence.ts). */
export interface SessionJournal {
  saveDelivery(delivery: Delivery, inflight?: { packetId: number; state: InflightEntry["state"] }): void;
  deleteDelivery(delivery: Delivery): void;
  saveAwaitingRelease(packetId: number): void;
  deleteAwaitingRelease(packetId: number): void;
  saveSubscription(subscription: Subscription): void;
  deleteSubscription(key: string): void;
}

/** What a session's queue shows outside: its length, its oldest entry, its entries in order. */
export interface QueueView<T> extends Iterable<T> {
  readonly length: number;
  peek(): T | undefined;
}

// Shown for a session that has none of these yet; read only by type, so nothing can add to them.
const NO_SUBSCRIPTIONS: ReadonlyMap<string, Subscription> = new Map();
const NOTHING_IN_FLIGHT: ReadonlyMap<number, InflightEntry> = new Map();
const NO_PACKET_IDS: ReadonlySet<number> = new Set();
const EMPTY_QUEUE: QueueView<Delivery> = new Deque<Delivery>();

export class Session {
  // The collections below are made when something is first put in them: a session with no
  // subscriptions and nothing in flight (most idle connections) holds none of them, and reading
  // (the management queries, $SYS) makes none (issue 14: memory per idle connection). They
  // change only through the methods below.
  private subscriptionMap: Map<string, Subscription> | null = null;
  private inflightMap: Map<number, InflightEntry> | null = null;
  private awaitingReleaseSet: Set<number> | null = null;
  private queued: Deque<Delivery> | null = null;
  queuedBytes = 0;
  /** Messages refused by a full queue since the client went offline (reported when it is back). */
  droppedMessages = 0;
  owner: SessionOwner | null = null;
  /** Seconds the session outlives its connection; 0xFFFFFFFF = forever. */
  expiryInterval = 0;
  expiryTimer: unknown = null;
  /** Clock time when the last connection closed (for $SYS and expiry bookkeeping). */
  disconnectedAt = 0;
  /** Set while the session is persistent (kept in the store). */
  journal: SessionJournal | null = null;
  /** Queue bounds of this session's own (an in-process owner's), instead of the broker's. */
  queueLimits: QueueLimits | null = null;
  private lastPacketId = 0;

  constructor(readonly clientId: string) {}

  get subscriptions(): ReadonlyMap<string, Subscription> {
    return this.subscriptionMap ?? NO_SUBSCRIPTIONS;
  }

  get inflight(): ReadonlyMap<number, InflightEntry> {
    return this.inflightMap ?? NOTHING_IN_FLIGHT;
  }

  get awaitingRelease(): ReadonlySet<number> {
    return this.awaitingReleaseSet ?? NO_PACKET_IDS;
  }

  get queue(): QueueView<Delivery> {
    return this.queued ?? EMPTY_QUEUE;
  }

  get queueLength(): number {
    return this.queued?.length ?? 0;
  }

  // ---- rebuilding a stored session (persistence.ts): state goes in without being journaled ----

  restoreSubscription(subscription: Subscription): void {
    (this.subscriptionMap ??= new Map()).set(subscription.key, subscription);
  }

  restoreInflight(entry: InflightEntry): void {
    (this.inflightMap ??= new Map()).set(entry.packetId, entry);
  }

  restoreQueued(delivery: Delivery): void {
    (this.queued ??= new Deque()).push(delivery);
    this.queuedBytes += delivery.message.payload.length;
  }

  restoreAwaitingRelease(packetId: number): void {
    (this.awaitingReleaseSet ??= new Set()).add(packetId);
  }

  /** The session ended: its subscriptions go (the caller removes them from the topic index). */
  clearSubscriptions(): void {
    this.subscriptionMap = null;
  }

  /** A free packet id for an outbound QoS 1/2 PUBLISH, or null when all 65,535 are in use. */
  allocatePacketId(): number | null {
    for (let tries = 0; tries < 65_535; tries++) {
      this.lastPacketId = this.lastPacketId >= 65_535 ? 1 : this.lastPacketId + 1;
      if (!this.inflight.has(this.lastPacketId)) return this.lastPacketId;
    }
    return null;
  }

  /**
   * Queue a delivery; false when the queue is full and it is refused (counted in droppedMessages).
   * Older messages this drops on the way (maxAgeMs, dropOldest) go to `report`, so that whoever
   * holds the broker's counters counts them by reason whether an owner is attached or not.
   */
  enqueue(delivery: Delivery, brokerLimits: QueueLimits, now?: number, report?: QueueDropReport): boolean {
    const limits = this.queueLimits ?? brokerLimits;
    if (now !== undefined && limits.maxAgeMs) {
      const aged = this.dropOlderThan(now - limits.maxAgeMs);
      if (aged > 0) report?.("maxAge", aged);
    }
    const size = delivery.message.payload.length;
    const full = () =>
      this.queue.length >= limits.maxQueuedMessages ||
      (limits.maxQueuedBytes > 0 && this.queuedBytes + size > limits.maxQueuedBytes);
    // dropOldest: the newest data wins (telemetry); a message larger than the byte bound never fits.
    if (limits.dropOldest && !(limits.maxQueuedBytes > 0 && size > limits.maxQueuedBytes)) {
      let evicted = 0;
      for (; full() && this.queue.length > 0; evicted++) this.dropQueued(this.dequeue()!);
      if (evicted > 0) report?.("queueFull", evicted);
    }
    if (full()) {
      this.droppedMessages++;
      return false;
    }
    if (now !== undefined) delivery.queuedAt = now;
    (this.queued ??= new Deque()).push(delivery);
    this.queuedBytes += size;
    if (delivery.qos > 0 && delivery.id === undefined) this.journal?.saveDelivery(delivery);
    return true;
  }

  /** Drop queued deliveries that entered the queue before `before`; returns how many. */
  dropOlderThan(before: number): number {
    let dropped = 0;
    for (let d = this.queue.peek(); d && d.queuedAt !== undefined && d.queuedAt < before; d = this.queue.peek()) {
      this.dropQueued(this.dequeue()!);
      dropped++;
    }
    return dropped;
  }

  /** Clock time the oldest queued delivery was queued, if known. */
  get oldestQueuedAt(): number | undefined {
    return this.queue.peek()?.queuedAt;
  }

  private dropQueued(delivery: Delivery): void {
    this.discard(delivery);
    this.droppedMessages++;
  }

  /** Take the oldest queued delivery (it stays journaled until it is completed or dropped). */
  dequeue(): Delivery | undefined {
    const delivery = this.queued?.shift();
    if (delivery) this.queuedBytes -= delivery.message.payload.length;
    return delivery;
  }

  /** A queued or new delivery will not be sent after all (expired, too large for the client). */
  discard(delivery: Delivery): void {
    if (delivery.id !== undefined) this.journal?.deleteDelivery(delivery);
  }

  startInflight(packetId: number, delivery: Delivery): void {
    (this.inflightMap ??= new Map()).set(packetId, { packetId, delivery, state: "awaitingAck" });
    this.journal?.saveDelivery(delivery, { packetId, state: "awaitingAck" });
  }

  /** PUBREC came back for a QoS 2 delivery: the broker now owes PUBREL. */
  received(entry: InflightEntry): void {
    entry.state = "awaitingComp";
    this.journal?.saveDelivery(entry.delivery, { packetId: entry.packetId, state: "awaitingComp" });
  }

  /** The flow of an outbound message ended (PUBACK, PUBCOMP, or a refusing PUBREC). */
  complete(packetId: number): void {
    const entry = this.inflightMap?.get(packetId);
    if (!entry) return;
    this.inflightMap!.delete(packetId);
    this.discard(entry.delivery);
  }

  addAwaitingRelease(packetId: number): void {
    (this.awaitingReleaseSet ??= new Set()).add(packetId);
    this.journal?.saveAwaitingRelease(packetId);
  }

  /** PUBREL arrived: true when the packet id was known. */
  release(packetId: number): boolean {
    if (!this.awaitingReleaseSet?.delete(packetId)) return false;
    this.journal?.deleteAwaitingRelease(packetId);
    return true;
  }

  /** Add or replace a subscription; true when one with the same filter existed. */
  setSubscription(subscription: Subscription): boolean {
    const subscriptions = (this.subscriptionMap ??= new Map());
    const existed = subscriptions.has(subscription.key);
    subscriptions.set(subscription.key, subscription);
    this.journal?.saveSubscription(subscription);
    return existed;
  }

  deleteSubscription(key: string): Subscription | undefined {
    const subscription = this.subscriptionMap?.get(key);
    if (!subscription) return undefined;
    this.subscriptionMap!.delete(key);
    this.journal?.deleteSubscription(key);
    return subscription;
  }
}
