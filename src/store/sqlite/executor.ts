/**
 * The narrow SQL interface the SQLite store runs on. Adapters implement it over their driver
 * (bun:sqlite on Bun, @libsql/client on Deno or for a libSQL server); the store never imports one.
 * Blobs are Uint8Array both ways (an adapter converts ArrayBuffer results); booleans are 0/1.
 */
export type SqlValue = string | number | bigint | Uint8Array | null;
export type SqlRow = Readonly<Record<string, SqlValue>>;

export interface SqlStatement {
  readonly sql: string;
  readonly params: readonly SqlValue[];
}

export interface SqlExecutor {
  /** "file": a local database file (the store sets WAL, synchronous=FULL...); "remote": a libSQL server. */
  readonly kind: "file" | "remote";
  /** Where the database is, for error messages: a path, or a URL without credentials. */
  readonly location: string;
  /** One statement outside any explicit transaction (pragmas, reads). */
  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  run(sql: string, params?: readonly SqlValue[]): Promise<void>;
  /** The statements in one write transaction, in order: all of them or none. */
  transaction(statements: readonly SqlStatement[]): Promise<void>;
  close(): Promise<void>;
}
