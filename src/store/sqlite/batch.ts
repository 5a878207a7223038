/**
 * One group-commit batch: the writes issued between two transactions, coalesced by key (the last
 * write of a key wins; a delivery saved and deleted in the same batch, and never written before,
 * disappears), turned into the statements of one transaction in a dependency-safe order.
 */
import type { Message } from "../../model/message.ts";
import type { StoredDelivery, StoredSession, StoredSubscription, StoredWill } from "../types.ts";
import type { SqlStatement, SqlValue } from "./executor.ts";
import { messageParams } from "./rows.ts";

/**
 * A statement over many rows: `head`, then `row` once per row (comma-separated), then `tail`.
 * Rows go in chunks of CHUNK_SIZES, so a driver's statement cache sees a few texts per shape.
 */
interface Shape {
  head: string;
  row: string;
  tail: string;
  /** Between rows (default ", "). */
  separator?: string;
}

const upsert = (table: string, columns: string, key: string, update: string[]): Shape => ({
  head: `INSERT INTO ${table} (${columns}) VALUES `,
  row: `(${columns.split(",").map(() => "?").join(", ")})`,
  tail: update.length
    ? ` ON CONFLICT (${key}) DO UPDATE SET ${update.map((c) => `${c} = excluded.${c}`).join(", ")}`
    : "",
});
const insertOrIgnore = (table: string, columns: string): Shape => ({
  ...upsert(table, columns, "", []),
  head: `INSERT OR IGNORE INTO ${table} (${columns}) VALUES `,
});
/** Row-value IN: SQLite searches the primary key index for each row. */
// A composite key is matched as `(a = ? AND b = ?) OR ...`, not `(a, b) IN (VALUES ...)`: the
// SQLite in libSQL (3.45) searches the primary key by its first column only for the row-value form,
// so each delete scanned all of a session's deliveries (a bridge draining a 100,000-message backlog
// on Deno slowed to ~330 msgs/s). Both forms use the whole key on SQLite 3.54 (bun:sqlite).
const deleteWhere = (table: string, key: string): Shape =>
  key.includes(",")
    ? {
      head: `DELETE FROM ${table} WHERE `,
      row: `(${key.split(",").map((column) => `${column.trim()} = ?`).join(" AND ")})`,
      tail: "",
      separator: " OR ",
    }
    : { head: `DELETE FROM ${table} WHERE ${key} IN (`, row: "?", tail: ")" };

export const SHAPES = {
  session: upsert("sessions", "client_id, expiry_interval, disconnected_at", "client_id", [
    "expiry_interval",
    "disconnected_at",
  ]),
  subscription: upsert(
    "subscriptions",
    "client_id, key, qos, no_local, retain_as_published, retain_handling, subscription_identifier",
    "client_id, key",
    ["qos", "no_local", "retain_as_published", "retain_handling", "subscription_identifier"],
  ),
  subscriptionDelete: deleteWhere("subscriptions", "client_id, key"),
  message: insertOrIgnore("messages", "id, topic, payload, qos, retain, properties, expires_at, origin"),
  // A delivery's message is fixed by its id: message_id is not updated.
  delivery: upsert(
    "deliveries",
    "client_id, id, qos, retain, subscription_identifiers, packet_id, state, message_id",
    "client_id, id",
    ["qos", "retain", "subscription_identifiers", "packet_id", "state"],
  ),
  deliveryDelete: deleteWhere("deliveries", "client_id, id"),
  awaitingRelease: insertOrIgnore("awaiting_release", "client_id, packet_id"),
  awaitingReleaseDelete: deleteWhere("awaiting_release", "client_id, packet_id"),
  // Wills and retained entries are replaced by delete + insert: the old message is collected in the
  // delete phase, before any row of the batch could need it (INSERT OR IGNORE brings it back if so).
  will: upsert("wills", "client_id, publish_at, message_expiry_interval, message_id", "", []),
  willDelete: deleteWhere("wills", "client_id"),
  retained: upsert("retained", "topic, message_id", "", []),
  retainedDelete: deleteWhere("retained", "topic"),
} as const;

