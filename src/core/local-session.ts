/**
 * An in-process session owner: something inside the broker process (a bridge) that owns a
 * session as a client connection would, so its messages wait in the session's queue and journal,
 * which survive restarts and SIGKILL, instead of a second queue.
 *
 * Flow: a matching message becomes a delivery. While the owner is resumed and fewer than
 * `maxInflight` are handed out, a QoS 1/2 delivery gets a packet id, is journaled as in flight
 * and handed to `onDelivery` once that write is durable (write-ahead, as outbound PUBLISHes to
 * clients), in order; otherwise it waits in the session queue. The owner calls `acknowledge`
 * when it is done with it (upstream PUBACK or PUBCOMP) and `received` for a QoS 2 PUBREC, which
 * is journaled too. After `pause` (uplink down) everything queues; `resume` hands out what was in
 * flight again (state "resend" / "awaitingComp"), then the queue.
 */
import type { Message, MessageProperties, QoS } from "../model/message.ts";
import type { Logger } from "../ports/logger.ts";
import { parseSharedFilter } from "../protocol/topics.ts";
import { ReasonCode } from "../protocol/reason-codes.ts";
import { errorText } from "../util/errors.ts";
import { type BrokerContext, countDrop, type DropReason, type WillMessage } from "./context.ts";
import type { Delivery, InflightEntry, OwnerSnapshot, QueueDropReport, QueueLimits, Session, SessionOwner } from "./session.ts";
import type { Subscription } from "./topic-index.ts";

export interface LocalSessionOptions {
  clientId: string;
  cleanStart: boolean;
  /** Seconds; 0xFFFFFFFF = never expires. */
  sessionExpiryInterval: number;
  /** Deliveries handed out and not yet acknowledged. */
  maxInflight: number;
  /**
   * Bounds of this session's queue instead of the broker's maxQueued*. whenFull: dropNewest
   * refuses the new message (the broker's policy), dropOldest makes room. maxAgeMs drops queued
   * messages older than that (age counts from the restart for messages restored from the store).
   */
  queue?: { maxMessages?: number; maxBytes?: number; maxAgeMs?: number; whenFull?: "dropOldest" | "dropNewest" };
  /** Queue QoS 0 messages while paused (default: dropped, as for an offline client). */
  queueQos0?: boolean;
}

/** A message handed to the owner: the message (qos and retain as delivered) with its packet id and state. */
export interface LocalDelivery extends Message {
  /** 0 for QoS 0; otherwise the session's packet id (stable across restarts). */
  packetId: number;
  /** "resend": handed out before (a restart or resume); "awaitingComp": its PUBREC was recorded. */
  state: "new" | "resend" | "awaitingComp";
}

/** What the owner publishes into the broker (origin is always the session's client id). */
export type LocalPublish = Omit<Message, "origin" | "properties"> & { properties?: MessageProperties };

export interface LocalSessionStats {
  inflight: number;
  queued: number;
  queuedBytes: number;
  dropped: number;
  /** Clock time the oldest queued message was queued (absent when the queue is empty). */
  oldestQueuedAt?: number;
}

export interface LocalSession {
  readonly clientId: string;
  readonly sessionPresent: boolean;
  subscribe(filter: string, options: { qos: QoS; noLocal?: boolean; retainAsPublished?: boolean; retainHandling?: 0 | 1 | 2 }): void;
  unsubscribe(filter: string): boolean;
  /** Publish as this session (origin = its client id, so No Local applies). */
  publish(message: LocalPublish): number;
  /**
   * The same, resolving once what the message caused is durable (queued for persistent sessions,
   * retained): a bridge acknowledges a message from its upstream only then, as the broker does for clients.
   */
  /** Publish and resolve once stored; with `releaseId` (upstream QoS 2) that id is stored with it until `release`. */
  publishDurable(message: LocalPublish, releaseId?: number): Promise<number>;
  /** Whether an upstream QoS 2 packet id was stored by publishDurable and not yet released. */
  isAwaitingRelease(packetId: number): boolean;
  /** PUBREL from the upstream: forget the id; resolves once that is durable. */
  release(packetId: number): Promise<void>;
  /** The upstream started a new session: forget every stored QoS 2 id (it will reuse them). */
  forgetReleases(): void;
  acknowledge(packetId: number): void;
  /** QoS 2 PUBREC: record it; resolves once that is durable (send PUBREL only then). */
  received(packetId: number): Promise<void>;
  pause(): void;
  resume(): void;
  readonly stats: LocalSessionStats;
  /** Detach; the session lives on for its expiry interval. */
  close(): void;
}

