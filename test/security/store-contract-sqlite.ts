/** The SQLite-only part of the SecurityStore contract: the broker's and the CLI's connections to one file. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import { type SqliteTarget, withDir } from "../store/fixtures.ts";
import { ban, rule, user } from "./store-contract.ts";

const root = join(import.meta.dirname ?? ".", "..", "..");

/** Two connections to one file: the broker's store and the CLI's, in separate processes in real life. */
export function sqliteConcurrencyContract(target: SqliteTarget): void {
  describe(`SecurityStore contract, SQLite part: ${target.name}`, () => concurrencyTests(target));
}

function concurrencyTests(target: SqliteTarget): void {
  test("a second store on the same file (the CLI) writes while the first (the broker) is open", () =>
    withDir(async (dir) => {
      const broker = await target.open(dir);
      const cli = await target.open(dir);
      broker.saveSession({ clientId: "s", expiryInterval: 60, disconnectedAt: null });
      const committing = broker.commit();
      await cli.security.putUser(user("added-by-cli"));
      await cli.security.addAclRule(rule("t"));
      await committing;
      assert.deepEqual((await broker.security.listUsers()).map((u) => u.username), ["added-by-cli"]);
      await broker.security.addBan(ban("clientId", "b"));
      assert.deepEqual((await cli.security.listBans(0)).map((b) => b.value), ["b"]);
      await cli.close();
      await broker.close();
    }));

  test("a write waits for another process's transaction (busy_timeout) instead of failing", () =>
    withDir(async (dir) => {
      const store = await target.open(dir);
      const file = target.sqlite.file(dir);
      const holder = spawn(join(root, "node_modules", ".bin", "bun"), ["test/security/hold-lock.ts", file, "700"], {
        cwd: root,
      });
      const exited = new Promise<number | null>((resolve) => holder.on("close", resolve));
      await new Promise<void>((resolve, reject) => {
        let out = "";
        holder.stdout.on("data", (chunk: Uint8Array) => {
          out += new TextDecoder().decode(chunk);
          if (out.includes("locked")) resolve();
        });
        holder.on("error", reject);
        holder.on("close", () => reject(new Error(`lock holder exited early: ${out}`)));
      });
      const started = performance.now();
      await store.security.addBan(ban("username", "while-locked"));
      assert.ok(performance.now() - started > 200, "the write waited for the lock");
      assert.equal(await exited, 0);
      assert.deepEqual((await store.security.listBans(0)).map((b) => b.value).sort(), [
        "from-lock-holder",
        "while-locked",
      ]);
      await store.close();
    }));
}