const SESSION_DELETE = ["subscriptions", "deliveries", "awaiting_release", "wills", "sessions"]
  .map((table) => `DELETE FROM ${table} WHERE client_id = ?`);

const CHUNK_SIZES = [256, 32, 8, 1];
const texts = new Map<Shape, string[]>();

function sqlFor(shape: Shape, rows: number): string {
  let bySize = texts.get(shape);
  if (!bySize) texts.set(shape, bySize = []);
  return bySize[rows] ??= shape.head + Array<string>(rows).fill(shape.row).join(shape.separator ?? ", ") + shape.tail;
}

/** Appends the statements writing `rows` with `shape` to `out`, a chunk at a time. */
function emit(shape: Shape, rows: SqlValue[][], out: SqlStatement[]): void {
  let i = 0;
  for (const size of CHUNK_SIZES) {
    for (; rows.length - i >= size; i += size) {
      out.push({ sql: sqlFor(shape, size), params: size === 1 ? rows[i]! : rows.slice(i, i + size).flat() });
    }
  }
}

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
    const row = [
      clientId,
      s.key,
      s.qos,
      s.noLocal ? 1 : 0,
      s.retainAsPublished ? 1 : 0,
      s.retainHandling,
      s.subscriptionIdentifier ?? null,
    ];
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
    this.client(clientId).will = {
      params: [clientId, w.publishAt, w.messageExpiryInterval ?? null],
      message: w.message,
    };
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
    const rows = {
      subscription: [] as SqlValue[][],
      subscriptionDelete: [] as SqlValue[][],
      delivery: [] as SqlValue[][],
      deliveryDelete: [] as SqlValue[][],
      awaitingRelease: [] as SqlValue[][],
      awaitingReleaseDelete: [] as SqlValue[][],
      will: [] as SqlValue[][],
      willDelete: [] as SqlValue[][],
      retained: [] as SqlValue[][],
      retainedDelete: [] as SqlValue[][],
      session: [] as SqlValue[][],
    };
    const messages = new Map<number, Message>();
    const withMessage = (row: PendingRow): SqlValue[] => {
      const id = messageId(row.message);
      messages.set(id, row.message);
      return [...row.params, id];
    };
    for (const [clientId, ops] of this.clients) {
      if (ops.session) rows.session.push(ops.session);
      for (const [key, row] of ops.subscriptions ?? []) {
        if (row) rows.subscription.push(row);
        else rows.subscriptionDelete.push([clientId, key]);
      }
      for (const [id, row] of ops.deliveries ?? []) {
        if (row) rows.delivery.push(withMessage(row));
        else rows.deliveryDelete.push([clientId, id]);
      }
      for (const [packetId, present] of ops.awaitingRelease ?? []) {
        (present ? rows.awaitingRelease : rows.awaitingReleaseDelete).push([clientId, packetId]);
      }
      if (ops.will !== undefined) rows.willDelete.push([clientId]);
      if (ops.will) rows.will.push(withMessage(ops.will));
    }
    for (const [topic, message] of this.retained) {
      rows.retainedDelete.push([topic]);
      if (message) rows.retained.push(withMessage({ params: [topic], message }));
    }
    const out: SqlStatement[] = [];
    for (const clientId of this.sessionDeletes) {
      for (const sql of SESSION_DELETE) out.push({ sql, params: [clientId] });
    }
    for (
      const shape of [
        "subscriptionDelete",
        "deliveryDelete",
        "awaitingReleaseDelete",
        "willDelete",
        "retainedDelete",
        "session",
      ] as const
    ) {
      emit(SHAPES[shape], rows[shape], out);
    }
    emit(SHAPES.message, [...messages].map(([id, m]) => messageParams(id, m)), out);
    for (const shape of ["subscription", "delivery", "awaitingRelease", "will", "retained"] as const) {
      emit(SHAPES[shape], rows[shape], out);
    }
    return out;
  }
}
