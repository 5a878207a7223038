/**
 * The AdminStore contract (store.admin): admin accounts, API keys, the audit log. node:test and
 * node:assert like the SecurityStore contract, run by the same runners (memory, bun:sqlite, libSQL on Deno).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AdminAccount, ApiKeyRecord } from "../../src/security/admin-types.ts";
import type { Store } from "../../src/store/types.ts";
import { type StoreTarget, withDir } from "../store/fixtures.ts";

const account = (name: string, role: AdminAccount["role"] = "admin", at = 1000): AdminAccount => ({
  name,
  passwordHash: `$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$${name}`,
  role,
  createdAt: at,
  updatedAt: at,
});
const key = (id: string, owner: string, at = 2000): ApiKeyRecord => ({
  id,
  label: `key ${id}`,
  account: owner,
  role: "viewer",
  secretHash: "ab".repeat(32),
  createdAt: at,
  lastUsedAt: null,
});

export function adminContract(target: StoreTarget): void {
  const scenario = (name: string, run: (store: Store, dir: string) => Promise<Store>) =>
    test(name, () =>
      withDir(async (dir) => {
        const last = await run(await target.open(dir), dir);
        await last.close();
      }));

  describe(`AdminStore contract: ${target.name}`, () => {
    scenario("accounts: put inserts and replaces, sorted list, delete says whether there was one", async (store, dir) => {
      const s = store.admin;
      assert.deepEqual(await s.listAccounts(), []);
      await s.putAccount(account("zoe", "viewer"));
      await s.putAccount(account("amy"));
      await s.putAccount({ ...account("amy", "viewer"), updatedAt: 5000 });
      if (target.durable) store = await target.restart(store, dir);
      assert.deepEqual(await store.admin.listAccounts(), [{ ...account("amy", "viewer"), updatedAt: 5000 }, account("zoe", "viewer")]);
      assert.deepEqual(await store.admin.getAccount("zoe"), account("zoe", "viewer"));
      assert.equal(await store.admin.getAccount("nobody"), undefined);
      assert.equal(await store.admin.deleteAccount("zoe"), true);
      assert.equal(await store.admin.deleteAccount("zoe"), false);
      assert.deepEqual((await store.admin.listAccounts()).map((a) => a.name), ["amy"]);
      return store;
    });

    scenario("API keys: add, touch, delete; deleting the account revokes its keys", async (store, dir) => {
      const s = store.admin;
      await s.putAccount(account("amy"));
      await s.putAccount(account("bob"));
      await s.addApiKey(key("k1", "amy", 3000));
      await s.addApiKey(key("k2", "bob", 2000));
      await s.addApiKey(key("k3", "amy", 4000));
      await s.touchApiKey("k1", 9000);
      if (target.durable) store = await target.restart(store, dir);
      assert.deepEqual(await store.admin.getApiKey("k1"), { ...key("k1", "amy", 3000), lastUsedAt: 9000 });
      assert.deepEqual((await store.admin.listApiKeys()).map((k) => k.id), ["k2", "k1", "k3"]);
      assert.equal(await store.admin.deleteApiKey("k3"), true);
      assert.equal(await store.admin.deleteApiKey("k3"), false);
      await store.admin.deleteAccount("amy");
      assert.deepEqual((await store.admin.listApiKeys()).map((k) => k.id), ["k2"]);
      assert.equal(await store.admin.getApiKey("k1"), undefined);
      return store;
    });

    scenario("the audit log: newest first, paged, by actor and by action prefix", async (store, dir) => {
      const s = store.admin;
      for (let i = 1; i <= 5; i++) {
        await s.appendAudit({
          at: 1000 * i,
          actor: i % 2 ? "amy" : "cli",
          action: i <= 3 ? "user.add" : "acl.add",
          target: `t${i}`,
          detail: i === 1 ? JSON.stringify({ role: "admin" }) : null,
          address: i === 1 ? "127.0.0.1" : null,
        });
      }
      if (target.durable) store = await target.restart(store, dir);
      const all = await store.admin.listAudit();
      assert.equal(all.total, 5);
      assert.deepEqual(all.items.map((e) => e.target), ["t5", "t4", "t3", "t2", "t1"]);
      assert.ok(all.items[0].id > all.items[4].id);
      assert.deepEqual(
        { ...all.items[4], id: 0 },
        { id: 0, at: 1000, actor: "amy", action: "user.add", target: "t1", detail: '{"role":"admin"}', address: "127.0.0.1" },
      );
      const page = await store.admin.listAudit({ offset: 1, limit: 2 });
      assert.deepEqual({ total: page.total, targets: page.items.map((e) => e.target) }, { total: 5, targets: ["t4", "t3"] });
      const amy = await store.admin.listAudit({ actor: "amy" });
      assert.deepEqual(amy.items.map((e) => e.target), ["t5", "t3", "t1"]);
      const users = await store.admin.listAudit({ action: "user." });
      assert.deepEqual({ total: users.total, targets: users.items.map((e) => e.target) }, { total: 3, targets: ["t3", "t2", "t1"] });
      // A prefix is not a pattern: "%" and "_" match only themselves.
      assert.equal((await store.admin.listAudit({ action: "user%" })).total, 0);
      return store;
    });
  });
}
