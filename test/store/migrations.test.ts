/**
 * The migrations stay in step: drizzle-kit sees no schema change that lacks a migration, and
 * src/store/sqlite/migrations.ts embeds exactly the committed .sql files.
 */
import { expect, test } from "bun:test";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { embeddedFile, migrationsDir, renderMigrations } from "../../scripts/embed-migrations.ts";
import { runCommand } from "./fixtures.ts";

const root = join(import.meta.dirname ?? ".", "..", "..");

test("src/store/sqlite/migrations.ts embeds the committed migrations (else: bun scripts/embed-migrations.ts)", () => {
  expect(readFileSync(embeddedFile, "utf8")).toBe(renderMigrations());
});

test("schema.ts has no change without a migration (else: drizzle-kit generate)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gannet-drizzle-"));
  try {
    cpSync(migrationsDir, join(dir, "migrations"), { recursive: true });
    const { code, output } = await runCommand(join(root, "node_modules", ".bin", "drizzle-kit"), [
      "generate",
      "--dialect=sqlite",
      "--schema=src/store/sqlite/schema.ts",
      `--out=${relative(root, join(dir, "migrations"))}`,
    ], root);
    expect({ code, noChanges: output.includes("No schema changes") }).toEqual({ code: 0, noChanges: true });
    expect(readdirSync(join(dir, "migrations")).sort()).toEqual(readdirSync(migrationsDir).sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
