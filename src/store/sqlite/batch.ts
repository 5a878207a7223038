/**
 * One group-commit batch: the writes issued between two transactions, coalesced by key (the last
 * write of a key wins; a delivery saved and deleted in the same batch, and never written before,
 * disappears), turned into the statements of one transaction in a dependency-safe order.
 */
import type { Message } from "../../hooks/types.ts";
import type { StoredDelivery, StoredSession, StoredSubscription, StoredWill } from "../types.ts";
import type { SqlStatement, SqlValue } from "./executor.ts";
import { messageParams } from "./rows.ts";

export const SQL = {
  deleteSession: [
    "DELETE FROM subscriptions WHERE client_id = ?",
    "DELETE FROM deliveries WHERE client_id = ?",
    "DELETE FROM awaiting_release WHERE client_id = ?",
    "DELETE FROM wills WHERE client_id = ?",
    "DELETE FROM sessions WHERE client_id = ?",
  ],
  saveSession: "INSERT INTO sessions (client_id, expiry_interval, disconnected_at) VALUES (?, ?, ?) " +
    "ON CONFLICT (client_id) DO UPDATE SET expiry_interval = excluded.expiry_interval, " +
    "disconnected_at = excluded.disconnected_at",
  saveSubscription: "INSERT INTO subscriptions (client_id, key, qos, no_local, retain_as_published, retain_handling, " +
    "subscription_identifier) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_id, key) DO UPDATE SET " +
    "qos = excluded.qos, no_local = excluded.no_local, retain_as_published = excluded.retain_as_published, " +
    "retain_handling = excluded.retain_handling, subscription_identifier = excluded.subscription_identifier",
  deleteSubscription: "DELETE FROM subscriptions WHERE client_id = ? AND key = ?",
  saveMessage: "INSERT OR IGNORE INTO messages (id, topic, payload, qos, retain, properties, expires_at, origin) " +
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  saveDelivery: "INSERT INTO deliveries (client_id, id, qos, retain, subscription_identifiers, packet_id, state, " +
    "message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_id, id) DO UPDATE SET qos = excluded.qos, " +
    "retain = excluded.retain, subscription_identifiers = excluded.subscription_identifiers, " +
    "packet_id = excluded.packet_id, state = excluded.state", // a delivery's message is fixed by its id
  deleteDelivery: "DELETE FROM deliveries WHERE client_id = ? AND id = ?",
  saveAwaitingRelease: "INSERT OR IGNORE INTO awaiting_release (client_id, packet_id) VALUES (?, ?)",
  deleteAwaitingRelease: "DELETE FROM awaiting_release WHERE client_id = ? AND packet_id = ?",
  // Wills and retained entries are replaced by delete + insert: the old message is collected in the
  // delete phase, before any row of the batch could need it (INSERT OR IGNORE brings it back if so).
  saveWill: "INSERT INTO wills (client_id, publish_at, message_expiry_interval, message_id) VALUES (?, ?, ?, ?)",
  deleteWill: "DELETE FROM wills WHERE client_id = ?",
  saveRetained: "INSERT INTO retained (topic, message_id) VALUES (?, ?)",
  deleteRetained: "DELETE FROM retained WHERE topic = ?",
} as const;

/** A row snapshot taken when the write was issued (the caller may reuse its objects), plus its message. */
interface PendingRow {
  params: SqlValue[];
  message: Message;
}

interface ClientOps {
  session?: SqlValue[];
  subscriptions?: Map<string, SqlValue[] | null>;
  deliveries?: Map<number, PendingRow | null>;
  awaitingRelease?: Map<number, boolean>;
  /** undefined: untouched; null: deleted. */
  will?: PendingRow | null;
}

export interface Waiter {
  /** `ops` of the batch when commit() was called: the writes it covers. */
  seq: number;
  resolve(): void;
  reject(error: Error): void;
}

export class WriteBatch {
  /** Write calls recorded, refused ones included. */
  ops = 0;
  /** `ops` index of the first refused write (StoreFullError), Infinity when none. */
  firstRefused = Infinity;
  /** Highest delivery id saved in this batch. */
  maxDeliveryId = 0;
  readonly waiters: Waiter[] = [];
  private readonly clients = new Map<string, ClientOps>();
  private readonly sessionDeletes = new Set<string>();
  private readonly retained = new Map<string, Message | null>();

  /** @param writtenUpTo no delivery id above this is in the database or an earlier batch (ids only grow). */
  constructor(private readonly writtenUpTo: number) {}

  private client(clientId: string): ClientOps {
    let ops = this.clients.get(clientId);
    if (!ops) this.clients.set(clientId, ops = {});
    return ops;
  }

  saveSession(s: StoredSession): void {
    this.ops++;
    this.client(s.clientId).session = [s.clientId, s.expiryInterval, s.disconnectedAt];
  }