/** What the local owner needs from the broker beyond the context. */
export interface LocalSessionHost {
  ctx: BrokerContext;
  open(owner: SessionOwner, options: LocalSessionOptions): { session: Session; present: boolean };
  ownerGone(owner: SessionOwner, session: Session): void;
  sendRetained(session: Session, subscription: Subscription, existed: boolean): void;
}

export class LocalOwner implements SessionOwner, LocalSession {
  readonly session: Session;
  readonly sessionPresent: boolean;
  private paused = true;
  private attached = true;
  /** Hand-outs waiting for their journal write, chained so they keep their order. */
  private tail: Promise<void> = Promise.resolve();
  private readonly logger: Logger;
  private readonly connectedAt: number;
  private messagesIn = 0;
  private messagesOut = 0;
  /** Messages dropped since the queue last ran empty (one warning per episode). */
  private episodeDrops = 0;
  private ageTimer: unknown = null;

  constructor(
    private readonly host: LocalSessionHost,
    private readonly options: LocalSessionOptions,
    private readonly onDelivery: (delivery: LocalDelivery) => void,
  ) {
    const { ctx } = host;
    this.logger = ctx.logger.child({ clientId: options.clientId, listener: "in-process" });
    this.connectedAt = ctx.clock.now();
    const { session, present } = host.open(this, options);
    this.session = session;
    this.sessionPresent = present;
    const queue = options.queue;
    session.queueLimits = queue
      ? {
        maxQueuedMessages: queue.maxMessages ?? ctx.limits.maxQueuedMessages,
        maxQueuedBytes: queue.maxBytes ?? ctx.limits.maxQueuedBytes,
        dropOldest: queue.whenFull === "dropOldest",
        maxAgeMs: queue.maxAgeMs,
      }
      : null;
    const now = ctx.clock.now();
    for (const delivery of session.queue) delivery.queuedAt ??= now; // restored: age counts from now
    const maxAge = queue?.maxAgeMs ?? 0;
    if (maxAge > 0) {
      // An idle queue ages too (an uplink down for days): check a tenth of maxAge at a time.
      this.ageTimer = ctx.clock.setInterval(() => {
        const dropped = session.dropOlderThan(ctx.clock.now() - maxAge);
        if (dropped > 0) this.counted(dropped, "maxAge");
      }, Math.max(1000, Math.min(maxAge / 10, 60_000)));
    }
  }

  get clientId(): string {
    return this.options.clientId;
  }

  get connected(): boolean {
    return this.attached;
  }

  get stats(): LocalSessionStats {
    const { session } = this;
    return {
      inflight: session.inflight.size,
      queued: session.queue.length,
      queuedBytes: session.queuedBytes,
      dropped: session.droppedMessages,
      oldestQueuedAt: session.oldestQueuedAt,
    };
  }

  subscribe(filter: string, options: { qos: QoS; noLocal?: boolean; retainAsPublished?: boolean; retainHandling?: 0 | 1 | 2 }): void {
    const shared = parseSharedFilter(filter);
    if (shared === "invalid") throw new RangeError(`invalid shared subscription ${JSON.stringify(filter)}`);
    const subscription: Subscription = {
      clientId: this.clientId,
      key: filter,
      filter: shared ? shared.filter : filter,
      qos: options.qos,
      noLocal: options.noLocal ?? false,
      retainAsPublished: options.retainAsPublished ?? false,
      retainHandling: options.retainHandling ?? 0,
    };
    if (shared) subscription.shareName = shared.shareName;
    const existed = this.host.ctx.subscribe(this.session, subscription);
    this.host.sendRetained(this.session, subscription, existed);
  }

