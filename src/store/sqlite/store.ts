/**
 * The SQLite store. Design note:
 *
 * Group commit. Write calls only record into the pending WriteBatch (no I/O, no promise). A timer
 * then writes the batch in ONE transaction, while new writes gather in a fresh batch:
 *   - a commit() waiting on it: as soon as `commitIntervalMs` has passed since the previous
 *     transaction started (transactions at most every commitIntervalMs; at once when idle);
 *   - no commit() yet: `commitIntervalMs` after its first write (nothing waits for a later commit()
 *     to reach the disk);
 *   - `maxBatchOps` writes: at once.
 * One transaction runs at a time; the batch that gathers meanwhile goes as soon as it ends.
 *
 * commit() is the barrier: it resolves once every write issued before it is in a committed
 * transaction (it waits on the pending batch, or on the in-flight one when nothing is pending).
 * A failed transaction (rolled back as a whole) rejects the commits that waited on it with a
 * StoreWriteError whose `cause` is the driver's error; if no commit covered its last write, the
 * next commit() call rejects instead, so a lost write is never silent. Later batches carry on.
 *
 * Coalescing. Inside a batch the last write of a key wins; a delivery saved then deleted before
 * it was ever written is dropped altogether (delivery ids only grow, so an id above every id
 * written so far cannot be in the database). deleteSession drops the client's earlier writes.
 *
 * Durability. WAL with synchronous=FULL: a resolved commit() survives power loss, not only a
 * process crash. Payloads are stored once per Message object (see schema.ts) whatever the fan-out.
 *
 * Size bound. With `maxDatabaseBytes` > 0 the pages in use are measured after each transaction;
 * past the bound (`full`), saveDelivery of a new delivery is refused and the commits issued after
 * it reject with StoreFullError. Updates and deletes always go through, and free pages are reused
 * first, so the file stops growing.
 */
import type { Message } from "../../model/message.ts";
import { backupName, StoreFullError, StoreWriteError } from "../errors.ts";
import type { LoadedState, MigrationReport, Store, StoredDelivery, StoredSession, StoredSubscription, StoredWill } from "../types.ts";
import { WriteBatch } from "./batch.ts";
import type { SqlExecutor } from "./executor.ts";
import { loadAll } from "./load.ts";
import { appliedMigrations, applyMigrations, checkKnown } from "./migrate.ts";
import { type EmbeddedMigration, migrations as embeddedMigrations } from "./migrations.ts";
import { num, str } from "./rows.ts";
import { SqliteSecurityStore } from "./security.ts";
import { errorText } from "../../util/errors.ts";
import { SqliteAdminStore } from "./admin.ts";
import { LatencyHistogram } from "../histogram.ts";

export interface SqliteStoreOptions {
  /** Longest wait between a write and its transaction, in ms (default 2). */
  commitIntervalMs?: number;
  /** A batch this large is written without waiting for the interval (default 4096). */
  maxBatchOps?: number;
  /** Refuse new queued deliveries once the database uses more bytes than this (0 = unlimited, the default). */
  maxDatabaseBytes?: number;
  /** Clock time in ms, to drop expired messages at load (default Date.now). */
  now?: () => number;
  /** How long a statement waits for a lock held by another process, in ms (default 5000). */
  busyTimeoutMs?: number;
  /** The migrations this build knows (default: the embedded ones; tests pass others). */
  migrations?: readonly EmbeddedMigration[];
}


/**
 * Before migrating a database that has data (some migrations applied, some missing), a consistent
 * copy next to it named after its schema (`gannet.db.0002_security.bak`): the way back to the older
 * Gannet, which refuses the migrated file. VACUUM INTO writes a compact copy in one statement and
 * never overwrites a non-empty file, so a name taken by an earlier attempt gets the next number.
 */
