/** The admin Hono app on its own: probes follow readiness, assets come from the injected reader. */
import { describe, expect, test } from "bun:test";
import { createAdminApp } from "../../src/admin/mod.ts";
import { Readiness } from "../../src/app/readiness.ts";

const files: Record<string, string> = { "index.html": "<h1>Gannet</h1>", "app/main.js": "console.log(1)" };

function setup() {
  const readiness = new Readiness();
  const app = createAdminApp({
    version: "9.9.9",
    runtime: "test",
    readiness: () => readiness.state,
    uptime: () => 5,
    assets: (path) => Promise.resolve(path in files ? new TextEncoder().encode(files[path]) : undefined),
  });
  return { app, readiness };
}

describe("admin app", () => {
  test("/healthz answers while the process runs", async () => {
    const res = await setup().app.request("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", version: "9.9.9", runtime: "test", uptime: 5 });
  });

  test("/readyz is 503 until every requirement is done, and again while shutting down", async () => {
    const { app, readiness } = setup();
    readiness.require("store");
    readiness.require("listeners");
    let res = await app.request("/readyz");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "not ready", waitingFor: ["store", "listeners"] });
    readiness.done("store");
    readiness.done("listeners");
    res = await app.request("/readyz");
    expect(res.status).toBe(200);
    readiness.shuttingDown();
    res = await app.request("/readyz");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "not ready", waitingFor: ["shutting down"] });
  });

  test("the console's files, with content types; / is index.html", async () => {
    const { app } = setup();
    const page = await app.request("/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await page.text()).toBe(files["index.html"]);
    const js = await app.request("/app/main.js");
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
  });

  test("unknown files and paths leaving web/ are 404", async () => {
    const { app } = setup();
    for (const path of ["/nope.html", "/app/../../package.json", "/%2e%2e/package.json", "/..%2fpackage.json"]) {
      expect({ path, status: (await app.request(path)).status }).toEqual({ path, status: 404 });
    }
  });
});
