/** Admin API routes over a memory store: accounts, MQTT users, ACL (and its tester), bans, audit, overview, config, OpenAPI. */
import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { createApi } from "../../src/admin/api/api.ts";
import { documentedRoutes, openApiPath } from "../../src/admin/api/openapi.ts";
import { verifyPassword } from "../../src/security/passwords.ts";
import { apiSetup } from "./api-helpers.ts";

describe("admin API routes", () => {
  test("accounts: add, change role and password (other logins of it end), delete; the last admin stays", async () => {
    const { login } = await apiSetup();
    const root = await login("root", "root-password");
    const added = await root.as("/accounts", "POST", { name: "ops", password: "ops-password", role: "admin" });
    expect(added.status).toBe(201);
    expect(await added.json()).toMatchObject({ name: "ops", role: "admin" });
    expect((await root.as("/accounts", "POST", { name: "ops", password: "ops-password" })).status).toBe(409);
    const ops = await login("ops", "ops-password");
    expect((await root.as("/accounts/ops", "PATCH", { password: "new-password" })).status).toBe(200);
    expect((await ops.as("/overview")).status).toBe(401); // its session ended with the password change
    await login("ops", "new-password");
    expect(await (await root.as("/accounts/ops", "PATCH", { role: "viewer" })).json()).toMatchObject({ role: "viewer" });
    const last = await root.as("/accounts/root", "DELETE");
    expect(last.status).toBe(409);
    expect((await last.json()).error.message).toContain("last account with the admin role");
    expect((await root.as("/accounts/ops", "DELETE")).status).toBe(204);
    expect((await root.as("/accounts/ops", "DELETE")).status).toBe(404);
    const list = await (await root.as("/accounts")).json() as { items: Array<Record<string, unknown>> };
    expect(list.items.map((a) => a.name)).toEqual(["root", "watcher"]);
    expect(JSON.stringify(list)).not.toContain("argon2");
  });

  test("an account deleted or demoted outside the API (the CLI) loses its session's rights at once, and its keys' too", async () => {
    const { login, store, withKey } = await apiSetup();
    const root = await login("root", "root-password");
    await root.as("/accounts", "POST", { name: "ops", password: "ops-password", role: "admin" });
    const ops = await login("ops", "ops-password");
    const { key } = await (await ops.as("/api-keys", "POST", { label: "ops key", role: "admin" })).json() as { key: string };
    const account = (await store.admin.getAccount("ops"))!;
    await store.admin.putAccount({ ...account, role: "viewer" }); // as another process would
    expect((await ops.as("/users", "POST", { username: "x", password: "p" })).status).toBe(403);
    expect((await withKey(key)("/users", "POST", { username: "x", password: "p" })).status).toBe(403);
    await store.admin.putAccount({ ...account, role: "admin" });
    expect((await withKey(key)("/users", "POST", { username: "x", password: "p" })).status).toBe(201);
    await store.admin.deleteAccount("ops");
    const gone = await ops.as("/overview");
    expect(gone.status).toBe(401);
    expect((await gone.json()).error.message).toContain("no longer exists");
  });

  test("MQTT users: add, change password, list (no hashes), delete; the broker's security refreshes each time", async () => {
    const { login, store, refreshes } = await apiSetup();
    const root = await login("root", "root-password");
    expect((await root.as("/users", "POST", { username: "sensor", password: "pw1" })).status).toBe(201);
    expect((await root.as("/users", "POST", { username: "sensor", password: "pw1" })).status).toBe(409);
    expect((await root.as("/users/sensor/password", "PUT", { password: "pw2" })).status).toBe(204);
    expect((await verifyPassword("pw2", (await store.security.getUser("sensor"))!.passwordHash)).ok).toBe(true);
    expect((await root.as("/users/nobody/password", "PUT", { password: "x" })).status).toBe(404);
    const list = await (await root.as("/users")).json();
    expect(list).toEqual({ items: [{ username: "sensor", hash: "argon2id", createdAt: expect.any(Number), updatedAt: expect.any(Number) }], inFile: 0 });
    expect((await root.as("/users/sensor", "DELETE")).status).toBe(204);
    expect((await root.as("/users/sensor", "DELETE")).status).toBe(404);
    expect(refreshes()).toBe(3);
  });

  test("ACL rules keep their order and fields; the tester names the deciding rule or the default", async () => {
    const { login, config } = await apiSetup();
    config.acl.default = "deny";
    config.acl.rules = [{ topic: "file/#", action: "both", permission: "allow" }];
    const root = await login("root", "root-password");
    const add = (rule: Record<string, unknown>, position?: number) => root.as("/acl", "POST", { rule, position });
    expect(await (await add({ topic: "plant/%u/#", action: "publish", permission: "allow", username: "sensor", maxQos: 1 })).json()).toEqual({ position: 0 });
    expect(await (await add({ topic: "plant/secret", action: "both", permission: "deny" }, 0)).json()).toEqual({ position: 0 });
    const listed = await (await root.as("/acl")).json() as { default: string; fileRules: unknown[]; rules: Array<{ topic: string }> };
    expect(listed.default).toBe("deny");
    expect(listed.fileRules).toEqual([{ topic: "file/#", action: "both", permission: "allow" }]);
    expect(listed.rules).toEqual([
      { topic: "plant/secret", action: "both", permission: "deny" },
      { topic: "plant/%u/#", action: "publish", permission: "allow", username: "sensor", maxQos: 1 },
    ]);
    const check = async (q: Record<string, unknown>) => await (await root.as("/acl/test", "POST", q)).json();
    expect(await check({ username: "sensor", action: "publish", topic: "plant/sensor/t" })).toMatchObject({
      allowed: true,
      rule: { source: "database", position: 1 },
    });
    expect(await check({ username: "sensor", action: "publish", topic: "plant/sensor/t", qos: 2 })).toMatchObject({ allowed: false, why: expect.any(String) });
    expect(await check({ username: "other", action: "publish", topic: "plant/sensor/t" })).toEqual({ allowed: false, rule: null });
    expect(await check({ action: "subscribe", topic: "file/x" })).toMatchObject({ allowed: true, rule: { source: "file", position: 0 } });
    expect((await root.as("/acl/0", "DELETE")).status).toBe(204);
    expect((await root.as("/acl/5", "DELETE")).status).toBe(404);
    expect((await (await root.as("/acl")).json() as { rules: unknown[] }).rules.length).toBe(1);
  });

  test("bans: add (addresses canonical, CIDR in the path), list, lift", async () => {
    const { login, store } = await apiSetup();
    const root = await login("root", "root-password");
    const added = await root.as("/bans", "POST", { kind: "address", value: "10.1.2.3/8", reason: "scanner", durationSeconds: 60 });
    expect(added.status).toBe(201);
    expect(await added.json()).toMatchObject({ kind: "address", value: "10.0.0.0/8", reason: "scanner", expiresAt: 1_000_000 + 60_000 });
    await root.as("/bans", "POST", { kind: "clientId", value: "flappy" });
    expect((await (await root.as("/bans")).json() as { items: unknown[] }).items.length).toBe(2);
    expect((await root.as(`/bans/address/${encodeURIComponent("10.0.0.0/8")}`, "DELETE")).status).toBe(204);
    expect((await root.as("/bans/clientId/flappy", "DELETE")).status).toBe(204);
    expect((await root.as("/bans/clientId/flappy", "DELETE")).status).toBe(404);
    expect(await store.security.listBans(0)).toEqual([]);
  });

  test("the audit log records who changed what, newest first, with paging and filters", async () => {
    const { login } = await apiSetup();
    const root = await login("root", "root-password");
    await root.as("/users", "POST", { username: "a", password: "p" });
    await root.as("/bans", "POST", { kind: "username", value: "b" });
    await root.as("/users/a", "DELETE");
    const page = await (await root.as("/audit?limit=2")).json() as { items: Array<Record<string, unknown>>; total: number };
    expect(page.total).toBe(4); // with the login
    expect(page.items.map((e) => [e.actor, e.action, e.target])).toEqual([["root", "user.delete", "a"], ["root", "ban.add", "username:b"]]);
    const users = await (await root.as("/audit?action=user.")).json() as { items: Array<Record<string, unknown>> };
    expect(users.items.map((e) => e.action)).toEqual(["user.delete", "user.add"]);
  });

  test("overview, effective configuration with secrets masked, reload", async () => {
    const { login, config } = await apiSetup();
    config.admin.initialPassword = "do-not-show-me";
    const viewer = await login("watcher", "watcher-password");
    expect(await (await viewer.as("/overview")).json()).toMatchObject({ version: "9.9.9", runtime: "test", uptime: 5, clientsConnected: 0, retained: expect.any(Number), storeSize: null, listeners: [] });
    const shown = await (await viewer.as("/config")).json() as { config: { admin: Record<string, unknown> } };
    expect(shown.config.admin.port).toBe(18083);
    expect(JSON.stringify(shown)).not.toContain("do-not-show-me");
    const root = await login("root", "root-password");
    expect(await (await root.as("/config/reload", "POST")).json()).toEqual({ ok: true, applied: ["logging"], restart: [], problems: [] });
  });

  test("OpenAPI 3.1: every route is documented with its access, and the document is valid JSON Schema output", async () => {
    const { call } = await apiSetup();
    const doc = await (await call("/openapi.json")).json() as { openapi: string; paths: Record<string, Record<string, { "x-access": string }>> };
    expect(doc.openapi).toBe("3.1.0");
    const api = createApi({ version: "1", runtime: "t", management: () => undefined });
    const routes = api.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`);
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`));
    expect([...new Set(routes)].sort()).toEqual(documented.sort());
    expect(doc.paths["/auth/login"]!.post!["x-access"]).toBe("public");
    expect(doc.paths["/users"]!.post!["x-access"]).toBe("admin");
    expect(documentedRoutes().length).toBe(documented.length);
    expect(z.object({ openapi: z.literal("3.1.0") }).safeParse(doc).success).toBe(true);
  });
});
