/** The overview numbers, the effective configuration (secrets masked) and reload (as SIGHUP). */
import { Hono } from "hono";
import { z } from "zod";
import { maskSecrets } from "../../config/describe.ts";
import { audit } from "./audit-log.ts";
import type { AdminEnv } from "./env.ts";
import { doc } from "./openapi.ts";

export const Overview = z.object({
  version: z.string(),
  runtime: z.string(),
  /** Seconds since start. */
  uptime: z.number(),
  startedAt: z.number(),
  clientsConnected: z.number(),
  clientsTotal: z.number().optional(),
  sessions: z.number(),
  subscriptions: z.number(),
  retained: z.number(),
  messagesReceived: z.number().optional(),
  messagesSent: z.number().optional(),
  bytesReceived: z.number().optional(),
  bytesSent: z.number().optional(),
  publishDropped: z.number().optional(),
});

const overview = doc({ method: "get", path: "/overview", summary: "Broker numbers now", access: "viewer", response: Overview });
const config = doc({
  method: "get",
  path: "/config",
  summary: "The effective configuration, secrets masked",
  access: "viewer",
  response: z.object({ config: z.record(z.string(), z.unknown()) }),
});
const reload = doc({
  method: "post",
  path: "/config/reload",
  summary: "Re-read the configuration (as SIGHUP) and say what was applied",
  access: "admin",
  response: z.object({ ok: z.boolean(), applied: z.array(z.string()), restart: z.array(z.string()), problems: z.array(z.string()) }),
});

export function systemRoutes(info: { version: string; runtime: string }) {
  return new Hono<AdminEnv>()
    .get(overview.path, (c) => {
      const stats = c.var.mgmt.stats();
      const body: z.output<typeof Overview> = {
        ...info,
        ...stats,
        uptime: Math.round((c.var.mgmt.now() - stats.startedAt) / 1000),
      };
      return c.json(body, 200);
    })
    .get(config.path, (c) => c.json({ config: maskSecrets(c.var.mgmt.config()) as Record<string, unknown> }, 200))
    .post(reload.path, async (c) => {
      const outcome = c.var.mgmt.reload();
      await audit(c, "config.reload", "", { ok: outcome.ok, applied: outcome.applied, restart: outcome.restart });
      return c.json(outcome, outcome.ok ? 200 : 400);
    });
}
