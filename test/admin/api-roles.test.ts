/**
 * Each role's rights on every documented route: nobody gets in without a login (401), a viewer may
 * read every viewer route and is refused every admin route (403) before anything runs, an admin key
 * passes the access check everywhere. Driven by the OpenAPI registry, so a new route is covered.
 */
import { describe, expect, test } from "bun:test";
import { documentedRoutes } from "../../src/admin/api/openapi.ts";
import { apiSetup } from "./api-helpers.ts";

/** A concrete path for a documented one: each parameter gets a harmless value. */
const concrete = (path: string) =>
  path.replace(/:([A-Za-z]+)(\{[^}]*\})?/g, (_, name: string) =>
    ({ clientId: "nobody", topic: "no/such/topic", username: "nobody", name: "nobody", id: "000000000000", position: "99", kind: "clientId", value: "nobody" })[name] ?? "x"
  );

const streaming = (path: string) => path.endsWith("/stream");

describe("access to every route", async () => {
  await apiSetup(); // registers the routes' documentation
  const routes = documentedRoutes();

  test("there are routes of each access kind", () => {
    expect(new Set(routes.map((r) => r.access))).toEqual(new Set(["public", "viewer", "admin"]));
  });

  test("without a login: 401 everywhere but the public routes", async () => {
    const { call } = await apiSetup();
    for (const r of routes.filter((r) => r.access !== "public")) {
      const res = await call(concrete(r.path) + (r.path === "/topics/stream" ? "?filter=%23" : ""), { method: r.method.toUpperCase() });
      expect({ route: `${r.method} ${r.path}`, status: res.status }).toEqual({ route: `${r.method} ${r.path}`, status: 401 });
    }
  });

  test("a viewer: every viewer route answers (not 401/403), every admin route is 403", async () => {
    const { login } = await apiSetup();
    const viewer = await login("watcher", "watcher-password");
    // Logout last: it ends the session the others use.
    const ordered = [...routes.filter((r) => r.access !== "public" && r.path !== "/auth/logout"), ...routes.filter((r) => r.path === "/auth/logout")];
    for (const r of ordered) {
      const path = concrete(r.path) + (r.path === "/topics/stream" ? "?filter=%23" : "");
      const body = r.method === "get" || r.method === "delete" ? undefined : {};
      const res = await viewer.as(path, r.method.toUpperCase(), body);
      if (streaming(r.path)) await res.body?.cancel();
      const route = `${r.method} ${r.path}`;
      if (r.access === "admin") expect({ route, status: res.status }).toEqual({ route, status: 403 });
      else expect({ route, denied: res.status === 401 || res.status === 403 }).toEqual({ route, denied: false });
    }
  });

  test("an admin API key passes the access check of every route (only 2xx, 400 or 404 come back)", async () => {
    const { login, withKey } = await apiSetup();
    const root = await login("root", "root-password");
    const { key } = await (await root.as("/api-keys", "POST", { label: "all routes", role: "admin" })).json() as { key: string };
    const asKey = withKey(key);
    for (const r of routes.filter((r) => r.access !== "public" && r.path !== "/auth/logout")) {
      const path = concrete(r.path) + (r.path === "/topics/stream" ? "?filter=%23" : "");
      const res = await asKey(path, r.method.toUpperCase(), r.method === "get" || r.method === "delete" ? undefined : {});
      if (streaming(r.path)) await res.body?.cancel();
      const route = `${r.method} ${r.path}`;
      expect({ route, ok: res.status < 300 || res.status === 400 || res.status === 404 }).toEqual({ route, ok: true });
    }
  });
});
