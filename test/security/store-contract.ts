/**
 * The SecurityStore contract (store.security): users, ordered ACL rules, bans with expiry. Written
 * with node:test and node:assert so `bun test` and `deno test` run it unchanged, against the same
 * StoreTarget as the session store contract (test/store/fixtures.ts). Runners: store-memory.test.ts,
 * store-sqlite-bun.test.ts (bun:sqlite), store-libsql.deno.ts (libSQL on Deno). Two connections to one
 * SQLite file: store-contract-sqlite.ts, which the SQLite runners call as well.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AclRule, Ban } from "../../src/security/types.ts";
import type { Store } from "../../src/store/types.ts";
import { type StoreTarget, withDir } from "../store/fixtures.ts";

export const user = (username: string, passwordHash = `$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$${username}`, at = 1000) => ({
  username,
  passwordHash,
  createdAt: at,
  updatedAt: at,
});
export const rule = (topic: string, extra: Partial<AclRule> = {}): AclRule => ({
  topic,
  action: "both",
  permission: "allow",
  ...extra,
});
export const ban = (kind: Ban["kind"], value: string, extra: Partial<Ban> = {}): Ban => ({
  kind,
  value,
  reason: "test",
  createdAt: 1000,
  expiresAt: null,
  ...extra,
});
const topics = async (store: Store) => (await store.security.listAclRules()).map((r) => r.topic);

export function securityContract(target: StoreTarget): void {
  const scenario = (name: string, run: (store: Store, dir: string) => Promise<Store>) =>
    test(name, () =>
      withDir(async (dir) => {
        const last = await run(await target.open(dir), dir);
        await last.close();
      }));

  describe(`SecurityStore contract: ${target.name}`, () => {
    scenario("an empty store has no users, rules or bans", async (store) => {
      assert.deepEqual(await store.security.listUsers(), []);
      assert.equal(await store.security.getUser("nobody"), undefined);
      assert.deepEqual(await store.security.listAclRules(), []);
      assert.deepEqual(await store.security.listBans(0), []);
      return store;
    });

    scenario(
      "users: put inserts and replaces, list is sorted, delete says whether there was one",
      async (store, dir) => {
        const s = store.security;
        await s.putUser(user("zoe"));
        await s.putUser(user("amy", "$7$101$c2FsdA==$aGFzaA=="));
        await s.putUser(user("ünï", "$6$c2FsdA==$aGFzaA=="));
        await s.putUser({ ...user("zoe", "$argon2id$new"), updatedAt: 2000 });
        store = await target.restart(store, dir);
        assert.deepEqual(await store.security.listUsers(), [
          user("amy", "$7$101$c2FsdA==$aGFzaA=="),
          { ...user("zoe", "$argon2id$new"), updatedAt: 2000 },
          user("ünï", "$6$c2FsdA==$aGFzaA=="),
        ]);
        assert.deepEqual(await store.security.getUser("amy"), user("amy", "$7$101$c2FsdA==$aGFzaA=="));
        assert.equal(await store.security.getUser("AMY"), undefined, "user names are case-sensitive");
        assert.equal(await store.security.deleteUser("amy"), true);
        assert.equal(await store.security.deleteUser("amy"), false);
        assert.deepEqual((await store.security.listUsers()).map((u) => u.username), ["zoe", "ünï"]);
        return store;
      },
    );

    scenario("returned records are copies", async (store) => {
      await store.security.putUser(user("a"));
      const got = await store.security.getUser("a");
      got!.passwordHash = "changed";
      assert.equal((await store.security.getUser("a"))!.passwordHash, user("a").passwordHash);
      await store.security.addAclRule(rule("x"));
      const [r] = await store.security.listAclRules();
      r!.topic = "changed";
      assert.deepEqual(await topics(store), ["x"]);
      return store;
    });

    scenario("ACL rules keep every field, in order, across a restart", async (store, dir) => {
      const rules: AclRule[] = [
        rule("sensors/%u/#", { username: "alice", action: "publish", maxQos: 1, retain: false }),
        rule("cmd/%c", { clientId: "dev-1", action: "subscribe", permission: "deny" }),
        rule("public/#", { anonymous: true, action: "subscribe", maxQos: 0 }),
        rule("#", { permission: "deny", retain: true }),
      ];
      for (const r of rules) await store.security.addAclRule(r);
      store = await target.restart(store, dir);
      assert.deepEqual(await store.security.listAclRules(), rules);
      return store;
    });

    scenario("addAclRule at a position inserts there; past the end appends", async (store) => {
      const s = store.security;
      await s.addAclRule(rule("b"));
      await s.addAclRule(rule("d"));
      await s.addAclRule(rule("a"), 0);
      await s.addAclRule(rule("c"), 2);
      await s.addAclRule(rule("e"), 99);
      await s.addAclRule(rule("f"));
      assert.deepEqual(await topics(store), ["a", "b", "c", "d", "e", "f"]);
      return store;
    });

    scenario("deleteAclRule removes by position and closes the gap", async (store, dir) => {
      const s = store.security;
      for (const t of ["a", "b", "c", "d"]) await s.addAclRule(rule(t));
      assert.equal(await s.deleteAclRule(1), true);
      assert.deepEqual(await topics(store), ["a", "c", "d"]);
      assert.equal(await s.deleteAclRule(3), false);
      assert.equal(await s.deleteAclRule(-1), false);
      assert.equal(await s.deleteAclRule(0.5), false);
      assert.equal(await s.deleteAclRule(2), true);
      assert.equal(await s.deleteAclRule(0), true);
      assert.deepEqual(await topics(store), ["c"]);
      await s.addAclRule(rule("b"), 0);
      await s.addAclRule(rule("d"));
      store = await target.restart(store, dir);
      assert.deepEqual(await topics(store), ["b", "c", "d"]);
      return store;
    });

    scenario("replaceAclRules replaces all of them, in order; an empty list clears", async (store) => {
      for (const t of ["x", "y"]) await store.security.addAclRule(rule(t));
      await store.security.replaceAclRules([rule("1"), rule("2", { username: "u" }), rule("3")]);
      assert.deepEqual(await topics(store), ["1", "2", "3"]);
      await store.security.addAclRule(rule("1.5"), 1);
      assert.deepEqual(await topics(store), ["1", "1.5", "2", "3"]);
      await store.security.replaceAclRules([]);
      assert.deepEqual(await store.security.listAclRules(), []);
      return store;
    });

    scenario("bans: add replaces by kind and value; listBans leaves out the expired", async (store, dir) => {
      const s = store.security;
      await s.addBan(ban("clientId", "flappy", { reason: "flapping", expiresAt: 5000 }));
      await s.addBan(ban("username", "flappy", { createdAt: 1001 }));
      await s.addBan(ban("address", "10.0.0.0/8", { createdAt: 1002, expiresAt: 9000 }));
      await s.addBan(ban("address", "2001:db8::/32", { createdAt: 1003, reason: "old" }));
      await s.addBan(ban("address", "2001:db8::/32", { createdAt: 1003, reason: "replaced" }));
      store = await target.restart(store, dir);
      assert.deepEqual(await store.security.listBans(1000), [
        ban("clientId", "flappy", { reason: "flapping", expiresAt: 5000 }),
        ban("username", "flappy", { createdAt: 1001 }),
        ban("address", "10.0.0.0/8", { createdAt: 1002, expiresAt: 9000 }),
        ban("address", "2001:db8::/32", { createdAt: 1003, reason: "replaced" }),
      ]);
      assert.deepEqual((await store.security.listBans(5000)).map((b) => b.kind + ":" + b.value), [
        "username:flappy",
        "address:10.0.0.0/8",
        "address:2001:db8::/32",
      ], "a ban expiring at `now` no longer applies");
      return store;
    });

    scenario("liftBan and deleteExpiredBans", async (store) => {
      const s = store.security;
      await s.addBan(ban("clientId", "a", { expiresAt: 2000 }));
      await s.addBan(ban("clientId", "b", { expiresAt: 3000 }));
      await s.addBan(ban("clientId", "c"));
      await s.addBan(ban("username", "c"));
      assert.equal(await s.liftBan("username", "c"), true);
      assert.equal(await s.liftBan("username", "c"), false);
      assert.equal(await s.liftBan("address", "c"), false);
      assert.equal(await s.deleteExpiredBans(1999), 0);
      assert.equal(await s.deleteExpiredBans(3000), 2);
      assert.equal(await s.deleteExpiredBans(3000), 0);
      assert.deepEqual((await s.listBans(0)).map((b) => b.value), ["c"]);
      return store;
    });

    scenario("security writes do not wait for, or disturb, the session group commit", async (store, dir) => {
      store.saveSession({ clientId: "s", expiryInterval: 60, disconnectedAt: null });
      await store.security.putUser(user("u"));
      await store.security.addBan(ban("clientId", "x"));
      await store.commit();
      store = await target.restart(store, dir);
      assert.deepEqual((await store.load()).sessions.map((s) => s.clientId), ["s"]);
      assert.deepEqual((await store.security.listUsers()).map((u) => u.username), ["u"]);
      return store;
    });
  });
}
