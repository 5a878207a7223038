/**
 * Durable state on Bun: a local file through bun:sqlite (the default, also inside the compiled
 * executable), or a libSQL server (libsql://, http(s)://, ws(s)://) through @libsql/client/web,
 * imported only then (the web build has no native module, so the binary needs no plugin for it).
 */
import { Database, type SQLQueryBindings } from "bun:sqlite";
import { libsqlExecutor, type SqlExecutor, SqliteStore, type SqliteStoreOptions, type SqlRow } from "../../src/mod.ts";

export interface OpenStoreOptions extends SqliteStoreOptions {
  /** For a libSQL server. */
  authToken?: string;
}

const REMOTE = /^(libsql|https?|wss?):\/\//i;

/** Opens (creating if needed) the database at `urlOrPath`: a file path, a `file:` URL, or a libSQL server URL. */
export async function openStore(urlOrPath: string, options: OpenStoreOptions = {}): Promise<SqliteStore> {
  if (REMOTE.test(urlOrPath)) {
    const { createClient } = await import("@libsql/client/web");
    const client = createClient({ url: urlOrPath, authToken: options.authToken });
    return SqliteStore.open(libsqlExecutor(client, "remote", withoutCredentials(urlOrPath)), options);
  }
  const path = urlOrPath.startsWith("file:") ? decodeURIComponent(new URL(urlOrPath).pathname) : urlOrPath;
  return SqliteStore.open(bunSqliteExecutor(new Database(path, { create: true, strict: true })), options);
}

/** SqlExecutor over bun:sqlite: prepared statements are cached by SQL text; a transaction is BEGIN IMMEDIATE. */
export function bunSqliteExecutor(db: Database): SqlExecutor {
  const params = (values: readonly unknown[]) => values as SQLQueryBindings[];
  const transaction = db.transaction((statements: ReadonlyArray<{ sql: string; params: readonly unknown[] }>) => {
    for (const s of statements) db.query(s.sql).run(...params(s.params));
  });
  const attempt = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (e: unknown) {
      return Promise.reject(e);
    }
  };
  return {
    kind: "file",
    location: db.filename,
    all: (sql, values = []) => attempt(() => db.query(sql).all(...params(values)) as SqlRow[]),
    run: (sql, values = []) => attempt(() => void db.query(sql).run(...params(values))),
    transaction: (statements) =>
      attempt(() => {
        try {
          transaction.immediate(statements);
        } catch (e: unknown) {
          // A failed COMMIT can leave the transaction open (SQLITE_BUSY): end it, or no later one could begin.
          if (db.inTransaction) {
            try {
              db.run("ROLLBACK");
            } catch (rollback: unknown) {
              throw new AggregateError([e, rollback], "transaction failed and could not be rolled back");
            }
          }
          throw e;
        }
      }),
    close: () => attempt(() => db.close()),
  };
}

function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = "";
  parsed.password = "";
  parsed.search = "";
  return parsed.toString();
}
