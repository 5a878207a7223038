/** The store contract against SQLite through bun:sqlite, plus the Bun adapter's openStore(). */
import { Database } from "bun:sqlite";
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, test } from "node:test";
import { bunSqliteExecutor, openStore } from "../../adapters/bun/sqlite.ts";
import { SqliteStore } from "../../src/store/sqlite/store.ts";
import type { SqlRow } from "../../src/store/sqlite/executor.ts";
import { storeContract } from "./contract.ts";
import { sqliteContract } from "./contract-sqlite.ts";
import { recording, rejection, session, type SqliteTarget, withDir } from "./fixtures.ts";

const file = (dir: string) => join(dir, "gannet.db");
const transactions: string[][] = [];

const target: SqliteTarget = {
  name: "SQLite (bun:sqlite)",
  durable: true,
  open: (dir, options) => {
    const db = new Database(file(dir), { create: true, strict: true });
    if (options?.maxPageCount) db.run(`PRAGMA max_page_count = ${options.maxPageCount}`);
    return SqliteStore.open(recording(bunSqliteExecutor(db), transactions), options);
  },
  restart: async (store, dir, options) => {
    await store.close();
    return target.open(dir, options);
  },
  sqlite: {
    file,
    transactions,
    query: (dir, sql) => {
      const db = new Database(file(dir));
      try {
        return Promise.resolve(db.query(sql).all() as SqlRow[]);
      } finally {
        db.close();
      }
    },
  },
};

storeContract(target);
sqliteContract(target);

describe("Bun adapter: openStore()", () => {
  test("opens a path and a file: URL to the same database", () =>
    withDir(async (dir) => {
      const byPath = await openStore(file(dir), { commitIntervalMs: 0 });
      byPath.saveSession(session("p"));
      await byPath.close();
      const byUrl = await openStore(pathToFileURL(file(dir)).href);
      assert.deepEqual((await byUrl.load()).sessions.map((s) => s.clientId), ["p"]);
      await byUrl.close();
    }));

  test("a libSQL server URL goes through @libsql/client (an unreachable one rejects)", async () => {
    const error = await rejection(openStore("http://127.0.0.1:9/"));
    assert.ok(error instanceof Error);
  });
});
