/** The SecurityStore contract against SQLite through bun:sqlite (the Bun adapter's openStore). */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { openStore } from "../../adapters/bun/sqlite.ts";
import type { SqlRow } from "../../src/store/sqlite/executor.ts";
import type { SqliteTarget } from "../store/fixtures.ts";
import { adminContract } from "./admin-store-contract.ts";
import { securityContract } from "./store-contract.ts";
import { sqliteConcurrencyContract } from "./store-contract-sqlite.ts";

const file = (dir: string) => join(dir, "gannet.db");

const target: SqliteTarget = {
  name: "SQLite (bun:sqlite)",
  durable: true,
  open: (dir, options) => openStore(file(dir), options),
  restart: async (store, dir, options) => {
    await store.close();
    return target.open(dir, options);
  },
  sqlite: {
    file,
    transactions: [],
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

securityContract(target);
sqliteConcurrencyContract(target);
adminContract(target);
