/** The store surface for adapters (re-exported by src/mod.ts): the port, both stores, their errors. */
export type * from "./types.ts";
export { MemoryStore } from "./memory.ts";
export type { MemoryStoreOptions } from "./memory.ts";
export { DatabaseTooNewError, StoreFullError, StoreWriteError } from "./errors.ts";
export { SqliteStore } from "./sqlite/store.ts";
export type { SqliteStoreOptions } from "./sqlite/store.ts";
export type { SqlExecutor, SqlRow, SqlStatement, SqlValue } from "./sqlite/executor.ts";
export { libsqlExecutor } from "./sqlite/libsql.ts";
export type { LibsqlClientLike } from "./sqlite/libsql.ts";
export { migrations } from "./sqlite/migrations.ts";
export type { EmbeddedMigration } from "./sqlite/migrations.ts";
