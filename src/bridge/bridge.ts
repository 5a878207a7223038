/**
 * One bridge: a local session (its durable store-and-forward queue) on one side, an upstream
 * link on the other, and the state machine between them.
 *
 * States: connecting -> connected; a failed attempt or a lost link -> backingOff (or stalled when
 * the link stopped answering) -> connecting again after an exponential delay with jitter;
 * stopped when removed or at shutdown. The bridge is "connected" only while CONNACK has come and
 * the link answers: a half-open link turns it stalled (see link.ts).
 *
 * Delivery rule: a QoS 1/2 message leaves the local session only when the upstream acknowledged
 * it (PUBACK, or PUBCOMP after the PUBREC was recorded through `received`), so what the local
 * publisher had acknowledged survives outages; the session hands deliveries out in order and
 * resends the in-flight ones first after a reconnect (DUP set; PUBREL for awaitingComp).
 *
 * Loops: `out` subscriptions on the local session use No Local, and `in` messages are published
 * through that same session (origin = its client id), so nothing that came in goes back out, for
 * 3.1.1 upstreams too; v5 upstream subscriptions use No Local as well.
 */
import type { BridgeConfig } from "../config/schema.ts";
import { parseDuration, parseSize } from "../config/schema.ts";
import type { QoS } from "../model/message.ts";
import type { Clock, TimerHandle } from "../ports/clock.ts";
import type { Dial } from "../ports/dial.ts";
import type { Logger } from "../ports/logger.ts";
import { Deque } from "../util/deque.ts";
import { BRIDGE_CLIENT_ID_PREFIX, type Broker } from "../core/broker-api.ts";
import type { BridgeSnapshot } from "../core/management.ts";
import type { LocalDelivery, LocalSession, LocalSessionStats } from "../core/local-session.ts";
import { type InboundMessage, UpstreamLink, type UpstreamLimits } from "./link.ts";
import { firstMatch, type TopicMapping } from "./topics.ts";
import { parseUrl, rulesOverlap } from "./rules.ts";
import { EchoFilter } from "./echo-filter.ts";

export type BridgeState = BridgeSnapshot["state"];

/** A bridge's status: the broker's BridgeSnapshot (admin API, /metrics, $SYS). */
export type BridgeStatus = BridgeSnapshot;

/** Secrets and PEM texts the app read from files (the bridge reads no files). */
export interface BridgeSecrets {
  password?: string;
  tls?: { ca?: string; cert?: string; key?: string };
}

export interface BridgeDeps {
  openSession: Broker["openLocalSession"];
  dial: Dial;
  clock: Clock;
  logger: Logger;
}

const NEVER_EXPIRES = 0xffffffff;

export class Bridge {
  state: BridgeState = "stopped";
  since: number;
  lastError: string | undefined;
  private forwarded = 0;
  private received = 0;
  private dropped = 0;
  private session: LocalSession | null = null;
  private link: UpstreamLink | null = null;
  private limits: UpstreamLimits | null = null;
  private attempt = 0;
  private retryTimer: TimerHandle = null;
  private rateTimer: TimerHandle = null;
  /** Deliveries handed out by the session and not yet written (window full, rate, socket busy). */
  private readonly ready = new Deque<LocalDelivery>();
  /** Packet ids written to the upstream and not yet acknowledged. */
  private readonly unacked = new Set<number>();
  /**
   * Packet ids ready or unacknowledged on this link. The session hands out a delivery once its
   * journal write is durable, so one handed out before a pause can arrive after the resume that
   * hands it out again: it must go out once, or its ack could complete a later message that
   * reuses the packet id.
   */
  private readonly held = new Set<number>();
  private writable = true;
  private nextSendAt = 0;
  private readonly outMappings: TopicMapping[];
  private readonly inMappings: TopicMapping[];
  private readonly clientId: string;
  private readonly logger: Logger;
  /** 3.1.1 upstreams whose in rules overlap out rules: drops our own messages coming back. */
  private readonly echoes: EchoFilter | null;

  constructor(readonly config: BridgeConfig, private readonly secrets: BridgeSecrets, private readonly deps: BridgeDeps) {
    this.since = deps.clock.now();
    this.outMappings = config.out.map((r) => ({ from: r.local, to: r.remote ?? r.local, qos: r.qos }));
    this.inMappings = config.in.map((r) => ({ from: r.remote, to: r.local ?? r.remote, qos: r.qos }));
    this.clientId = config.clientId ?? `gannet-${config.name}`;
    this.logger = deps.logger;
    const overlapping = rulesOverlap(this.outMappings, this.inMappings);
    this.echoes = config.protocolVersion === 4 && overlapping ? new EchoFilter(deps.clock, config.keepalive * 2000) : null;
  }