  /** Earlier writes of the client in this batch become moot; later ones apply after the delete. */
  deleteSession(clientId: string): void {
    this.ops++;
    this.clients.delete(clientId);
    this.sessionDeletes.add(clientId);
  }

  saveSubscription(clientId: string, s: StoredSubscription): void {
    this.ops++;
    const row = [clientId, s.key, s.qos, s.noLocal ? 1 : 0, s.retainAsPublished ? 1 : 0, s.retainHandling, s.subscriptionIdentifier ?? null];
    (this.client(clientId).subscriptions ??= new Map()).set(s.key, row);
  }

  deleteSubscription(clientId: string, key: string): void {
    this.ops++;
    (this.client(clientId).subscriptions ??= new Map()).set(key, null);
  }

  /** True when `id` is neither in the database nor already accepted in this batch. */
  isNewDelivery(clientId: string, id: number): boolean {
    return id > this.writtenUpTo && !this.clients.get(clientId)?.deliveries?.get(id);
  }

  saveDelivery(clientId: string, d: StoredDelivery): void {
    this.ops++;
    const ids = d.subscriptionIdentifiers?.length ? JSON.stringify(d.subscriptionIdentifiers) : null;
    const params = [clientId, d.id, d.qos, d.retain ? 1 : 0, ids, d.packetId ?? null, d.state ?? null];
    (this.client(clientId).deliveries ??= new Map()).set(d.id, { params, message: d.message });
    if (d.id > this.maxDeliveryId) this.maxDeliveryId = d.id;
  }

  deleteDelivery(clientId: string, id: number): void {
    this.ops++;
    const deliveries = this.client(clientId).deliveries ??= new Map();
    if (id > this.writtenUpTo && deliveries.get(id)) deliveries.delete(id); // never written: nothing to delete
    else deliveries.set(id, null);
  }

  /** A write refused because the store is full: commits issued after it reject. */
  refuse(): void {
    if (this.firstRefused === Infinity) this.firstRefused = this.ops;
    this.ops++;
  }

  setAwaitingRelease(clientId: string, packetId: number, present: boolean): void {
    this.ops++;
    (this.client(clientId).awaitingRelease ??= new Map()).set(packetId, present);
  }

  saveWill(clientId: string, w: StoredWill): void {
    this.ops++;
    this.client(clientId).will = { params: [clientId, w.publishAt, w.messageExpiryInterval ?? null], message: w.message };
  }

  deleteWill(clientId: string): void {
    this.ops++;
    this.client(clientId).will = null;
  }

  setRetained(topic: string, message: Message | null): void {
    this.ops++;
    this.retained.set(topic, message);
  }

  /**
   * The transaction: session deletes (with their rows), other deletes (the triggers collect
   * unreferenced messages here, and only here), session upserts, then the messages the surviving
   * rows reference (INSERT OR IGNORE: stored once, back if collected meanwhile), then those rows.
   */
  statements(messageId: (m: Message) => number): SqlStatement[] {
    const deletes: SqlStatement[] = [];
    const sessions: SqlStatement[] = [];
    const rows: SqlStatement[] = [];
    const messages = new Map<number, Message>();
    const withMessage = (sql: string, row: PendingRow) => {
      const id = messageId(row.message);
      messages.set(id, row.message);
      rows.push({ sql, params: [...row.params, id] });
    };
    for (const clientId of this.sessionDeletes) {
      for (const sql of SQL.deleteSession) deletes.push({ sql, params: [clientId] });
    }
    for (const [clientId, ops] of this.clients) {
      if (ops.session) sessions.push({ sql: SQL.saveSession, params: ops.session });
      for (const [key, row] of ops.subscriptions ?? []) {
        if (row) rows.push({ sql: SQL.saveSubscription, params: row });
        else deletes.push({ sql: SQL.deleteSubscription, params: [clientId, key] });
      }
      for (const [id, row] of ops.deliveries ?? []) {
        if (row) withMessage(SQL.saveDelivery, row);
        else deletes.push({ sql: SQL.deleteDelivery, params: [clientId, id] });
      }
      for (const [packetId, present] of ops.awaitingRelease ?? []) {
        if (present) rows.push({ sql: SQL.saveAwaitingRelease, params: [clientId, packetId] });
        else deletes.push({ sql: SQL.deleteAwaitingRelease, params: [clientId, packetId] });
      }
      if (ops.will !== undefined) deletes.push({ sql: SQL.deleteWill, params: [clientId] });
      if (ops.will) withMessage(SQL.saveWill, ops.will);
    }
    for (const [topic, message] of this.retained) {
      deletes.push({ sql: SQL.deleteRetained, params: [topic] });
      if (message) withMessage(SQL.saveRetained, { params: [topic], message });
    }
    const inserts: SqlStatement[] = [];
    for (const [id, message] of messages) inserts.push({ sql: SQL.saveMessage, params: messageParams(id, message) });
    return [...deletes, ...sessions, ...inserts, ...rows];
  }
}
