/**
 * The store contract against libSQL (a `file:` URL through @libsql/client) on Deno, plus the Deno
 * adapter's openStore(). Run by libsql-deno.test.ts (the name keeps it out of bun test's glob):
 *   deno test --allow-read --allow-write --allow-env --allow-ffi --allow-sys test/store/libsql.deno.ts
 */
import { createClient } from "@libsql/client";
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { openStore } from "../../adapters/deno/sqlite.ts";
import { libsqlExecutor } from "../../src/store/sqlite/libsql.ts";
import { SqliteStore } from "../../src/store/sqlite/store.ts";
import { storeContract } from "./contract.ts";
import { sqliteContract } from "./contract-sqlite.ts";
import { recording, session, type SqliteTarget, withDir } from "./fixtures.ts";

const file = (dir: string) => join(dir, "gannet.db");
const transactions: string[][] = [];

const target: SqliteTarget = {
  name: "libSQL file (Deno)",
  durable: true,
  open: async (dir, options) => {
    const client = createClient({ url: `file:${file(dir)}`, concurrency: 1 });
    if (options?.maxPageCount) await client.execute(`PRAGMA max_page_count = ${options.maxPageCount}`);
    return SqliteStore.open(recording(libsqlExecutor(client, "file", file(dir)), transactions), options);
  },
  restart: async (store, dir, options) => {
    await store.close();
    return target.open(dir, options);
  },
  sqlite: {
    file,
    transactions,
    query: async (dir, sql) => {
      const executor = libsqlExecutor(createClient({ url: `file:${file(dir)}` }), "file", file(dir));
      try {
        return await executor.all(sql);
      } finally {
        await executor.close();
      }
    },
  },
};

storeContract(target);
sqliteContract(target);

describe("Deno adapter: openStore()", () => {
  test("opens a path and a file: URL to the same database", () =>
    withDir(async (dir) => {
      const byPath = await openStore(file(dir), { commitIntervalMs: 0 });
      byPath.saveSession(session("p"));
      await byPath.close();
      const byUrl = await openStore(pathToFileURL(file(dir)).href);
      assert.deepEqual((await byUrl.load()).sessions.map((s) => s.clientId), ["p"]);
      await byUrl.close();
    }));
});