  unsubscribe(filter: string): boolean {
    return this.host.ctx.unsubscribe(this.session, filter);
  }

  publish(message: LocalPublish): number {
    this.messagesIn++;
    return this.host.ctx.route({ ...message, properties: message.properties ?? {}, origin: this.clientId });
  }

  publishDurable(message: LocalPublish, releaseId?: number): Promise<number> {
    const { persistence } = this.host.ctx;
    const before = persistence.writes;
    const reached = this.publish(message);
    // The upstream QoS 2 id goes into the same commit as the message: a crash leaves both or neither.
    if (releaseId !== undefined) this.session.addAwaitingRelease(releaseId);
    const durable = persistence.commitSince(before);
    return durable ? durable.then(() => reached) : Promise.resolve(reached);
  }
  isAwaitingRelease(packetId: number): boolean {
    return this.session.awaitingRelease.has(packetId);
  }

  release(packetId: number): Promise<void> {
    const { persistence } = this.host.ctx;
    const before = persistence.writes;
    this.session.release(packetId);
    return persistence.commitSince(before) ?? Promise.resolve();
  }

  forgetReleases(): void {
    for (const packetId of [...this.session.awaitingRelease]) this.session.release(packetId);
  }


  // ---- SessionOwner ---------------------------------------------------------------------

  deliver(delivery: Delivery): void {
    const { session } = this;
    if (delivery.qos === 0) {
      if (!this.paused) return this.handOut(delivery, 0, "new");
      if (this.options.queueQos0) this.enqueue(delivery);
      return;
    }
    if (this.paused || session.queue.length > 0 || session.inflight.size >= this.options.maxInflight) {
      return this.enqueue(delivery);
    }
    this.startInflight(delivery);
  }

  resume(): void {
    if (!this.attached) return;
    this.paused = false;
    for (const entry of [...this.session.inflight.values()]) this.resend(entry);
    this.pump();
  }

  takenOver(_cleanStart: boolean, reasonCode: number = ReasonCode.SessionTakenOver, reasonString = "session taken over"): WillMessage | null {
    this.logger.warn("in-process session taken over", { reasonCode, reason: reasonString });
    this.attached = false;
    this.paused = true;
    return null;
  }

  disconnect(reasonCode: number, reasonString?: string): void {
    if (!this.attached) return;
    this.logger.info("in-process session detached", { reasonCode, reason: reasonString });
    this.close();
  }

  describe(): OwnerSnapshot {
    return {
      address: "in-process",
      listener: "in-process",
      connectedAt: this.connectedAt,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesIn: 0,
      bytesOut: 0,
    };
  }

  // ---- LocalSession ---------------------------------------------------------------------

  acknowledge(packetId: number): void {
    this.session.complete(packetId);
    this.pump();
  }

  /**
   * Resolves once the PUBREC state is durable: only then may the owner send PUBREL, or a crash
   * in between would make it resend the PUBLISH for a flow the receiver already completed (and
   * forgot), which the receiver then delivers a second time.
   */
  received(packetId: number): Promise<void> {
    const entry = this.session.inflight.get(packetId);
    if (!entry || entry.state !== "awaitingAck") return Promise.resolve();
    const { persistence } = this.host.ctx;
    const before = persistence.writes;
    this.session.received(entry);
    return persistence.commitSince(before) ?? Promise.resolve();
  }

  pause(): void {
    this.paused = true;
  }

  close(): void {
    if (!this.attached) return;
    this.host.ctx.clock.clearInterval(this.ageTimer);
    this.attached = false;
    this.paused = true;
    this.host.ownerGone(this, this.session);
  }

