/**
 * The broker's public interface: what adapters, the admin API and bridges may use. Queries return
 * plain snapshot objects (management.ts); nothing here exposes a live session or connection.
 */
import type { Config } from "../config/schema.ts";
import type { Hooks } from "../hooks/types.ts";
import type { MessageProperties, QoS } from "../model/message.ts";
import type { Clock } from "../ports/clock.ts";
import type { Logger } from "../ports/logger.ts";
import type { ConnectionEvents, Transport } from "../ports/transport.ts";
import type { Store } from "../store/types.ts";
import type { Counters } from "./context.ts";
import type { LocalDelivery, LocalSession, LocalSessionOptions } from "./local-session.ts";
import type * as management from "./management.ts";
// Client ids reserved for in-process sessions (bridges, console viewers): part of the public interface.
export { BRIDGE_CLIENT_ID_PREFIX, CONSOLE_CLIENT_ID_PREFIX, localSessionKind } from "./internal-client-ids.ts";

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
  /** Most connections at once since start. */
  connectionsPeak: number;
  sessions: number;
  subscriptions: number;
  retained: number;
  /** Messages waiting in session queues. */
  queued: number;
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

  // ---- management: plain snapshots, nothing on the publish path ----
  listSessions(query?: management.SessionQuery): management.Page<management.SessionSummary>;
  session(clientId: string): management.SessionDetail | undefined;
  listSubscriptions(query?: management.SubscriptionQuery): management.Page<management.SubscriptionSnapshot>;
  /** Throws RangeError for an invalid filter. */
  listRetained(query?: management.RetainedQuery): management.Page<management.RetainedSnapshot>;
  retainedMessage(topic: string): management.RetainedSnapshot | undefined;
  listeners(): management.ListenerSnapshot[];
  /** Status of each bridge (empty when none run); the app that runs them registers the source. */
  bridges(): management.BridgeSnapshot[];
  setBridgeStatus(source: (() => management.BridgeSnapshot[]) | null): void;
  /** Bytes of the database, undefined for the memory store. */
  storeSize(): Promise<number | undefined>;
  /** Disconnect a client (v5: DISCONNECT with `reasonCode`, default 0x98 Administrative action); false when not connected. */
  disconnectClient(clientId: string, reasonCode?: number): boolean;
  /** End a session, connected or not; its persistent state leaves the store. False when there is none. */
  deleteSession(clientId: string): Promise<boolean>;
  /** False when no retained message has that topic. */
  deleteRetained(topic: string): Promise<boolean>;
  /** Own a session from inside the process (bridges): see local-session.ts. */
  openLocalSession(options: LocalSessionOptions, onDelivery: (delivery: LocalDelivery) => void): LocalSession;

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
