/**
 * The admin HTTP app (Hono, runtime-neutral): health and readiness probes (open), the admin API
 * under /api/v1 (login or API key), and the console's static files. Each runtime adapter serves it
 * over HTTP, passes the requester's address, and injects how assets are read, so the executable
 * can embed them. Every answer carries a Content-Security-Policy that allows only this origin.
 */
import { Hono } from "hono";
import { type AssetReader, assetPath, contentTypeOf } from "./assets.ts";
import { createApi } from "./api/api.ts";
import type { AdminEnv, Management } from "./api/env.ts";
import { errorBody } from "./api/errors.ts";

export interface ReadinessState {
  ready: boolean;
  /** What is still missing (e.g. "listeners", "store") or "shutting down". */
  waitingFor: readonly string[];
}

export interface AdminOptions {
  version: string;
  runtime: string;
  readiness: () => ReadinessState;
  assets: AssetReader;
  /** Seconds since start, for /healthz. */
  uptime: () => number;
  /** The broker's management context once it runs (the API answers 503 before). */
  management?: () => Management | undefined;
}

/** Scripts, styles, images, fetches and frames: this origin only; no inline script. */
export const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function createAdminApp(options: AdminOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  app.use(async (c, next) => {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Cache-Control", "no-store");
    c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    c.header("Referrer-Policy", "no-referrer");
    c.header("X-Frame-Options", "DENY");
  });

  app.get("/healthz", (c) =>
    c.json({ status: "ok", version: options.version, runtime: options.runtime, uptime: options.uptime() }));

  app.get("/readyz", (c) => {
    const state = options.readiness();
    return state.ready
      ? c.json({ status: "ready" })
      : c.json({ status: "not ready", waitingFor: state.waitingFor }, 503);
  });

  app.route("/api/v1", createApi({
    version: options.version,
    runtime: options.runtime,
    management: options.management ?? (() => undefined),
  }));
  // Prometheus' usual path: the same as /api/v1/metrics (same login or API key).
  app.get("/metrics", (c) => app.fetch(new Request(new URL("/api/v1/metrics", c.req.url), c.req.raw), c.env));
  // Sub-apps' notFound does not apply once mounted: unknown API paths get the JSON error here.
  app.all("/api/*", (c) => c.json(errorBody("not_found", `no route ${c.req.method} ${c.req.path} (see /api/v1/openapi.json)`), 404));

  app.get("/*", async (c) => {
    const path = assetPath(new URL(c.req.url).pathname);
    const bytes = path === undefined ? undefined : await options.assets(path);
    if (path === "index.html" && bytes === undefined) {
      return c.text("the console is not built: run `bun scripts/build-web.ts` (the API is at /api/v1)\n", 404);
    }
    if (path === undefined || bytes === undefined) return c.text("not found\n", 404);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "Content-Type": contentTypeOf(path) });
  });

  app.notFound((c) => c.text("not found\n", 404));
  app.onError((error, c) => c.text(`internal error: ${error.message}\n`, 500));
  return app;
}
