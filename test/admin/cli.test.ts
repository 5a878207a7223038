/**
 * `gannet admin ...` (console/API accounts and API keys) as an operator runs it, under Bun and Deno,
 * and the first start that creates `admin` with a password printed once.
 */
import { describe, expect, test } from "bun:test";
import { checkApiKey, checkLogin } from "../../src/security/admin-accounts.ts";
import { SqliteAdminStore } from "../../src/store/sqlite/admin.ts";
import { verifyPassword } from "../../src/security/passwords.ts";
import { RUNTIMES, startBroker, tempDatabase } from "../helpers/broker.ts";
import { gannet, query } from "../security/cli-helpers.ts";

const TIMEOUT = 60_000;

for (const runtime of RUNTIMES) {
  describe(`gannet admin commands (${runtime})`, () => {
    const at = (file: string) => ["--set", `persistence.path=${file}`];
    const run = (file: string, args: string[], stdin?: string) => gannet(runtime, [...args, ...at(file)], { stdin });

    test("admin add / passwd / list / delete; argon2id in SQLite, never in the output; the last admin stays", async () => {
      const file = tempDatabase("admin-cli");
      expect(await run(file, ["admin", "add", "ops"], "first password\n")).toMatchObject({ code: 0 });
      expect(await run(file, ["admin", "add", "watcher", "--role", "viewer", "--password", "viewer pass"])).toMatchObject({ code: 0 });
      const rows = query(file, "SELECT name, role, password_hash FROM admin_accounts ORDER BY name");
      expect(rows.map((r) => [r.name, r.role])).toEqual([["ops", "admin"], ["watcher", "viewer"]]);
      expect(await verifyPassword("first password", String(rows[0]!.password_hash))).toEqual({ ok: true, needsRehash: false });

      const short = await run(file, ["admin", "add", "x", "--password", "short"]);
      expect(short.code).toBe(2);
      expect(short.stderr).toContain("at least 8 characters");
      const badRole = await run(file, ["admin", "add", "y", "--role", "root", "--password", "long enough"]);
      expect(badRole.code).toBe(2);
      expect(badRole.stderr).toContain("--role expects admin or viewer");
      expect((await run(file, ["admin", "add", "ops", "--password", "long enough"])).stderr).toContain("exists");

      expect(await run(file, ["admin", "passwd", "ops"], "second password\n")).toMatchObject({ code: 0 });
      const [changed] = query(file, "SELECT password_hash FROM admin_accounts WHERE name = 'ops'");
      expect((await verifyPassword("second password", String(changed!.password_hash))).ok).toBe(true);

      const list = await run(file, ["admin", "list"]);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/ops\s+admin/);
      expect(list.stdout).toMatch(/watcher\s+viewer/);
      expect(list.stdout).not.toContain("$argon2id");

      const last = await run(file, ["admin", "delete", "ops"]);
      expect(last.code).toBe(1);
      expect(last.stderr).toContain("last account with the admin role");
      expect(await run(file, ["admin", "delete", "watcher"])).toMatchObject({ code: 0 });
      expect((await run(file, ["admin", "delete", "watcher"])).stderr).toContain('no admin account "watcher"');

      const audit = query(file, "SELECT actor, action, target FROM admin_audit ORDER BY id");
      expect(audit).toEqual([
        { actor: "cli", action: "admin.add", target: "ops" },
        { actor: "cli", action: "admin.add", target: "watcher" },
        { actor: "cli", action: "admin.passwd", target: "ops" },
        { actor: "cli", action: "admin.delete", target: "watcher" },
      ]);
    }, TIMEOUT);

    test("admin key create prints the key once; it authenticates until revoked; only a hash is stored", async () => {
      const file = tempDatabase("admin-keys");
      await run(file, ["admin", "add", "ops", "--password", "long enough"]);
      const created = await run(file, ["admin", "key", "create", "--account", "ops", "--label", "grafana", "--role", "viewer"]);
      expect(created.code).toBe(0);
      const key = created.stdout.split("\n")[0]!;
      // The secret is base64url, so it may itself contain "_": take the parts by position, not split("_").
      const parts = /^gnt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/.exec(key);
      expect(parts).not.toBeNull();
      const [, id, secret] = parts! as unknown as [string, string, string];
      const [row] = query(file, "SELECT * FROM admin_api_keys");
      expect(row).toMatchObject({ id, account: "ops", role: "viewer", label: "grafana" });
      expect(JSON.stringify(row)).not.toContain(secret);

      const { Database } = await import("bun:sqlite");
      const { bunSqliteExecutor } = await import("../../adapters/bun/sqlite.ts");
      const db = new Database(file);
      const store = new SqliteAdminStore(bunSqliteExecutor(db));
      expect((await checkApiKey(store, key, 1))?.id).toBe(id);
      expect(await checkApiKey(store, key.slice(0, -1) + (key.endsWith("A") ? "B" : "A"), 1)).toBeUndefined();
      expect((await checkLogin(store, "ops", "long enough", 1))?.name).toBe("ops");
      expect(await checkLogin(store, "ops", "wrong", 1)).toBeUndefined();

      const list = await run(file, ["admin", "key", "list"]);
      expect(list.stdout).toMatch(new RegExp(`${id}\\s+ops\\s+viewer`));
      expect(await run(file, ["admin", "key", "revoke", id])).toMatchObject({ code: 0 });
      expect(await checkApiKey(store, key, 2)).toBeUndefined();
      expect((await run(file, ["admin", "key", "revoke", id])).code).toBe(1);
      const noAccount = await run(file, ["admin", "key", "create", "--account", "nobody"]);
      expect(noAccount.stderr).toContain('no admin account "nobody"');
      db.close();
    }, TIMEOUT);

    test("first start with no admin account creates `admin` and logs its random password once", async () => {
      const database = tempDatabase("admin-first");
      const broker = await startBroker({ runtime, database });
      const line = await broker.waitForLog(/created the admin account 'admin' with a random password/);
      const password = /password=(\S+)/.exec(line)?.[1] ?? JSON.parse(line).password;
      expect(String(password)).toMatch(/^[A-Za-z0-9_-]{20}$/);
      await broker.stop();
      const [row] = query(database, "SELECT name, role, password_hash FROM admin_accounts");
      expect(row).toMatchObject({ name: "admin", role: "admin" });
      expect((await verifyPassword(String(password), String(row!.password_hash))).ok).toBe(true);
      const again = await startBroker({ runtime, database });
      await again.stop();
      expect(again.logs()).not.toContain("created the admin account");
    }, TIMEOUT);

    test("admin.initialPassword (--set) sets the first password and is not logged", async () => {
      const database = tempDatabase("admin-initial");
      const broker = await startBroker({ runtime, database, set: { "admin.initialPassword": "from-the-config-1" } });
      await broker.stop();
      expect(broker.logs()).toContain("created the admin account 'admin' with admin.initialPassword");
      expect(broker.logs()).not.toContain("from-the-config-1");
      const [row] = query(database, "SELECT password_hash FROM admin_accounts WHERE name = 'admin'");
      expect((await verifyPassword("from-the-config-1", String(row!.password_hash))).ok).toBe(true);
    }, TIMEOUT);
  });
}