  /** The local session's client id: `bridge:<name>` (its queue is the bridge's queue). */
  get localClientId(): string {
    return BRIDGE_CLIENT_ID_PREFIX + this.config.name;
  }

  start(): void {
    const { config } = this;
    this.session = this.deps.openSession({
      clientId: this.localClientId,
      cleanStart: false,
      sessionExpiryInterval: NEVER_EXPIRES,
      maxInflight: config.maxInflight,
      queue: {
        maxMessages: config.queue.maxMessages,
        maxBytes: parseSize(config.queue.maxBytes),
        maxAgeMs: parseDuration(config.queue.maxAge) || undefined,
        whenFull: config.queue.whenFull,
      },
      queueQos0: config.queue.qos0,
    }, (d) => this.onDelivery(d));
    this.session.pause();
    // retainHandling 1: retained messages only for a new subscription, not again at every start or reload.
    for (const rule of config.out) {
      this.session.subscribe(rule.local, { qos: rule.qos, noLocal: true, retainAsPublished: true, retainHandling: 1 });
    }
    this.connect();
  }

  /** Stop for good (removed, changed or shutdown); the local session and its queue stay. */
  stop(): void {
    this.clearTimers();
    this.link?.close();
    this.link = null;
    this.session?.pause();
    this.session?.close();
    this.session = null;
    this.setState("stopped");
  }

  /** Forget the out subscriptions this configuration no longer has (a changed bridge keeps its queue). */
  unsubscribeExcept(filters: ReadonlySet<string>, previous: BridgeConfig): void {
    for (const rule of previous.out) if (!filters.has(rule.local)) this.session?.unsubscribe(rule.local);
  }

  status(): BridgeStatus {
    const stats: LocalSessionStats = this.session?.stats ?? { inflight: 0, queued: 0, queuedBytes: 0, dropped: 0 };
    const oldest = stats.oldestQueuedAt;
    return {
      name: this.config.name,
      url: this.config.url.replace(/\/\/[^@/]*@/, "//"),
      state: this.state,
      since: this.since,
      lastError: this.lastError,
      queued: stats.queued,
      queuedBytes: stats.queuedBytes,
      inflight: stats.inflight,
      oldestQueuedAge: oldest === undefined ? 0 : Math.max(0, Math.floor((this.deps.clock.now() - oldest) / 1000)),
      forwarded: this.forwarded,
      received: this.received,
      dropped: this.dropped + stats.dropped,
    };
  }

  private setState(state: BridgeState, error?: string): void {
    if (error !== undefined) this.lastError = error;
    if (state === this.state) return;
    this.state = state;
    this.since = this.deps.clock.now();
  }

  private clearTimers(): void {
    this.deps.clock.clearTimeout(this.retryTimer);
    this.deps.clock.clearTimeout(this.rateTimer);
    this.retryTimer = null;
    this.rateTimer = null;
  }

  private connect(): void {
    const { config, secrets } = this;
    // After a stall the bridge stays "stalled" until an attempt connects or fails otherwise.
    if (this.state !== "stalled") this.setState("connecting");
    const endpoint = parseUrl(config.url);
    const link = new UpstreamLink({
      dial: {
        ...endpoint,
        tls: endpoint.kind === "tls" || endpoint.kind === "wss"
          ? { ...secrets.tls, servername: config.tls?.servername, verify: config.tls?.verify ?? true }
          : undefined,
        timeoutMs: Math.max(5000, config.keepalive * 1000),
      },
      protocolVersion: config.protocolVersion,
      clientId: this.clientId,
      username: config.username,
      password: secrets.password,
      keepalive: config.keepalive,
      cleanStart: config.cleanStart,
      sessionExpiry: config.sessionExpiry,
    }, this.deps.clock, {
      onAck: (kind, packetId, code) => this.onAck(kind, packetId, code),
      onMessage: (message, releaseId) => this.onInbound(message, releaseId),
      isAwaitingRelease: (packetId) => this.session?.isAwaitingRelease(packetId) ?? false,
      onRelease: (packetId) => this.session?.release(packetId),
      onWritable: () => {
        this.writable = true;
        this.pump();
      },
      onClose: (error) => this.lost(error),
    });
    this.link = link;
    link.open(this.deps.dial).then(
      (limits) => this.established(link, limits),
      (e: unknown) => {
        if (this.link !== link) return;
        this.link = null;
        this.retry(e instanceof Error ? e.message : String(e));
      },
    );
  }

