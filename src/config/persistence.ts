/** The `persistence` section: where durable state lives (see README "Persistence"). */
import * as z from "zod/mini";
import { described } from "./zod.ts";

export const persistenceSchema = z.strictObject({
  store: described(
    z._default(z.enum(["sqlite", "libsql", "memory"]), "sqlite"),
    "sqlite: a local SQLite file (bun:sqlite on Bun, libSQL on Deno); libsql: a libSQL server (sqld, Turso) at `url`; " +
      "memory: nothing survives a restart",
  ),
  path: described(
    z._default(z.string().check(z.minLength(1)), "gannet.db"),
    "sqlite: the database file; a relative path is relative to the configuration file's directory " +
      "(with no file: to the working directory). The CLI commands use the same file",
  ),
  url: described(z.optional(z.string()), "libsql: the server URL (libsql://, http:// or https://)"),
  authToken: described(z.optional(z.string()), "libsql: the server's auth token (a secret; masked by `config print`)"),
  commitIntervalMs: described(
    z._default(z.number().check(z.minimum(0), z.maximum(1000)), 2),
    "group commit: at most this many milliseconds between a write and its transaction (acks wait for it)",
  ),
  maxDatabaseBytes: described(
    z._default(z.number().check(z.int(), z.minimum(0)), 0),
    "stop accepting new queued messages (v5 clients get 0x97) once the database is this large (0 = no limit)",
  ),
}).check(z.superRefine((value, ctx) => {
  if (value.store === "libsql" && !value.url) {
    ctx.addIssue({ code: "custom", path: ["url"], message: "persistence.store libsql needs persistence.url" });
  }
}));

export type PersistenceConfig = z.infer<typeof persistenceSchema>;
