/**
 * The broker: sessions, routing, wills and the public in-process API.
 *
 * Design note on connection takeover (MQTT 5 section 3.1.4): a CONNECT for a client id that is
 * already connected detaches the session from the old connection first, then disconnects it
 * (v5 reason 0x8E). The old connection's will is published at once unless it has a Will Delay
 * Interval, which the new connection cancels; if the new connection starts clean, the old
 * session ends and any will still pending is published then.
 */
import type { Config } from "../config/schema.ts";
import { HookRunner } from "../hooks/runner.ts";
import type { Hooks, Message, MessageProperties, QoS } from "../hooks/types.ts";
import { type Clock, systemClock } from "../ports/clock.ts";
import { type Logger, silentLogger } from "../ports/logger.ts";
import type { ConnectionEvents, Transport } from "../ports/transport.ts";
import { ReasonCode } from "../protocol/reason-codes.ts";
import { MemoryStore } from "../store/memory.ts";
import type { Store } from "../store/types.ts";
import { Connection } from "./connection.ts";
import { LogThrottle } from "./log-throttle.ts";
import type { BrokerContext, Counters, WillMessage } from "./context.ts";
import { Persistence } from "./persistence.ts";
import { DelayedWills, willMessage } from "./wills.ts";
import { RetainedStore } from "./retained.ts";
import { type Delivery, Session } from "./session.ts";
import { mergeTarget, pickMember, type Target } from "./routing.ts";
import { SysTopics } from "./sys-topics.ts";
import { type SharedGroup, type Subscription, TopicIndex } from "./topic-index.ts";

export interface PublishOptions {
  topic: string;
  payload: Uint8Array | string;
  qos?: QoS;
  retain?: boolean;
  properties?: MessageProperties;
  /** v5 Message Expiry Interval in seconds. */
  messageExpiryInterval?: number;
}

export interface BrokerStats extends Counters {
  startedAt: number;
  clientsConnected: number;
  sessions: number;
  subscriptions: number;
  retained: number;
}

/** How a listener's connections differ from the broker's defaults. */
export interface ListenerOptions {
  /** Names the listener in logs and for its connection count, e.g. "tcp 0.0.0.0:1883". */
  name: string;
  /** Most connections through this listener at once (0 = no limit of its own). */
  maxConnections?: number;
  /** MQTT limits overriding the broker's for connections on this listener. */
  limits?: Partial<Config["mqtt"]>;
  /** tls/wss: a verified client certificate authenticates the client; its Common Name is the user name. */
  useCertificateCnAsUsername?: boolean;
}

export interface Broker {
  /** Load the store's state (sessions, subscriptions, queued messages, retained, wills). Call once before accepting. */
  start(): Promise<void>;
  accept(transport: Transport, listener?: ListenerOptions): ConnectionEvents;
  /** Publish from inside the process (admin API, bridges); returns how many sessions it reached. */
  publish(options: PublishOptions): number;
  addHooks(hooks: Hooks): void;
  /** New MQTT limits (SIGHUP): they apply to connections made from now on; connected clients keep theirs. */
  updateLimits(limits: Config["mqtt"]): void;
  readonly stats: BrokerStats;
  /** Disconnect every client (v5: reason 0x8B Server shutting down), stop timers, close the store. */
  close(): Promise<void>;
}

export interface BrokerPorts {
  logger?: Logger;
  clock?: Clock;
  hooks?: Hooks[];
  /** Durable state; the memory store (nothing survives a restart) when absent. */
  store?: Store;
  /** Shown in $SYS/broker/version, e.g. "bun 1.4.5". */
  runtime?: string;
}

const NEVER_EXPIRES = 0xffffffff;
const utf8 = new TextEncoder();

