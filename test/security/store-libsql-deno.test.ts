/** Runs the SecurityStore contract on Deno with libSQL (test/security/store-libsql.deno.ts) as a child process. */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { runCommand } from "../store/fixtures.ts";

const root = join(import.meta.dirname ?? ".", "..", "..");

test("SecurityStore contract: libSQL file on Deno (deno test test/security/store-libsql.deno.ts)", async () => {
  const { code, output } = await runCommand(join(root, "node_modules", "deno", "deno"), [
    "test",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-ffi",
    "--allow-sys",
    "--allow-run",
    "test/security/store-libsql.deno.ts",
  ], root);
  if (code !== 0) console.error(`deno test exited with ${code}\n${output}`);
  expect(code).toBe(0);
  expect(output).toMatch(/ok \| \d+ passed \(\d+ steps\) \| 0 failed/);
}, 120_000);
