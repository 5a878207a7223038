/**
 * A stand-in for the broker's `openLocalSession` (issue 11) built on the public API only
 * (`publish` and the `onPublished` hook): the same contract, but the queue lives in memory, so a
 * restart loses what was queued. Used until the broker offers durable local sessions.
 */
import type { Broker } from "../core/broker.ts";
import type { Message, QoS } from "../hooks/types.ts";
import type { Clock } from "../ports/clock.ts";
import { topicMatches } from "../protocol/topics.ts";
import { Deque } from "../util/deque.ts";
import type { LocalDelivery, LocalSession, LocalSessionOptions, OpenLocalSession } from "./local-session.ts";

interface Sub {
  qos: QoS;
  noLocal: boolean;
}

class VolatileSession implements LocalSession {
  readonly sessionPresent = false;
  private readonly subs = new Map<string, Sub>();
  private readonly queue = new Deque<{ delivery: LocalDelivery; at: number }>();
  private readonly inflight = new Map<number, LocalDelivery>();
  private queuedBytes = 0;
  private dropped = 0;
  private paused = false;
  private lastPacketId = 0;
  publishing = false;

  constructor(
    private readonly broker: Broker,
    private readonly clock: Clock,
    public options: LocalSessionOptions,
    public onDelivery: (d: LocalDelivery) => void,
  ) {}

  get clientId(): string {
    return this.options.clientId;
  }

  get stats() {
    return {
      inflight: this.inflight.size,
      queued: this.queue.length,
      queuedBytes: this.queuedBytes,
      dropped: this.dropped,
      oldestQueuedAt: this.queue.peek()?.at,
    };
  }

  subscribe(filter: string, options: { qos: QoS; noLocal?: boolean }): void {
    this.subs.set(filter, { qos: options.qos, noLocal: options.noLocal ?? false });
  }

  unsubscribe(filter: string): boolean {
    return this.subs.delete(filter);
  }

  publish(options: Parameters<Broker["publish"]>[0]): number {
    this.publishing = true;
    try {
      return this.broker.publish(options);
    } finally {
      this.publishing = false;
    }
  }

  /** A message published on the broker: queue it when one of our subscriptions matches. */
  offer(message: Message, ours: boolean): void {
    let qos = -1;
    for (const [filter, sub] of this.subs) {
      if (sub.noLocal && ours) continue;
      if (topicMatches(filter, message.topic)) qos = Math.max(qos, Math.min(sub.qos, message.qos));
    }
    if (qos < 0) return;
    const delivery: LocalDelivery = {
      packetId: 0,
      topic: message.topic,
      payload: message.payload,
      qos: qos as QoS,
      retain: message.retain,
      properties: message.properties,
      expiresAt: message.expiresAt,
      state: "new",
    };
    const limits = this.options.queue ?? {};
    const size = delivery.payload.length;
    if (
      (limits.maxMessages !== undefined && this.queue.length >= limits.maxMessages) ||
      (limits.maxBytes !== undefined && this.queuedBytes + size > limits.maxBytes)
    ) {
      this.dropped++;
      return;
    }
    this.queue.push({ delivery, at: this.clock.now() });
    this.queuedBytes += size;
    this.pump();
  }

  acknowledge(packetId: number): void {
    if (this.inflight.delete(packetId)) this.pump();
  }

  received(packetId: number): void {
    const d = this.inflight.get(packetId);
    if (d) d.state = "awaitingComp";
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const d of [...this.inflight.values()]) {
      if (d.state === "new") d.state = "resend";
      this.onDelivery({ ...d });
    }
    this.pump();
  }

  /** Detach: messages keep queueing (the session lives on) until it is opened again. */
  close(): void {
    this.paused = true;
  }

  private pump(): void {
    while (!this.paused && this.inflight.size < this.options.maxInflight && this.queue.length > 0) {
      const { delivery } = this.queue.shift()!;
      this.queuedBytes -= delivery.payload.length;
      if (delivery.qos > 0) {
        delivery.packetId = this.nextPacketId();
        this.inflight.set(delivery.packetId, delivery);
      }
      this.onDelivery({ ...delivery });
    }
  }

  private nextPacketId(): number {
    do this.lastPacketId = this.lastPacketId >= 65_535 ? 1 : this.lastPacketId + 1;
    while (this.inflight.has(this.lastPacketId));
    return this.lastPacketId;
  }
}

const sessions = new WeakMap<Broker, Map<string, VolatileSession>>();

/** openLocalSession for `broker`, held in memory. */
export function volatileSessions(broker: Broker, clock: Clock): OpenLocalSession {
  let registry = sessions.get(broker);
  if (!registry) {
    const all = new Map<string, VolatileSession>();
    registry = all;
    sessions.set(broker, all);
    broker.addHooks({
      onPublished: (_client, message) => {
        if (message.topic.startsWith("$SYS/")) return;
        for (const session of all.values()) session.offer(message, session.publishing);
      },
    });
  }
  const open = registry;
  return (options, onDelivery) => {
    const existing = open.get(options.clientId);
    if (existing && !options.cleanStart) {
      existing.options = options;
      existing.onDelivery = onDelivery;
      return existing;
    }
    const session = new VolatileSession(broker, clock, options, onDelivery);
    open.set(options.clientId, session);
    return session;
  };
}
