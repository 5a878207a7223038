/**
 * The SecurityStore contract against libSQL (a `file:` URL through @libsql/client: the Deno
 * adapter's openStore) on Deno. Run by store-libsql-deno.test.ts (the name keeps it out of bun
 * test's glob):
 *   deno test --allow-read --allow-write --allow-env --allow-ffi --allow-sys --allow-run test/security/store-libsql.deno.ts
 */
import { createClient } from "@libsql/client";
import { join } from "node:path";
import { openStore } from "../../adapters/deno/sqlite.ts";
import { libsqlExecutor } from "../../src/store/sqlite/libsql.ts";
import type { SqliteTarget } from "../store/fixtures.ts";
import { adminContract } from "./admin-store-contract.ts";
import { securityContract } from "./store-contract.ts";
import { sqliteConcurrencyContract } from "./store-contract-sqlite.ts";

const file = (dir: string) => join(dir, "gannet.db");

const target: SqliteTarget = {
  name: "libSQL file (Deno)",
  durable: true,
  open: (dir, options) => openStore(file(dir), options),
  restart: async (store, dir, options) => {
    await store.close();
    return target.open(dir, options);
  },
  sqlite: {
    file,
    transactions: [],
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

securityContract(target);
sqliteConcurrencyContract(target);
adminContract(target);
