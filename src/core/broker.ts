/**
 * The broker: accepts connections, routes messages, and offers the public in-process API
 * (publish, the management queries and commands, in-process sessions). Session lifecycle is in
 * sessions.ts, matching in routing.ts, snapshots in management.ts; the interface itself is in
 * broker-api.ts.
 */
import type { Config } from "../config/schema.ts";
import { HookRunner } from "../hooks/runner.ts";
import type { Hooks } from "../hooks/types.ts";
import type { ClientInfo, Message, QoS } from "../model/message.ts";
import { type Clock, systemClock } from "../ports/clock.ts";
import { type Logger, silentLogger } from "../ports/logger.ts";
import type { ConnectionEvents, Transport } from "../ports/transport.ts";
import { ReasonCode } from "../protocol/reason-codes.ts";
import { MemoryStore } from "../store/memory.ts";
import { LogThrottle } from "../util/log-throttle.ts";
import { Connection } from "./connection.ts";
import { type BrokerContext, countDrop, type Counters, type WillMessage } from "./context.ts";
import { sendRetained } from "./handlers/subscribe.ts";
import { LocalOwner, type LocalDelivery, type LocalSession, type LocalSessionOptions } from "./local-session.ts";
import type { Broker, BrokerPorts, BrokerStats, ListenerOptions, PublishOptions } from "./broker-api.ts";
import * as management from "./management.ts";
import { Persistence } from "./persistence.ts";
import { RetainedStore } from "./retained.ts";
import { mergeTarget, pickMember, type Target } from "./routing.ts";
import type { Delivery, QueueDropReport, Session, SessionOwner } from "./session.ts";
import { Sessions } from "./sessions.ts";
import { SysTopics } from "./sys-topics.ts";
import { type SharedGroup, type Subscription, TopicIndex } from "./topic-index.ts";

