/** The overview numbers, the effective configuration (secrets masked) and reload (as SIGHUP). */
import { Hono } from "hono";
import { z } from "zod";
import { maskSecrets } from "../../config/describe.ts";
import { audit } from "./audit-log.ts";
import { renderMetrics } from "../metrics.ts";
import type { AdminEnv, Management } from "./env.ts";
import { query } from "./validate.ts";
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
  /** publishDropped by reason: queueFull, notReading, tooLarge, expired, maxAge. */
  droppedBy: z.record(z.string(), z.number()),
  /** Bytes of the database; null for the memory store. */
  storeSize: z.number().nullable(),
  listeners: z.array(z.object({ name: z.string(), connections: z.number() })),
  /** Per second, over the last second; null until two samples exist. */
  rates: z.object({
    connectsPerSecond: z.number(),
    messagesInPerSecond: z.number(),
    messagesOutPerSecond: z.number(),
    bytesInPerSecond: z.number(),
    bytesOutPerSecond: z.number(),
    droppedPerSecond: z.number(),
  }).nullable(),
  process: z.object({ cpuSeconds: z.number(), residentBytes: z.number(), heapBytes: z.number().optional(), platform: z.string() }).nullable(),
});

const columns = z.object({ t: z.array(z.number()) }).catchall(z.array(z.number()));
const series = doc({
  method: "get",
  path: "/overview/series",
  summary: "Time series of the overview: 1 s points for 15 min, or 1 min points for 24 h (columns)",
  access: "viewer",
  query: z.object({ resolution: z.enum(["1s", "1m"]).default("1s") }),
  response: columns,
});
export const LogEntry = z.object({ id: z.number(), at: z.number(), level: z.enum(["debug", "info", "warn", "error"]), line: z.string() });
const logs = doc({
  method: "get",
  path: "/logs",
  summary: "Recent log lines (in memory), oldest first",
  access: "viewer",
  query: z.object({
    level: z.enum(["debug", "info", "warn", "error"]).default("debug"),
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(2000).default(500),
  }),
  response: z.object({ items: z.array(LogEntry) }),
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

export const BridgeStatus = z.object({
  name: z.string(),
  url: z.string(),
  state: z.enum(["connecting", "connected", "backingOff", "stalled", "stopped"]),
  /** Clock time (ms) of the last state change. */
  since: z.number(),
  lastError: z.string().optional(),
  queued: z.number(),
  queuedBytes: z.number(),
  inflight: z.number(),
  oldestQueuedAge: z.number(),
  forwarded: z.number(),
  received: z.number(),
  dropped: z.number(),
});
const bridges = doc({
  method: "get",
  path: "/bridges",
  summary: "Bridges to upstream brokers: state, queue and counters",
  access: "viewer",
  response: z.object({ items: z.array(BridgeStatus) }),
});
const metrics = doc({ method: "get", path: "/metrics", summary: "Prometheus text format (also at /metrics)", access: "viewer" });

/** The overview numbers now (also the SSE stream's). */
export async function overviewOf(mgmt: Management, info: { version: string; runtime: string }): Promise<z.output<typeof Overview>> {
  const broker = mgmt.broker;
  const s = broker.stats;
  const rates = mgmt.series.latest();
  return {
    ...info,
    uptime: Math.round((mgmt.now() - s.startedAt) / 1000),
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
    droppedBy: s.droppedBy,
    rates: rates
      ? {
        connectsPerSecond: rates.connectsPerSecond,
        messagesInPerSecond: rates.messagesInPerSecond,
        messagesOutPerSecond: rates.messagesOutPerSecond,
        bytesInPerSecond: rates.bytesInPerSecond,
        bytesOutPerSecond: rates.bytesOutPerSecond,
        droppedPerSecond: rates.droppedPerSecond,
      }
      : null,
    storeSize: (await broker.storeSize()) ?? null,
    listeners: broker.listeners(),
    process: mgmt.processStats?.() ?? null,
  };
}

export function systemRoutes(info: { version: string; runtime: string }) {
  return new Hono<AdminEnv>()
    .get(overview.path, async (c) => c.json(await overviewOf(c.var.mgmt, info), 200))
    .get(bridges.path, (c) => c.json({ items: c.var.mgmt.broker.bridges() }, 200))
    .get(series.path, query(series.query), (c) => c.json(c.var.mgmt.series.columns(c.req.valid("query").resolution), 200))
    .get(logs.path, query(logs.query), (c) => c.json({ items: c.var.mgmt.logs.list(c.req.valid("query")) }, 200))
    .get(metrics.path, async (c) =>
      c.body(await renderMetrics(c.var.mgmt.broker, c.var.mgmt.now(), c.var.mgmt.processStats?.(), c.var.mgmt.store.commitLatency), 200, {
        "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
      }))
    .get(config.path, (c) => c.json({ config: maskSecrets(c.var.mgmt.config()) as Record<string, unknown> }, 200))
    .post(reload.path, async (c) => {
      const outcome = await c.var.mgmt.reload();
      await audit(c, "config.reload", "", { ok: outcome.ok, applied: outcome.applied, restart: outcome.restart });
      return c.json(outcome, outcome.ok ? 200 : 400);
    });
}