async function backupBeforeMigrating(
  db: SqlExecutor,
  applied: readonly string[],
  known: readonly EmbeddedMigration[],
): Promise<string | undefined> {
  const schema = applied.at(-1);
  if (db.kind !== "file" || schema === undefined || known.every((m) => applied.includes(m.id))) return undefined;
  for (let attempt = 1; attempt <= 99; attempt++) {
    const target = backupName(db.location, schema, attempt);
    try {
      await db.run("VACUUM INTO ?", [target]);
      return target;
    } catch (e: unknown) {
      // SQLite opens an existing target: "output file already exists" for a database, "file is not a
      // database" for anything else non-empty. Either way that name is taken.
      if (/already exists|not a database/i.test(errorText(e))) continue;
      throw new Error(
        `database ${db.location}: cannot make the copy ${target} before migrating (nothing was migrated): ${errorText(e)}. ` +
          `Free some space or fix the directory's permissions, then start again.`,
        { cause: e },
      );
    }
  }
  throw new Error(`database ${db.location}: ${backupName(db.location, schema)} and 98 more copies exist: remove old ones`);
}

export class SqliteStore implements Store {
  readonly durable = true;
  /** Users, ACL rules and bans: each write its own transaction, not part of the group commit. */
  readonly security: SqliteSecurityStore;
  /** Admin accounts, API keys and the audit log: like security, outside the group commit. */
  readonly admin: SqliteAdminStore;
  readonly commitLatency = new LatencyHistogram();
  private batch: WriteBatch;
  private inFlight: WriteBatch | null = null;
  /** The armed flush (setImmediate when due now: setTimeout(0) waits a millisecond or more). */
  private timer: { cancel(): void } | undefined;
  /** performance.now() at which the armed timer fires. */
  private timerDue = 0;
  /** performance.now() when the last transaction started (the rate limit). */
  private lastFlushAt = -Infinity;
  /** No delivery id above this is in the database or in a batch taken for writing. */
  private writtenUpTo: number;
  private nextMessageId: number;
  private readonly messageIds = new WeakMap<Message, number>();
  /** A failure (or refusal) no commit() has reported yet: the next commit() rejects with it. */
  private unreported: Error | undefined;
  private closed = false;
  private closing: Promise<void> | null = null;
  private usedBytesValue = 0;
  private readonly commitIntervalMs: number;
  private readonly maxBatchOps: number;
  private readonly maxDatabaseBytes: number;
  private readonly now: () => number;

  /**
   * Prepares the database (pragmas, migrations) and returns the store. Takes ownership of `db`:
   * it is closed if opening fails. A database with migrations this build does not know is refused
   * with DatabaseTooNewError before anything is written to it.
   */
  static async open(db: SqlExecutor, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    const known = options.migrations ?? embeddedMigrations;
    const now = options.now ?? (() => Date.now());
    try {
      if (db.kind === "file") {
        // Connection settings only: nothing is written to the file before the version check.
        await db.run(`PRAGMA busy_timeout = ${Math.floor(options.busyTimeoutMs ?? 5000)}`);
        await db.run("PRAGMA foreign_keys = ON");
        await db.run("PRAGMA synchronous = FULL");
        const [check] = await db.all(
          "SELECT (SELECT foreign_keys FROM pragma_foreign_keys()) AS fk, (SELECT synchronous FROM pragma_synchronous()) AS sync",
        );
        if (!check || num(check, "fk") !== 1 || num(check, "sync") !== 2) {
          throw new Error(
            `database ${db.location}: foreign_keys=ON and synchronous=FULL did not take (${JSON.stringify(check)})`,
          );
        }
      }
      const applied = await appliedMigrations(db);
      checkKnown(db.location, applied, known);
      if (db.kind === "file") {
        const [mode] = await db.all("PRAGMA journal_mode = WAL");
        if (mode && str(mode, "journal_mode").toLowerCase() !== "wal") {
          throw new Error(`database ${db.location}: could not switch to WAL mode (got ${mode.journal_mode})`);
        }
      }
      const backup = await backupBeforeMigrating(db, applied, known);
      const ran = await applyMigrations(db, applied, known, now());
      const migration = backup && ran.length > 0 ? { from: applied.at(-1)!, applied: ran, backup } : undefined;
      const [ids] = await db.all(
        "SELECT (SELECT coalesce(max(id), 0) FROM deliveries) AS delivery, " +
          "(SELECT coalesce(max(id), 0) FROM messages) AS message",
      );
      const store = new SqliteStore(db, options, now, num(ids, "delivery"), num(ids, "message") + 1, migration);
      if (store.maxDatabaseBytes > 0) await store.measure();
      return store;
    } catch (e: unknown) {
      await db.close().catch(() => {}); // the open error is the one to report
      throw e;
    }
  }