class BrokerImpl implements Broker, BrokerContext {
  limits: Config["mqtt"];
  readonly clock: Clock;
  readonly logger: Logger;
  readonly connectionLog: LogThrottle;
  readonly hooks: HookRunner;
  readonly index = new TopicIndex();
  readonly retained = new RetainedStore();
  readonly persistence: Persistence;
  readonly counters: Counters = {
    clientsTotal: 0,
    messagesReceived: 0,
    messagesSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    publishDropped: 0,
  };
  private readonly sessions = new Map<string, Session>();
  private readonly connections = new Set<Connection>();
  private readonly perListener = new Map<string, number>();
  private readonly wills: DelayedWills;
  private readonly sys: SysTopics;
  private readonly startedAt: number;

  constructor(config: Config, ports: BrokerPorts) {
    this.limits = config.mqtt;
    this.clock = ports.clock ?? systemClock;
    this.logger = ports.logger ?? silentLogger;
    this.connectionLog = new LogThrottle(this.clock, 50);
    this.hooks = new HookRunner([...(ports.hooks ?? [])], this.logger);
    this.persistence = new Persistence(ports.store ?? new MemoryStore());
    this.wills = new DelayedWills(this.clock, this.persistence, (will) => this.publishWill(will));
    this.startedAt = this.clock.now();
    this.sys = new SysTopics(this, config.sys.interval, ports.runtime ?? "");
  }

  get stats(): BrokerStats {
    let connected = 0;
    for (const c of this.connections) if (c.connected) connected++;
    return {
      ...this.counters,
      startedAt: this.startedAt,
      clientsConnected: connected,
      sessions: this.sessions.size,
      subscriptions: this.index.size,
      retained: this.retained.size,
    };
  }

  async start(): Promise<void> {
    const { sessions, retained } = await this.persistence.restore();
    const now = this.clock.now();
    for (const message of retained) this.retained.set(message);
    for (const { session, will } of sessions) {
      this.sessions.set(session.clientId, session);
      for (const subscription of session.subscriptions.values()) this.index.add(subscription);
      // A session that was connected when the broker stopped counts as disconnected now.
      if (session.disconnectedAt === 0) session.disconnectedAt = now;
      if (will) this.wills.restore(session, will);
      this.startExpiry(session, session.disconnectedAt + session.expiryInterval * 1000 - now);
    }
    this.logger.info("state restored", { sessions: sessions.length, retained: retained.length });
  }

  accept(transport: Transport, listener?: ListenerOptions): ConnectionEvents {
    const key = listener?.name ?? "";
    const onListener = this.perListener.get(key) ?? 0;
    const refusal = this.limits.maxConnections > 0 && this.connections.size >= this.limits.maxConnections
      ? { limit: this.limits.maxConnections, scope: "broker" }
      : listener?.maxConnections && onListener >= listener.maxConnections
      ? { limit: listener.maxConnections, scope: `listener ${key}` }
      : null;
    if (!refusal && !this.hooks.admit(transport.remote)) {
      this.connectionLog.info(this.logger, "connection refused: address banned", {
        remote: `${transport.remote.address}:${transport.remote.port}`,
      });
      transport.close();
      return { onData: () => {}, onDrain: () => {}, onClose: () => {} };
    }
    if (refusal) {
      this.connectionLog.warn(this.logger, "connection refused: too many connections", {
        remote: `${transport.remote.address}:${transport.remote.port}`,
        ...refusal,
      });
      transport.close();
      return { onData: () => {}, onDrain: () => {}, onClose: () => {} };
    }
    const limits = listener?.limits ? { ...this.limits, ...listener.limits } : this.limits;
    const connection = new Connection(this, transport, limits);
    connection.useCertificateCnAsUsername = listener?.useCertificateCnAsUsername ?? false;
    this.connections.add(connection);
    this.perListener.set(key, onListener + 1);
    const events = connection.events();
    return {
      onData: events.onData,
      onDrain: events.onDrain,
      onClose: () => {
        events.onClose();
        if (this.connections.delete(connection)) this.perListener.set(key, (this.perListener.get(key) ?? 1) - 1);
      },
    };
  }

  addHooks(hooks: Hooks): void {
    this.hooks.add(hooks);
  }

  updateLimits(limits: Config["mqtt"]): void {
    this.limits = limits;
  }

