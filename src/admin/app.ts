/**
 * The admin HTTP app (Hono, runtime-neutral): health and readiness probes and the console's static
 * files. Each runtime adapter serves it over HTTP and injects how assets are read, so the
 * executable can embed them. The admin API proper comes with its own issue.
 */
import { Hono } from "hono";
import { type AssetReader, assetPath, contentTypeOf } from "./assets.ts";

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
}

export function createAdminApp(options: AdminOptions): Hono {
  const app = new Hono();
  app.use(async (c, next) => {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Cache-Control", "no-store");
  });

  app.get("/healthz", (c) =>
    c.json({ status: "ok", version: options.version, runtime: options.runtime, uptime: options.uptime() }));

  app.get("/readyz", (c) => {
    const state = options.readiness();
    return state.ready
      ? c.json({ status: "ready" })
      : c.json({ status: "not ready", waitingFor: state.waitingFor }, 503);
  });

  app.get("/*", async (c) => {
    const path = assetPath(new URL(c.req.url).pathname);
    const bytes = path === undefined ? undefined : await options.assets(path);
    if (path === undefined || bytes === undefined) return c.text("not found\n", 404);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "Content-Type": contentTypeOf(path) });
  });

  app.notFound((c) => c.text("not found\n", 404));
  app.onError((error, c) => c.text(`internal error: ${error.message}\n`, 500));
  return app;
}