  private constructor(
    private readonly db: SqlExecutor,
    options: SqliteStoreOptions,
    now: () => number,
    writtenUpTo: number,
    nextMessageId: number,
    readonly migration: MigrationReport | undefined,
  ) {
    this.commitIntervalMs = Math.max(0, options.commitIntervalMs ?? 2);
    this.maxBatchOps = Math.max(1, options.maxBatchOps ?? 4096);
    this.maxDatabaseBytes = Math.max(0, options.maxDatabaseBytes ?? 0);
    this.now = now;
    this.writtenUpTo = writtenUpTo;
    this.nextMessageId = nextMessageId;
    this.batch = new WriteBatch(writtenUpTo);
    this.security = new SqliteSecurityStore(db);
    this.admin = new SqliteAdminStore(db);
  }

  /** True while the database is past `maxDatabaseBytes` (new queued deliveries are refused). */
  get full(): boolean {
    return this.maxDatabaseBytes > 0 && this.usedBytesValue > this.maxDatabaseBytes;
  }

  /** Bytes in pages in use, as of the last transaction (measured only when `maxDatabaseBytes` > 0). */
  get usedBytes(): number {
    return this.usedBytesValue;
  }

  async sizeBytes(): Promise<number> {
    const [row] = await this.db.all(
      "SELECT (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size()) AS size",
    );
    return row ? num(row, "size") : 0;
  }

  async load(): Promise<LoadedState> {
    await this.barrier();
    const result = await loadAll(this.db, this.now());
    for (const [id, m] of result.messages) this.messageIds.set(m, id);
    for (const { clientId, id } of result.expiredDeliveries) this.write().deleteDelivery(clientId, id);
    for (const topic of result.expiredRetained) this.write().setRetained(topic, null);
    return result.state;
  }

  // ---- writes: recorded in the pending batch ---------------------------------------------

  /** The pending batch, with its flush armed; a dummy after close() (the next commit() reports it). */
  private write(): WriteBatch {
    if (this.closed) {
      this.unreported ??= new StoreWriteError(`write to ${this.db.location} after close(): not stored`);
      return new WriteBatch(0);
    }
    if (this.batch.ops + 1 >= this.maxBatchOps) this.arm(0);
    else if (this.timer === undefined) this.arm(this.commitIntervalMs);
    return this.batch;
  }

  saveSession(session: StoredSession): void {
    this.write().saveSession(session);
  }
  deleteSession(clientId: string): void {
    this.write().deleteSession(clientId);
  }
  saveSubscription(clientId: string, subscription: StoredSubscription): void {
    this.write().saveSubscription(clientId, subscription);
  }
  deleteSubscription(clientId: string, key: string): void {
    this.write().deleteSubscription(clientId, key);
  }
  saveDelivery(clientId: string, delivery: StoredDelivery): void {
    const batch = this.write();
    if (this.full && batch.isNewDelivery(clientId, delivery.id)) batch.refuse();
    else batch.saveDelivery(clientId, delivery);
  }
  deleteDelivery(clientId: string, id: number): void {
    this.write().deleteDelivery(clientId, id);
  }
  saveAwaitingRelease(clientId: string, packetId: number): void {
    this.write().setAwaitingRelease(clientId, packetId, true);
  }
  deleteAwaitingRelease(clientId: string, packetId: number): void {
    this.write().setAwaitingRelease(clientId, packetId, false);
  }
  saveWill(clientId: string, will: StoredWill): void {
    this.write().saveWill(clientId, will);
  }
  deleteWill(clientId: string): void {
    this.write().deleteWill(clientId);
  }
  saveRetained(m: Message): void {
    this.write().setRetained(m.topic, m);
  }
  deleteRetained(topic: string): void {
    this.write().setRetained(topic, null);
  }

  // ---- group commit ----------------------------------------------------------------------

