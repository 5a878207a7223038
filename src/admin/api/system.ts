/** The overview numbers, the effective configuration (secrets masked) and reload (as SIGHUP). */
import { Hono } from "hono";
import { z } from "zod";
import { maskSecrets } from "../../config/describe.ts";
import { audit } from "./audit-log.ts";
import { renderMetrics } from "../metrics.ts";
import type { AdminEnv } from "./env.ts";
import { doc } from "./openapi.ts";

export const Overview = z.object({
  version: z.string(),
  runtime: z.string(),
  /** Seconds since start. */
  uptime: z.number(),
  startedAt: z.number(),
  clientsConnected: z.number(),
  connectionsPeak: z.number(),
  clientsTotal: z.number(),
  sessions: z.number(),
  subscriptions: z.number(),
  retained: z.number(),
  queued: z.number(),
  messagesReceived: z.number(),
  messagesSent: z.number(),
  bytesReceived: z.number(),
  bytesSent: z.number(),
  publishDropped: z.number(),
  /** Bytes of the database; null for the memory store. */
  storeSize: z.number().nullable(),
  listeners: z.array(z.object({ name: z.string(), connections: z.number() })),
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

const metrics = doc({ method: "get", path: "/metrics", summary: "Prometheus text format (also at /metrics)", access: "viewer" });

export function systemRoutes(info: { version: string; runtime: string }) {
  return new Hono<AdminEnv>()
    .get(overview.path, async (c) => {
      const broker = c.var.mgmt.broker;
      const s = broker.stats;
      const body: z.output<typeof Overview> = {
        ...info,
        uptime: Math.round((c.var.mgmt.now() - s.startedAt) / 1000),
        startedAt: s.startedAt,
        clientsConnected: s.clientsConnected,
        connectionsPeak: s.connectionsPeak,
        clientsTotal: s.clientsTotal,
        sessions: s.sessions,
        subscriptions: s.subscriptions,
        retained: s.retained,
        queued: s.queued,
        messagesReceived: s.messagesReceived,
        messagesSent: s.messagesSent,
        bytesReceived: s.bytesReceived,
        bytesSent: s.bytesSent,
        publishDropped: s.publishDropped,
        storeSize: (await broker.storeSize()) ?? null,
        listeners: broker.listeners(),
      };
      return c.json(body, 200);
    })
    .get(metrics.path, async (c) =>
      c.body(await renderMetrics(c.var.mgmt.broker, c.var.mgmt.now()), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }))
    .get(config.path, (c) => c.json({ config: maskSecrets(c.var.mgmt.config()) as Record<string, unknown> }, 200))
    .post(reload.path, async (c) => {
      const outcome = c.var.mgmt.reload();
      await audit(c, "config.reload", "", { ok: outcome.ok, applied: outcome.applied, restart: outcome.restart });
      return c.json(outcome, outcome.ok ? 200 : 400);
    });
}