  private async established(link: UpstreamLink, limits: UpstreamLimits): Promise<void> {
    if (this.link !== link) return link.close();
    this.limits = limits;
    // A new upstream session reuses packet ids: QoS 2 ids kept from the old one must not hide its messages.
    if (!limits.sessionPresent) this.session?.forgetReleases();
    if (this.inMappings.length > 0) {
      try {
        const granted = await link.subscribe(1, this.inMappings.map((m) => ({ topic: m.from, qos: m.qos, noLocal: true })));
        const refused = this.inMappings.filter((_, i) => (granted[i] ?? 0x80) >= 0x80).map((m) => m.from);
        if (refused.length > 0) this.logger.warn("bridge: the upstream refused subscriptions", { bridge: this.config.name, filters: refused });
      } catch (e: unknown) {
        if (this.link === link) this.lost(e instanceof Error ? e.message : String(e));
        return;
      }
    }
    if (this.link !== link) return;
    this.attempt = 0;
    this.writable = true;
    this.setState("connected");
    this.logger.info("bridge connected", {
      bridge: this.config.name,
      url: this.status().url,
      sessionPresent: limits.sessionPresent,
      receiveMaximum: limits.receiveMaximum,
      queued: this.session?.stats.queued ?? 0,
    });
    this.session?.resume();
    this.pump();
  }

  /** The link went down after it was up. */
  private lost(error?: string): void {
    this.link?.close();
    this.link = null;
    this.logger.warn(error?.startsWith("stalled") ? "bridge stalled" : "bridge connection lost", {
      bridge: this.config.name,
      error: error ?? "closed",
    });
    this.retry(error ?? "closed", error?.startsWith("stalled") ? "stalled" : "backingOff");
  }

  private retry(error: string, state: BridgeState = "backingOff"): void {
    this.session?.pause();
    this.ready.clear();
    this.unacked.clear();
    this.held.clear();
    this.deps.clock.clearTimeout(this.rateTimer);
    const min = parseDuration(this.config.reconnect.min) ?? 1000;
    const max = parseDuration(this.config.reconnect.max) ?? 60_000;
    const base = Math.min(max, min * 2 ** Math.min(this.attempt, 30));
    const delay = Math.round(base / 2 + Math.random() * (base / 2)); // jitter: between half and all of it
    this.attempt++;
    this.setState(error.startsWith("stalled") ? "stalled" : state, error);
    if (state !== "stalled") {
      this.logger.warn("bridge: cannot connect to the upstream, will retry", {
        bridge: this.config.name,
        url: this.status().url,
        error,
        attempt: this.attempt,
        retryInMs: delay,
      });
    }
    this.retryTimer = this.deps.clock.setTimeout(() => {
      this.retryTimer = null;
      if (this.state !== "stopped") this.connect();
    }, delay);
  }

  private onDelivery(d: LocalDelivery): void {
    if (this.state !== "connected") {
      // QoS 1/2 stays in flight in the session and comes again on resume. QoS 0 handed out
      // before the pause is lost with the link, as QoS 0 may be.
      if (d.qos === 0) this.dropped++;
      return;
    }
    if (d.qos > 0) {
      if (this.held.has(d.packetId)) return;
      this.held.add(d.packetId);
    }
    this.ready.push(d);
    this.pump();
  }

  /** Write ready deliveries within the upstream's window, the socket's buffer and the rate. */
  private pump(): void {
    const link = this.link;
    if (!link || this.state !== "connected" || !this.limits) return;
    const window = Math.min(this.limits.receiveMaximum, this.config.maxInflight);
    const interval = this.config.rate > 0 ? 1000 / this.config.rate : 0;
    while (this.writable && this.ready.length > 0) {
      const next = this.ready.peek()!;
      if (next.qos > 0 && this.unacked.size >= window && !this.unacked.has(next.packetId)) return;
      if (interval > 0) {
        const now = this.deps.clock.now();
        if (now < this.nextSendAt) {
          this.deps.clock.clearTimeout(this.rateTimer);
          this.rateTimer = this.deps.clock.setTimeout(() => this.pump(), this.nextSendAt - now);
          return;
        }
        this.nextSendAt = Math.max(now, this.nextSendAt) + interval;
      }
      this.ready.shift();
      this.writable = this.send(link, next);
    }
  }

