/**
 * SqlExecutor over an @libsql/client `Client` (typed structurally: src/ imports no driver). Used by
 * the Deno adapter for files and by both adapters for libSQL servers. A write transaction is one
 * `batch(..., "write")`, which is atomic on a local file and over HTTP alike. For a file, create
 * the client with `concurrency: 1`: the store's pragmas hold per connection, and a pool of several
 * could run a transaction on a connection without foreign_keys=ON and synchronous=FULL.
 */
import type { SqlExecutor, SqlRow, SqlStatement, SqlValue } from "./executor.ts";

type LibsqlValue = null | string | number | bigint | ArrayBuffer | Uint8Array | boolean | Date;

/** The part of @libsql/client's `Client` the store uses. */
export interface LibsqlClientLike {
  execute(statement: { sql: string; args: SqlValue[] }): Promise<{ rows: ArrayLike<Record<string, LibsqlValue>> }>;
  batch(statements: Array<{ sql: string; args: SqlValue[] }>, mode: "write"): Promise<unknown>;
  close(): void;
}

export function libsqlExecutor(client: LibsqlClientLike, kind: "file" | "remote", location: string): SqlExecutor {
  return {
    kind,
    location,
    async all(sql, params = []) {
      const result = await client.execute({ sql, args: [...params] });
      return Array.from(result.rows, toRow);
    },
    async run(sql, params = []) {
      await client.execute({ sql, args: [...params] });
    },
    async transaction(statements: readonly SqlStatement[]) {
      if (statements.length === 0) return;
      await client.batch(statements.map((s) => ({ sql: s.sql, args: [...s.params] })), "write");
    },
    close() {
      client.close();
      return Promise.resolve();
    },
  };
}

function toRow(row: Record<string, LibsqlValue>): SqlRow {
  const out: Record<string, SqlValue> = {};
  for (const name of Object.keys(row)) {
    const value = row[name];
    if (value instanceof ArrayBuffer) out[name] = new Uint8Array(value);
    else if (typeof value === "boolean") out[name] = value ? 1 : 0;
    else if (value instanceof Date) out[name] = value.getTime();
    else out[name] = value;
  }
  return out;
}