const utf8 = new TextEncoder();
const noEvents: ConnectionEvents = { onData: () => {}, onDrain: () => {}, onClose: () => {} };

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
    droppedBy: { queueFull: 0, notReading: 0, tooLarge: 0, expired: 0, maxAge: 0 },
  };
  private readonly sessions: Sessions;
  private readonly connections = new Set<Connection>();
  private readonly perListener = new Map<string, number>();
  private connectionsPeak = 0;
  /** Every connection's afterClose (one function, not a closure per connection). */
  private readonly connectionGone = (connection: Connection): void => {
    const key = connection.listener;
    if (this.connections.delete(connection)) this.perListener.set(key, (this.perListener.get(key) ?? 1) - 1);
  };
  private readonly sys: SysTopics;
  private readonly startedAt: number;
  private bridgeStatus: (() => management.BridgeSnapshot[]) | null = null;

  constructor(config: Config, ports: BrokerPorts) {
    this.limits = config.mqtt;
    this.clock = ports.clock ?? systemClock;
    this.logger = ports.logger ?? silentLogger;
    this.connectionLog = new LogThrottle(this.clock, 50);
    this.hooks = new HookRunner([...(ports.hooks ?? [])], this.logger, this.clock);
    this.persistence = new Persistence(ports.store ?? new MemoryStore());
    this.sessions = new Sessions({
      clock: this.clock,
      logger: this.logger,
      persistence: this.persistence,
      index: this.index,
      publish: (message) => this.route(message),
    });
    this.startedAt = this.clock.now();
    this.sys = new SysTopics(this, config.sys.interval, ports.runtime ?? "");
  }

  get stats(): BrokerStats {
    let connected = 0;
    for (const c of this.connections) if (c.connected) connected++;
    let queued = 0;
    for (const session of this.sessions.values()) queued += session.queueLength;
    return {
      ...this.counters,
      droppedBy: { ...this.counters.droppedBy }, // a snapshot, not the live counters
      startedAt: this.startedAt,
      clientsConnected: connected,
      connectionsPeak: this.connectionsPeak,
      sessions: this.sessions.size,
      subscriptions: this.index.size,
      retained: this.retained.size,
      queued,
    };
  }

  async start(): Promise<void> {
    const { sessions, retained } = await this.persistence.restore();
    for (const message of retained) this.retained.set(message);
    this.sessions.restore(sessions);
    this.logger.info("state restored", { sessions: sessions.length, retained: retained.length });
  }

  accept(transport: Transport, listener?: ListenerOptions): ConnectionEvents {
    const key = listener?.name ?? "";
    const onListener = this.perListener.get(key) ?? 0;
    const remote = `${transport.remote.address}:${transport.remote.port}`;
    const refusal = this.limits.maxConnections > 0 && this.connections.size >= this.limits.maxConnections
      ? { limit: this.limits.maxConnections, scope: "broker" }
      : listener?.maxConnections && onListener >= listener.maxConnections
      ? { limit: listener.maxConnections, scope: `listener ${key}` }
      : null;
    if (!refusal && !this.hooks.admit(transport.remote)) {
      this.connectionLog.info(this.logger, "connection refused: address banned", { remote, listener: key || undefined });
      transport.close();
      return noEvents;
    }
    if (refusal) {
      this.connectionLog.warn(this.logger, "connection refused: too many connections", { remote, listener: key || undefined, ...refusal });
      transport.close();
      return noEvents;
    }
    const limits = listener?.limits ? { ...this.limits, ...listener.limits } : this.limits;
    const connection = new Connection(this, transport, limits, key);
    connection.useCertificateCnAsUsername = listener?.useCertificateCnAsUsername ?? false;
    this.connections.add(connection);
    this.connectionsPeak = Math.max(this.connectionsPeak, this.connections.size);
    this.perListener.set(key, onListener + 1);
    connection.afterClose = this.connectionGone;
    return connection;
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

  // ---- sessions (BrokerContext) -----------------------------------------------------------

  openSession(
    connection: Connection,
    clientId: string,
    cleanStart: boolean,
    expiryInterval: number,
  ): { session: Session; present: boolean } {
    this.counters.clientsTotal++;
    return this.sessions.open(connection, clientId, cleanStart, expiryInterval, connection.logger);
  }

  connectionClosed(connection: Connection, will: WillMessage | null, reason: string): void {
    if (this.hooks.has("onDisconnected")) this.hooks.notify("onDisconnected", connection.info, reason);
    if (connection.session) this.sessions.ownerGone(connection, connection.session, will, connection.logger, reason);
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

  route(original: Message, publisher?: ClientInfo): number {
    const message = this.hooks.beforePublish(publisher, original);
    if (!message) return 0;
    if (message.retain) this.retain(message);
    const targets = new Map<string, Target>();
    const groups: SharedGroup[] = [];
    const sessions = this.sessions.map;
    this.index.match(message.topic, {
      subscription: (s) => mergeTarget(targets, s, message, sessions),
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
      const member = pickMember(group, sessions);
      if (!member) continue;
      count++;
      this.deliverTo(sessions.get(member.clientId)!, {
        message,
        qos: Math.min(message.qos, member.qos) as QoS,
        retain: member.retainAsPublished && message.retain,
        subscriptionIdentifiers: member.subscriptionIdentifier !== undefined ? [member.subscriptionIdentifier] : undefined,
      });
    }
    this.hooks.notify("onPublished", publisher, message);
    return count;
  }

  /** Messages an offline session's queue drops to make room or for their age (bridge queue policies). */
  private readonly countQueueDrops: QueueDropReport = (why, dropped) => countDrop(this.counters, why, dropped);

  deliverTo(session: Session, delivery: Delivery): void {
    if (session.owner) {
      session.owner.deliver(delivery);
      return;
    }
    if (delivery.qos === 0 && !this.limits.queueQos0) return;
    if (!session.enqueue(delivery, this.limits, this.clock.now(), this.countQueueDrops)) {
      countDrop(this.counters, "queueFull");
      // One line when an offline session starts losing messages; the count comes when it is back.
      if (session.droppedMessages !== 1) return;
      const { maxQueuedMessages, maxQueuedBytes } = session.queueLimits ?? this.limits;
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

  // ---- management -----------------------------------------------------------------------

  listSessions(query?: management.SessionQuery): management.Page<management.SessionSummary> {
    return management.listSessions(this.sessions.values(), query);
  }

  session(clientId: string): management.SessionDetail | undefined {
    const session = this.sessions.get(clientId);
    if (!session) return undefined;
    const pending = this.sessions.wills.pendingFor(session);
    const will = pending
      ? { topic: pending.message.topic, qos: pending.message.qos, retain: pending.message.retain, delayInterval: pending.delayInterval }
      : undefined;
    return management.sessionDetail(session, will);
  }

  listSubscriptions(query?: management.SubscriptionQuery): management.Page<management.SubscriptionSnapshot> {
    return management.listSubscriptions(this.sessions.values(), query);
  }

  listRetained(query?: management.RetainedQuery): management.Page<management.RetainedSnapshot> {
    return management.listRetained(this.retained, this.clock.now(), query);
  }

  retainedMessage(topic: string): management.RetainedSnapshot | undefined {
    const message = this.retained.get(topic, this.clock.now());
    return message ? management.retainedSnapshot(message) : undefined;
  }

  bridges(): management.BridgeSnapshot[] {
    return this.bridgeStatus?.() ?? [];
  }

  setBridgeStatus(source: (() => management.BridgeSnapshot[]) | null): void {
    this.bridgeStatus = source;
  }

  listeners(): management.ListenerSnapshot[] {
    return [...this.perListener].filter(([name]) => name !== "").map(([name, connections]) => ({ name, connections }));
  }

  async storeSize(): Promise<number | undefined> {
    const store = this.persistence.store;
    return store.durable && store.sizeBytes ? await store.sizeBytes() : undefined;
  }

  disconnectClient(clientId: string, reasonCode: number = ReasonCode.AdministrativeAction): boolean {
    const owner = this.sessions.get(clientId)?.owner;
    if (!owner?.connected) return false;
    owner.disconnect(reasonCode, "disconnected by an administrator");
    return true;
  }

  async deleteSession(clientId: string): Promise<boolean> {
    const before = this.persistence.writes;
    if (!this.sessions.delete(clientId, ReasonCode.AdministrativeAction)) return false;
    await this.persistence.commitSince(before);
    return true;
  }

  async deleteRetained(topic: string): Promise<boolean> {
    if (!this.retainedMessage(topic)) return false;
    const before = this.persistence.writes;
    const deletion: Message = { topic, payload: new Uint8Array(0), qos: 0, retain: true, properties: {} };
    this.retained.set(deletion); // an empty payload deletes [v5 MQTT-3.3.1-6]
    this.persistence.saveRetained(deletion);
    await this.persistence.commitSince(before);
    return true;
  }

  openLocalSession(options: LocalSessionOptions, onDelivery: (delivery: LocalDelivery) => void): LocalSession {
    return new LocalOwner({
      ctx: this,
      open: (owner: SessionOwner, o: LocalSessionOptions) => {
        this.counters.clientsTotal++;
        return this.sessions.open(owner, o.clientId, o.cleanStart, o.sessionExpiryInterval, this.logger.child({ clientId: o.clientId }));
      },
      ownerGone: (owner: SessionOwner, session: Session) => this.sessions.ownerGone(owner, session, null, this.logger.child({ clientId: session.clientId }), "detached"),
      sendRetained: (session, subscription, existed) => sendRetained(this, session, subscription, existed),
    }, options, onDelivery);
  }

  async close(): Promise<void> {
    this.sys.stop();
    for (const connection of [...this.connections]) {
      connection.disconnect(ReasonCode.ServerShuttingDown, "server shutting down");
    }
    this.sessions.stopTimers();
    // Give the adapters time to flush the DISCONNECT packets and close (bounded: 2 s).
    const deadline = this.clock.now() + 2000;
    while (this.connections.size > 0 && this.clock.now() < deadline) {
      await new Promise((resolve) => this.clock.setTimeout(() => resolve(undefined), 20));
    }
    // Pending delayed wills and session expiry stay in the store and resume at the next start.
    await this.persistence.store.close();
  }
}

export type { Broker, BrokerPorts, BrokerStats, ListenerOptions, PublishOptions };

export function createBroker(config: Config, ports: BrokerPorts = {}): Broker {
  return new BrokerImpl(config, ports);
}