  assignClientId(): string {
    return `gannet-${crypto.randomUUID()}`;
  }

  // ---- sessions -------------------------------------------------------------------------

  openSession(
    connection: Connection,
    clientId: string,
    cleanStart: boolean,
    expiryInterval: number,
  ): { session: Session; present: boolean } {
    this.counters.clientsTotal++;
    let session = this.sessions.get(clientId);
    if (session?.owner) {
      const old = session.owner as Connection;
      session.owner = null;
      old.logger.info("session taken over by a new connection", { clientId });
      this.handleTakenOverWill(old, cleanStart);
      old.disconnect(ReasonCode.SessionTakenOver, "session taken over");
    }
    if (session) {
      this.clock.clearTimeout(session.expiryTimer);
      // A new connection before the Will Delay Interval cancels the will, unless the session ends now.
      const will = this.wills.cancel(session);
      if (will && cleanStart) this.publishWill(will);
    }
    const present = !!session && !cleanStart;
    if (session && cleanStart) this.endSession(session);
    if (!session || !present) {
      session = new Session(clientId);
      this.sessions.set(clientId, session);
    }
    if (present && session.droppedMessages > 0) {
      connection.logger.info("messages were dropped while the client was away", { clientId, dropped: session.droppedMessages });
    }
    session.droppedMessages = 0; // from now on, drops are the connection's to report
    session.owner = connection;
    session.expiryInterval = expiryInterval;
    this.persistence.setPersistent(session, expiryInterval > 0, true);
    return { session, present };
  }

  /** The old connection of a takeover: its will goes now unless delayed (the new connection cancels it). */
  private handleTakenOverWill(old: Connection, cleanStart: boolean): void {
    const will = old.will;
    old.discardWill();
    if (will && (will.delayInterval === 0 || cleanStart)) this.publishWill(will);
  }

  connectionClosed(connection: Connection, will: WillMessage | null): void {
    const session = connection.session;
    this.hooks.notify("onDisconnected", connection.info, "closed");
    if (!session || session.owner !== connection) return;
    session.owner = null;
    session.droppedMessages = 0; // counts the drops while offline
    session.disconnectedAt = this.clock.now();
    connection.logger.info("client gone", { sessionExpiry: session.expiryInterval });
    if (session.journal) this.persistence.saveSession(session, false);
    if (will) {
      const delay = Math.min(will.delayInterval, session.expiryInterval);
      if (delay === 0) this.publishWill(will);
      else this.wills.schedule(session, will, delay * 1000, true);
    }
    if (session.expiryInterval === 0) this.endSession(session);
    else this.startExpiry(session, session.expiryInterval * 1000);
  }

  private startExpiry(session: Session, remainingMs: number): void {
    if (session.expiryInterval === NEVER_EXPIRES) return;
    if (remainingMs <= 0) return this.endSession(session);
    session.expiryTimer = this.clock.setTimeout(() => {
      this.logger.info("session expired", { clientId: session.clientId });
      this.endSession(session);
    }, remainingMs);
  }

  /** Remove a session and its subscriptions; a will still waiting goes out now (the session ended). */
  private endSession(session: Session): void {
    for (const subscription of session.subscriptions.values()) this.index.remove(subscription);
    session.subscriptions.clear();
    this.clock.clearTimeout(session.expiryTimer);
    const will = this.wills.cancel(session);
    if (will) this.publishWill(will);
    this.persistence.setPersistent(session, false, false);
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
  }

  private publishWill(will: WillMessage): void {
    const message = willMessage(will, this.clock.now());
    this.logger.debug("publishing will", { clientId: message.origin, topic: message.topic });
    this.route(message);
  }

  subscribe(session: Session, subscription: Subscription): boolean {
    const existed = session.setSubscription(subscription);
    this.index.add(subscription);
    return existed;
  }

  unsubscribe(session: Session, key: string): boolean {
    const subscription = session.deleteSubscription(key);
    if (!subscription) return false;
    this.index.remove(subscription);
    return true;
  }