  commit(): Promise<void> {
    if (this.unreported) {
      const error = this.unreported;
      this.unreported = undefined;
      return Promise.reject(error);
    }
    if (this.closed) return Promise.reject(new StoreWriteError(`store ${this.db.location} is closed`));
    return this.barrier();
  }

  /** Resolves when every write recorded so far is committed (or rejects as commit() does). */
  private barrier(): Promise<void> {
    const target = this.batch.ops > 0 ? this.batch : this.inFlight;
    if (!target) return Promise.resolve();
    if (target === this.batch) this.arm(this.lastFlushAt + this.commitIntervalMs - performance.now());
    return new Promise((resolve, reject) => target.waiters.push({ seq: target.ops, resolve, reject }));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const unreported = this.unreported;
      this.closed = true;
      const last = this.barrier();
      void this.flush(); // now, whatever the interval
      try {
        await last;
        if (unreported) throw unreported;
      } finally {
        await this.db.close();
      }
    })();
    return this.closing;
  }

  /** Makes sure the pending batch is written within `delay` ms (or as soon as the running transaction ends). */
  private arm(delay: number): void {
    if (this.inFlight) return; // the running transaction arms the next one when it ends
    const now = performance.now();
    const due = now + Math.max(0, delay);
    if (this.timer !== undefined) {
      if (this.timerDue <= due) return;
      this.timer.cancel();
    }
    this.timerDue = due;
    if (due <= now) {
      const handle = setImmediate(this.onTimer);
      this.timer = { cancel: () => clearImmediate(handle) };
    } else {
      const handle = setTimeout(this.onTimer, due - now);
      this.timer = { cancel: () => clearTimeout(handle) };
    }
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    void this.flush();
  };

  private readonly messageId = (m: Message): number => {
    let id = this.messageIds.get(m);
    if (id === undefined) this.messageIds.set(m, id = this.nextMessageId++);
    return id;
  };

  /** Writes the pending batch in one transaction and settles its commits. Never rejects. */
  private async flush(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    const batch = this.batch;
    if (this.inFlight || batch.ops === 0) return;
    this.inFlight = batch;
    this.lastFlushAt = performance.now();
    this.writtenUpTo = Math.max(this.writtenUpTo, batch.maxDeliveryId);
    this.batch = new WriteBatch(this.writtenUpTo);
    let error: Error | undefined;
    try {
      const statements = batch.statements(this.messageId);
      if (statements.length > 0) {
        await this.db.transaction(statements);
        this.commitLatency.observe((performance.now() - this.lastFlushAt) / 1000);
      }
    } catch (e: unknown) {
      error = new StoreWriteError(
        `group commit of ${batch.ops} writes to ${this.db.location} failed (rolled back): ${errorText(e)}`,
        { cause: e },
      );
    }
    if (!error && this.maxDatabaseBytes > 0) {
      try {
        await this.measure();
      } catch (e: unknown) {
        error = new StoreWriteError(`could not measure ${this.db.location} after a commit: ${errorText(e)}`, {
          cause: e,
        });
      }
    }
    this.inFlight = null;
    this.settle(batch, error);
    if (this.batch.ops > 0) this.arm(this.lastFlushAt + this.commitIntervalMs - performance.now());
  }

  private settle(batch: WriteBatch, error: Error | undefined): void {
    const refused = batch.firstRefused;
    const full = () =>
      new StoreFullError(
        `database ${this.db.location} uses more than maxDatabaseBytes (${this.maxDatabaseBytes}): ` +
          "new queued messages are refused until space is freed",
      );
    for (const waiter of batch.waiters) {
      if (error) waiter.reject(error);
      else if (waiter.seq > refused) waiter.reject(full());
      else waiter.resolve();
    }
    // A failure or refusal after the last commit() of the batch goes to the next commit() call.
    if (error && !batch.waiters.some((w) => w.seq >= batch.ops)) this.unreported ??= error;
    else if (!error && refused !== Infinity && !batch.waiters.some((w) => w.seq > refused)) this.unreported ??= full();
  }

  private async measure(): Promise<void> {
    const [row] = await this.db.all(
      "SELECT ((SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count())) " +
        "* (SELECT page_size FROM pragma_page_size()) AS used",
    );
    this.usedBytesValue = row ? num(row, "used") : 0;
  }
}
