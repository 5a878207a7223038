/**
 * Store port: durable state. The core issues writes as plain calls (queued, never awaited one by
 * one) and awaits `commit()` where the protocol needs durability — before acknowledging a QoS 1/2
 * PUBLISH. Implementations group-commit: every write issued before a `commit()` call is durable
 * when its promise resolves, and many writes share one transaction.
 *
 * What is stored is exactly what must survive a restart: persistent sessions (those with a
 * Session Expiry Interval > 0, or 3.1.1 clean-session 0) with their subscriptions, QoS 1/2
 * deliveries queued or in flight to them, inbound QoS 2 packet ids awaiting PUBREL, delayed wills,
 * and retained messages.
 */
import type { Message, QoS } from "../model/message.ts";
import type { SubscriptionOptions } from "../model/subscription.ts";
import type { SecurityStore } from "../security/types.ts";
import type { AdminStore } from "../security/admin-types.ts";
import type { LatencyHistogram } from "./histogram.ts";

export interface StoredSession {
  clientId: string;
  /** Seconds (0xFFFFFFFF = never expires). */
  expiryInterval: number;
  /** Clock time (ms) when the last connection closed; null while connected. */
  disconnectedAt: number | null;
}

/** A subscription as stored: its options under the filter the client sent, `$share/name/` prefix included. */
export interface StoredSubscription extends SubscriptionOptions {
  key: string;
}

/** A QoS 1/2 message on its way to one persistent session: queued, or in flight once it has a packet id. */
export interface StoredDelivery {
  /** Unique per broker (the core's sequence), also the delivery order within a session. */
  id: number;
  message: Message;
  qos: QoS;
  retain: boolean;
  subscriptionIdentifiers?: number[];
  /** Set once sent: the packet id, and whether PUBREC came back (QoS 2). */
  packetId?: number;
  state?: "awaitingAck" | "awaitingComp";
}

export interface StoredWill {
  message: Message;
  /** Clock time (ms) at which the will is due. */
  publishAt: number;
  messageExpiryInterval?: number;
}

export interface LoadedSession extends StoredSession {
  subscriptions: StoredSubscription[];
  deliveries: StoredDelivery[];
  awaitingRelease: number[];
  will?: StoredWill;
}

export interface LoadedState {
  sessions: LoadedSession[];
  retained: Message[];
}

export interface MigrationReport {
  /** The newest migration the database had before (its schema version). */
  readonly from: string;
  /** The migrations applied now, in order. */
  readonly applied: readonly string[];
  /** The copy of the database as it was before, next to it (restore it to go back to the older Gannet). */
  readonly backup: string;
}

export interface Store {
  /** True when writes survive a restart (false for the memory store: the core then skips the waits). */
  readonly durable: boolean;
  /** Users, ACL rules and bans: writes outside the group commit, each durable when its promise resolves. */
  readonly security: SecurityStore;
  /** Set when opening migrated an existing database (SQLite): what ran, and the copy made before. */
  readonly migration?: MigrationReport;
  /** Admin accounts, API keys and the audit log (the admin API's), each write durable when it resolves. */
  readonly admin: AdminStore;
  /** Everything stored, for the broker to rebuild its memory at start. */
  load(): Promise<LoadedState>;

  saveSession(session: StoredSession): void;
  /** Deletes the session with its subscriptions, deliveries, packet ids and will. */
  deleteSession(clientId: string): void;
  saveSubscription(clientId: string, subscription: StoredSubscription): void;
  deleteSubscription(clientId: string, key: string): void;
  /** Insert or update (by id). */
  saveDelivery(clientId: string, delivery: StoredDelivery): void;
  deleteDelivery(clientId: string, id: number): void;
  saveAwaitingRelease(clientId: string, packetId: number): void;
  deleteAwaitingRelease(clientId: string, packetId: number): void;
  saveWill(clientId: string, will: StoredWill): void;
  deleteWill(clientId: string): void;
  /** Store or replace the retained message of `message.topic`. */
  saveRetained(message: Message): void;
  deleteRetained(topic: string): void;

  /** Bytes the database takes (its pages, free ones included); absent for a store without a file. */
  sizeBytes?(): Promise<number>;

  /** How long the store's group-commit transactions take (durable stores; /metrics shows it). */
  readonly commitLatency?: LatencyHistogram;
  /** Resolves when every write issued before this call is durable; rejects if it cannot be. */
  commit(): Promise<void>;
  /** Commit what is pending and release the database. */
  close(): Promise<void>;
}
