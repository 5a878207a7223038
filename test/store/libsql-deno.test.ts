/** Runs the store contract on Deno with libSQL (test/store/libsql.deno.ts) as a child process. */
import { expect, test } from "bun:test";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");

test("store contract: libSQL file on Deno (deno test test/store/libsql.deno.ts)", async () => {
  const child = Bun.spawn([
    join(root, "node_modules", ".bin", "deno"),
    "test",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-ffi",
    "--allow-sys",
    "test/store/libsql.deno.ts",
  ], { cwd: root, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (code !== 0) console.error(`deno test exited with ${code}\n${stdout}\n${stderr}`);
  expect(code).toBe(0);
  expect(stdout).toMatch(/ok \| \d+ passed \(\d+ steps\) \| 0 failed/);
}, 120_000);
