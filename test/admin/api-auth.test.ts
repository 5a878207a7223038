/** Admin API access: login and session cookie, CSRF, roles, API keys, expiry, rate limit, headers, errors. */
import { describe, expect, test } from "bun:test";
import { CONTENT_SECURITY_POLICY } from "../../src/admin/app.ts";
import { apiSetup } from "./api-helpers.ts";

describe("admin API access", () => {
  test("everything but login and openapi.json needs a login: 401 with a JSON error", async () => {
    const { call } = await apiSetup();
    for (const path of ["/overview", "/accounts", "/users", "/auth/me", "/audit"]) {
      const res = await call(path);
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
      expect(await res.json()).toEqual({ error: { code: "unauthorized", message: expect.stringContaining("log in first") } });
    }
    expect((await call("/openapi.json")).status).toBe(200);
  });

  test("login sets an HttpOnly SameSite=Strict cookie with an expiry; me tells account, role and CSRF token; logout ends it", async () => {
    const { login, call } = await apiSetup();
    const root = await login("root", "root-password");
    expect(root.setCookie).toMatch(/^gannet_session=[A-Za-z0-9_-]{43}; Max-Age=28800; Path=\/; HttpOnly; SameSite=Strict$/);
    const me = await root.as("/auth/me");
    expect(await me.json()).toMatchObject({ account: "root", role: "admin", via: "session", csrfToken: root.csrfToken });
    expect((await root.as("/auth/logout", "POST")).status).toBe(204);
    const after = await call("/auth/me", { headers: { cookie: root.cookie } });
    expect(after.status).toBe(401);
    expect((await after.json()).error.message).toContain("expired or ended");
  });

  test("wrong password and unknown account get the same 401; both are audited as login.failed", async () => {
    const { call, store } = await apiSetup();
    for (const [name, password] of [["root", "nope-nope"], ["ghost", "root-password"]]) {
      const res = await call("/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, password }) });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: { code: "unauthorized", message: "wrong account name or password" } });
    }
    const audit = await store.admin.listAudit();
    expect(audit.items.map((e) => [e.action, e.actor, e.address])).toEqual([["login.failed", "ghost", "10.0.0.1"], ["login.failed", "root", "10.0.0.1"]]);
  });

  test("a session that expired (admin.sessionTimeout without use) is refused", async () => {
    const { login, advance } = await apiSetup();
    const root = await login("root", "root-password");
    advance(28_799_000);
    const used = await root.as("/overview");
    expect(used.status).toBe(200); // use moves the expiry ahead, in the browser's cookie too
    expect(used.headers.get("set-cookie")).toContain("Max-Age=28800");
    advance(28_799_000);
    expect((await root.as("/overview")).status).toBe(200);
    advance(28_800_000);
    const res = await root.as("/overview");
    expect(res.status).toBe(401);
    expect((await res.json()).error.message).toContain("expired");
  });

  test("CSRF: a state-changing request with the cookie but without the token, or from another origin, is refused", async () => {
    const { login, call, store } = await apiSetup();
    const root = await login("root", "root-password");
    const body = JSON.stringify({ username: "u1", password: "p" });
    const noToken = await call("/users", { method: "POST", headers: { cookie: root.cookie, "content-type": "application/json" }, body });
    expect(noToken.status).toBe(403);
    expect((await noToken.json()).error.code).toBe("csrf");
    const wrong = await root.as("/users", "POST", { username: "u1", password: "p" }, { "x-csrf-token": "guess" });
    expect(wrong.status).toBe(403);
    const foreign = await root.as("/users", "POST", { username: "u1", password: "p" }, { origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect((await foreign.json()).error.message).toContain("another origin");
    expect(await store.security.listUsers()).toEqual([]);
    expect((await root.as("/users", "POST", { username: "u1", password: "p" }, { origin: "http://gannet.test" })).status).toBe(201);
  });

  test("a viewer reads but changes nothing (403), and may log out", async () => {
    const { login, store } = await apiSetup();
    const viewer = await login("watcher", "watcher-password");
    expect((await viewer.as("/overview")).status).toBe(200);
    expect((await viewer.as("/accounts")).status).toBe(200);
    const attempts: Array<[string, string, unknown]> = [
      ["/users", "POST", { username: "u", password: "p" }],
      ["/acl", "POST", { rule: { topic: "#", action: "both", permission: "allow" } }],
      ["/bans", "POST", { kind: "clientId", value: "x" }],
      ["/accounts", "POST", { name: "new", password: "long enough" }],
      ["/accounts/root", "DELETE", undefined],
      ["/api-keys", "POST", { label: "mine" }],
      ["/config/reload", "POST", undefined],
    ];
    for (const [path, method, body] of attempts) {
      const res = await viewer.as(path, method, body);
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
      expect((await res.json()).error.message).toContain("viewer role");
    }
    expect(await store.security.listUsers()).toEqual([]);
    expect((await store.admin.listAccounts()).length).toBe(2);
    expect((await viewer.as("/auth/logout", "POST")).status).toBe(204);
  });

  test("API keys: Bearer works without CSRF, with the key's role; a revoked or malformed key is 401", async () => {
    const { login, withKey, store } = await apiSetup();
    const root = await login("root", "root-password");
    const created = await root.as("/api-keys", "POST", { label: "automation", role: "admin" });
    expect(created.status).toBe(201);
    const { key, apiKey } = await created.json() as { key: string; apiKey: { id: string; account: string; role: string } };
    expect(apiKey).toMatchObject({ account: "root", role: "admin" });
    const automation = withKey(key);
    expect((await automation("/users", "POST", { username: "from-key", password: "p" })).status).toBe(201);
    expect((await store.admin.listAudit({ action: "user." })).items[0]).toMatchObject({ actor: `key:${apiKey.id}`, target: "from-key" });
    const listed = await (await root.as("/api-keys")).json() as { items: Array<Record<string, unknown>> };
    expect(listed.items[0]).not.toHaveProperty("secretHash");

    const viewerKey = (await (await root.as("/api-keys", "POST", { label: "grafana" })).json() as { key: string }).key;
    expect((await withKey(viewerKey)("/overview")).status).toBe(200);
    expect((await withKey(viewerKey)("/users", "POST", { username: "x", password: "p" })).status).toBe(403);

    expect((await root.as(`/api-keys/${apiKey.id}`, "DELETE")).status).toBe(204);
    const revoked = await automation("/overview");
    expect(revoked.status).toBe(401);
    expect((await revoked.json()).error.message).toContain("revoked");
    expect((await withKey("not-a-key")("/overview")).status).toBe(401);
  });

  test("login is rate limited per address: the 6th try within a minute is 429 with Retry-After, other addresses go on", async () => {
    const { call, advance } = await apiSetup();
    const attempt = (password: string, address = "10.0.0.9") =>
      call("/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "root", password }) }, address);
    for (let i = 0; i < 5; i++) expect((await attempt("wrong-wrong")).status).toBe(401);
    const limited = await attempt("root-password");
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await limited.json()).error.code).toBe("rate_limited");
    expect((await attempt("root-password", "10.0.0.10")).status).toBe(200);
    advance(60_000);
    expect((await attempt("root-password")).status).toBe(200);
  });

  test("bad input is 400 with what was wrong, and reaches nothing", async () => {
    const { login, store } = await apiSetup();
    const root = await login("root", "root-password");
    const cases: Array<[string, string, unknown, string]> = [
      ["/accounts", "POST", { name: "x", password: "short" }, "body.password"],
      ["/accounts", "POST", { name: "x", password: "long enough", role: "root" }, "body.role"],
      ["/acl", "POST", { rule: { topic: "a/#/b", action: "both", permission: "allow" } }, "not a valid topic filter"],
      ["/acl", "POST", { rule: { topic: "a", action: "both", permission: "deny", maxQos: 1 } }, "allow rules only"],
      ["/bans", "POST", { kind: "address", value: "999.1.1.1" }, "999.1.1.1"],
      ["/users", "POST", { username: "u" }, "body.password"],
      ["/users", "POST", { username: "u", password: "p", extra: 1 }, "extra"],
      ["/audit?limit=0", "GET", undefined, "query.limit"],
    ];
    for (const [path, method, body, reason] of cases) {
      const res = await root.as(path, method, body);
      const json = await res.json() as { error: { code: string; message: string } };
      expect({ path, status: res.status, code: json.error.code }).toEqual({ path, status: 400, code: "bad_request" });
      expect(json.error.message).toContain(reason);
    }
    const notJson = await root.as("/users", "POST", undefined, { "content-type": "application/json" });
    expect(notJson.status).toBe(400);
    expect(await store.security.listUsers()).toEqual([]);
    expect(await store.security.listAclRules()).toEqual([]);
  });

  test("503 with a reason while the broker starts; headers: CSP, nosniff, no-store", async () => {
    const setup = await apiSetup({ started: false });
    const res = await setup.call("/overview");
    expect(res.status).toBe(503);
    expect((await res.json()).error.code).toBe("starting");
    expect(res.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect((await setup.app.request("/healthz")).headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
  });

  test("unknown API routes are a JSON 404", async () => {
    const { login } = await apiSetup();
    const root = await login("root", "root-password");
    const res = await root.as("/nope");
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe("not_found");
  });
});