  // ---- routing --------------------------------------------------------------------------

  /** Keep a retained message (clients' publishes were checked against the limit; wills are here). */
  private retain(message: Message): void {
    if (message.payload.length > 0 && !this.retained.accepts(message.topic, this.limits.maxRetainedMessages)) {
      this.connectionLog.info(this.logger, "retained message not kept: limit reached", {
        topic: message.topic,
        limit: this.limits.maxRetainedMessages,
      });
      return;
    }
    this.retained.set(message);
    // $SYS is recomputed every interval: storing it would only wear the gateway's flash.
    if (!message.topic.startsWith("$SYS/")) this.persistence.saveRetained(message);
  }

  route(original: Message): number {
    const message = this.hooks.beforePublish(undefined, original);
    if (!message) return 0;
    if (message.retain) this.retain(message);
    const targets = new Map<string, Target>();
    const groups: SharedGroup[] = [];
    this.index.match(message.topic, {
      subscription: (s) => mergeTarget(targets, s, message, this.sessions),
      sharedGroup: (g) => groups.push(g),
    });
    let count = 0;
    for (const target of targets.values()) {
      count++;
      this.deliverTo(target.session, {
        message,
        qos: Math.min(message.qos, target.qos) as QoS,
        retain: target.retainAsPublished && message.retain,
        subscriptionIdentifiers: target.subscriptionIdentifiers,
      });
    }
    for (const group of groups) {
      const member = pickMember(group, this.sessions);
      if (!member) continue;
      count++;
      this.deliverTo(this.sessions.get(member.clientId)!, {
        message,
        qos: Math.min(message.qos, member.qos) as QoS,
        retain: member.retainAsPublished && message.retain,
        subscriptionIdentifiers: member.subscriptionIdentifier !== undefined ? [member.subscriptionIdentifier] : undefined,
      });
    }
    this.hooks.notify("onPublished", undefined, message);
    return count;
  }

  deliverTo(session: Session, delivery: Delivery): void {
    if (session.owner) {
      session.owner.deliver(delivery);
      return;
    }
    if (delivery.qos === 0 && !this.limits.queueQos0) return;
    if (!session.enqueue(delivery, this.limits)) {
      this.counters.publishDropped++;
      // One line when an offline session starts losing messages; the count comes when it is back.
      if (session.droppedMessages !== 1) return;
      const { maxQueuedMessages, maxQueuedBytes } = this.limits;
      this.connectionLog.warn(this.logger, "session queue full: dropping messages for an offline client", {
        clientId: session.clientId,
        maxQueuedMessages,
        maxQueuedBytes,
      });
    }
  }

  publish(options: PublishOptions): number {
    const message: Message = {
      topic: options.topic,
      payload: typeof options.payload === "string" ? utf8.encode(options.payload) : options.payload,
      qos: options.qos ?? 0,
      retain: options.retain ?? false,
      properties: options.properties ?? {},
    };
    if (options.messageExpiryInterval !== undefined) {
      message.expiresAt = this.clock.now() + options.messageExpiryInterval * 1000;
    }
    return this.route(message);
  }

  async close(): Promise<void> {
    this.sys.stop();
    for (const connection of [...this.connections]) {
      connection.disconnect(ReasonCode.ServerShuttingDown, "server shutting down");
    }
    for (const session of this.sessions.values()) this.clock.clearTimeout(session.expiryTimer);
    this.wills.stopTimers();
    // Give the adapters time to flush the DISCONNECT packets and close (bounded: 2 s).
    const deadline = this.clock.now() + 2000;
    while (this.connections.size > 0 && this.clock.now() < deadline) {
      await new Promise((resolve) => this.clock.setTimeout(() => resolve(undefined), 20));
    }
    // Pending delayed wills and session expiry stay in the store and resume at the next start.
    await this.persistence.store.close();
  }
}

export function createBroker(config: Config, ports: BrokerPorts = {}): Broker {
  return new BrokerImpl(config, ports);
}
