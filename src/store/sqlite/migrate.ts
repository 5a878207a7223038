/**
 * A tiny migrator over the embedded migrations: `gannet_migrations` lists the ids applied; the
 * missing ones are applied in order, each in one transaction with its own bookkeeping row.
 * A database that lists an id this build does not know was written by a newer Gannet: it is
 * refused before anything is written (not even the journal mode), so it stays byte-identical.
 */
import { DatabaseTooNewError } from "../errors.ts";
import type { SqlExecutor } from "./executor.ts";
import type { EmbeddedMigration } from "./migrations.ts";
import { str } from "./rows.ts";
import { errorText } from "../../util/errors.ts";

const TABLE = "gannet_migrations";

/** Ids applied so far (reads only). */
export async function appliedMigrations(db: SqlExecutor): Promise<string[]> {
  const exists = await db.all("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", [TABLE]);
  if (exists.length === 0) return [];
  const rows = await db.all(`SELECT id FROM ${TABLE} ORDER BY applied_at, id`);
  return rows.map((row) => str(row, "id"));
}

/** Throws DatabaseTooNewError when `applied` holds an id that `known` does not. */
export function checkKnown(location: string, applied: readonly string[], known: readonly EmbeddedMigration[]): void {
  const ids = new Set(known.map((m) => m.id));
  const unknown = applied.filter((id) => !ids.has(id));
  if (unknown.length > 0) throw new DatabaseTooNewError(location, unknown, [...ids]);
}

/** Applies the migrations of `known` missing from `applied`; returns the ids it applied. */
export async function applyMigrations(
  db: SqlExecutor,
  applied: readonly string[],
  known: readonly EmbeddedMigration[],
  now: number,
): Promise<string[]> {
  await db.run(`CREATE TABLE IF NOT EXISTS ${TABLE} (id TEXT PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)`);
  const done = new Set(applied);
  const ran: string[] = [];
  for (const migration of known) {
    if (done.has(migration.id)) continue;
    try {
      await db.transaction([
        ...migration.statements.map((sql) => ({ sql, params: [] })),
        { sql: `INSERT INTO ${TABLE} (id, applied_at) VALUES (?, ?)`, params: [migration.id, now] },
      ]);
    } catch (e: unknown) {
      const reason = errorText(e);
      throw new Error(`database ${db.location}: migration ${migration.id} failed: ${reason}`, { cause: e });
    }
    ran.push(migration.id);
  }
  return ran;
}