  // ---- internals ------------------------------------------------------------------------

  private enqueue(delivery: Delivery): void {
    const { ctx } = this.host;
    if (!this.session.enqueue(delivery, ctx.limits, ctx.clock.now(), this.reportDrops)) this.counted(1, "queueFull");
  }

  private readonly reportDrops: QueueDropReport = (why, dropped) => this.counted(dropped, why);

  /** Count drops; warn once per episode (until the queue runs empty). */
  private counted(dropped: number, why: DropReason): void {
    countDrop(this.host.ctx.counters, why, dropped);
    if (this.episodeDrops === 0) {
      const limits: QueueLimits = this.session.queueLimits ?? this.host.ctx.limits;
      this.logger.warn("session queue: dropping messages", {
        why,
        policy: limits.dropOldest ? "dropOldest" : "dropNewest",
        maxQueuedMessages: limits.maxQueuedMessages,
        maxQueuedBytes: limits.maxQueuedBytes,
        maxAgeMs: limits.maxAgeMs ?? 0,
      });
    }
    this.episodeDrops += dropped;
  }

  /** Hand out queued deliveries while the window allows. */
  private pump(): void {
    const { session } = this;
    const maxAge = session.queueLimits?.maxAgeMs ?? 0;
    if (maxAge > 0) {
      const dropped = session.dropOlderThan(this.host.ctx.clock.now() - maxAge);
      if (dropped > 0) this.counted(dropped, "maxAge");
    }
    while (!this.paused && session.queue.length > 0 && session.inflight.size < this.options.maxInflight) {
      const delivery = session.dequeue()!;
      const { expiresAt } = delivery.message;
      if (expiresAt !== undefined && expiresAt <= this.host.ctx.clock.now()) {
        session.discard(delivery); // expired while queued [v5 MQTT-3.3.2-5]
        countDrop(this.host.ctx.counters, "expired");
        continue;
      }
      if (delivery.qos === 0) this.handOut(delivery, 0, "new");
      else this.startInflight(delivery);
    }
    if (session.queue.length === 0 && this.episodeDrops > 0) {
      this.logger.info("session queue drained", { dropped: this.episodeDrops });
      this.episodeDrops = 0;
    }
  }

  private startInflight(delivery: Delivery): void {
    const { session } = this;
    const packetId = session.allocatePacketId();
    if (packetId === null) return this.enqueue(delivery);
    const { persistence } = this.host.ctx;
    const before = persistence.writes;
    session.startInflight(packetId, delivery);
    this.handOut(delivery, packetId, "new", persistence.commitSince(before));
  }

  private resend(entry: InflightEntry): void {
    this.handOut(entry.delivery, entry.packetId, entry.state === "awaitingComp" ? "awaitingComp" : "resend");
  }

  /** Give a delivery to the owner's callback, after `durable` (its journal write) and in order. */
  private handOut(delivery: Delivery, packetId: number, state: LocalDelivery["state"], durable: Promise<void> | null = null): void {
    const { message } = delivery;
    const local: LocalDelivery = {
      packetId,
      topic: message.topic,
      payload: message.payload,
      qos: delivery.qos,
      retain: delivery.retain,
      properties: message.properties,
      state,
    };
    if (message.expiresAt !== undefined) local.expiresAt = message.expiresAt;
    if (message.origin !== undefined) local.origin = message.origin;
    this.messagesOut++;
    const give = () => {
      if (!this.attached) return;
      try {
        this.onDelivery(local);
      } catch (e: unknown) {
        this.logger.error("in-process delivery failed", { topic: message.topic, error: errorText(e) });
      }
    };
    this.tail = this.tail.then(() => durable ?? undefined).then(give, (e: unknown) => {
      // Not durable: the delivery stays in flight in memory and is handed out again on resume.
      this.logger.error("store write failed: in-process delivery held back", { topic: message.topic, error: errorText(e) });
    });
  }
}