  private send(link: UpstreamLink, d: LocalDelivery): boolean {
    if (d.state === "awaitingComp") {
      this.unacked.add(d.packetId);
      return link.release(d.packetId);
    }
    const match = firstMatch(this.outMappings, d.topic);
    const limits = this.limits!;
    if (!match) {
      // Subscribed filters and rules are the same list, so this is a rule removed by a reload.
      if (d.qos > 0) this.done(d.packetId);
      return true;
    }
    const qos = Math.min(d.qos, match.mapping.qos, limits.maximumQoS) as QoS;
    const rule = this.config.out.find((r) => r.local === match.mapping.from);
    const left = d.expiresAt === undefined ? undefined : Math.ceil((d.expiresAt - this.deps.clock.now()) / 1000);
    if (left !== undefined && left <= 0 && d.state === "new") {
      this.dropped++;
      if (d.qos > 0) this.done(d.packetId);
      return true;
    }
    if (d.qos > 0 && qos === 0) {
      // Sent at QoS 0 (rule or upstream maximum): done once written.
      this.echoes?.sentOut(match.topic, d.payload);
      const ok = link.publish({ ...this.outbound(d, match.topic, rule?.retain), qos: 0, packetId: 0, dup: false });
      this.done(d.packetId);
      this.forwarded++;
      return ok;
    }
    if (qos > 0) this.unacked.add(d.packetId);
    this.echoes?.sentOut(match.topic, d.payload);
    const ok = link.publish({
      ...this.outbound(d, match.topic, rule?.retain),
      qos,
      packetId: d.packetId,
      dup: d.state === "resend",
      messageExpiryInterval: left === undefined ? undefined : Math.max(0, left),
    });
    if (qos === 0) this.forwarded++;
    return ok;
  }

  private outbound(d: LocalDelivery, topic: string, keepRetain = true) {
    return {
      topic,
      payload: d.payload,
      retain: keepRetain && d.retain && (this.limits?.retainAvailable ?? true),
      properties: d.properties,
    };
  }

  private onAck(kind: "puback" | "pubrec" | "pubcomp", packetId: number, code: number): void {
    const session = this.session;
    if (!session || !this.unacked.has(packetId)) return;
    if (kind === "pubrec" && code < 0x80) {
      // PUBREL only once the PUBREC state is durable [v5 MQTT-4.3.3-6]: after a crash we then send
      // PUBREL again, never the PUBLISH of a flow the upstream may have completed and forgotten.
      const link = this.link;
      session.received(packetId).then(
        () => {
          if (this.link === link && this.unacked.has(packetId)) link?.release(packetId);
        },
        (e: unknown) => this.logger.error("bridge: cannot record PUBREC, PUBREL held back until reconnect", {
          bridge: this.config.name,
          error: e instanceof Error ? e.message : String(e),
        }),
      );
      return;
    }
    this.unacked.delete(packetId);
    this.held.delete(packetId);
    if (code >= 0x80) {
      this.dropped++;
      this.logger.warn("bridge: the upstream refused a message", {
        bridge: this.config.name,
        reasonCode: `0x${code.toString(16)}`,
      });
    } else {
      this.forwarded++;
    }
    session.acknowledge(packetId);
    this.pump();
  }

  /** A delivery finished without an upstream ack (QoS lowered to 0, expired, no rule). */
  private done(packetId: number): void {
    this.held.delete(packetId);
    this.session?.acknowledge(packetId);
  }

  /** A message from the upstream, published locally; resolves once it is durable (then the upstream gets its ack). */
  private onInbound(message: InboundMessage, releaseId?: number): Promise<unknown> | void {
    const match = firstMatch(this.inMappings, message.topic);
    if (!match || !this.session) return;
    if (this.echoes?.isEcho(message.topic, message.payload)) return;
    this.received++;
    return this.session.publishDurable({
      topic: match.topic,
      payload: message.payload,
      qos: message.qos,
      retain: message.retain,
      properties: message.properties,
      expiresAt: message.messageExpiryInterval === undefined
        ? undefined
        : this.deps.clock.now() + message.messageExpiryInterval * 1000,
    }, releaseId).catch((e: unknown) => {
      this.logger.error("bridge: cannot store a message from the upstream, not acknowledged (it will be resent)", {
        bridge: this.config.name,
        topic: match.topic,
        error: e instanceof Error ? e.message : String(e),
      });
      throw e;
    });
  }
}
