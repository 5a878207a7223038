/** The `persistence` section: where durable state lives (see README "Persistence"). */
import { z } from "zod";

export const persistenceSchema = z.object({
  store: z.enum(["sqlite", "libsql", "memory"]).default("sqlite").describe(
    "sqlite: a local SQLite file (bun:sqlite on Bun, libSQL on Deno); libsql: a libSQL server (sqld, Turso) at `url`; " +
      "memory: nothing survives a restart",
  ),
  path: z.string().min(1).default("gannet.db").describe(
    "sqlite: the database file; a relative path is relative to the configuration file's directory " +
      "(with no file: to the working directory). The CLI commands use the same file",
  ),
  url: z.string().optional().describe("libsql: the server URL (libsql://, http:// or https://)"),
  authToken: z.string().optional().describe("libsql: the server's auth token (a secret; masked by `config print`)"),
  commitIntervalMs: z.number().min(0).max(1000).default(2).describe(
    "group commit: at most this many milliseconds between a write and its transaction (acks wait for it)",
  ),
  maxDatabaseBytes: z.number().int().min(0).default(0).describe(
    "stop accepting new queued messages (v5 clients get 0x97) once the database is this large (0 = no limit)",
  ),
}).strict().superRefine((value, ctx) => {
  if (value.store === "libsql" && !value.url) {
    ctx.addIssue({ code: "custom", path: ["url"], message: "persistence.store libsql needs persistence.url" });
  }
});

export type PersistenceConfig = z.infer<typeof persistenceSchema>;
