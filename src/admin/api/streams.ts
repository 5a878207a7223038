/**
 * Server-Sent Events: the overview numbers every second, the log tail, and a topic viewer that
 * subscribes in-process (a session of its own, `$console-<id>`, ended with the stream) to a filter,
 * checked against the ACL of the user it names, with a rate cap (beyond it messages are counted,
 * not sent). Each stream ends cleanly when the browser goes away (the abort closes the session).
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { Acl } from "../../security/acl.ts";
import { isValidTopicFilter } from "../../protocol/topics.ts";
import { randomToken } from "./logins.ts";
import { CONSOLE_CLIENT_ID_PREFIX } from "../../core/broker-api.ts";
import type { AdminEnv } from "./env.ts";
import { ApiError } from "./errors.ts";
import { doc } from "./openapi.ts";
import { query } from "./validate.ts";
import { overviewOf } from "./system.ts";

const overview = doc({ method: "get", path: "/overview/stream", summary: "The overview every second (SSE event `overview`)", access: "viewer", response: "event-stream" });
const logs = doc({
  method: "get",
  path: "/logs/stream",
  summary: "New log lines at a level or above (SSE event `log`)",
  access: "viewer",
  query: z.object({ level: z.enum(["debug", "info", "warn", "error"]).default("debug") }),
  response: "event-stream",
});
const topics = doc({
  method: "get",
  path: "/topics/stream",
  summary: "Messages on a filter, live (SSE events `message` and `skipped`); as a user's ACL when username is given",
  access: "viewer",
  query: z.object({
    filter: z.string().min(1).max(65535),
    username: z.string().optional(),
    /** Messages per second sent at most; the rest are counted in `skipped` events. */
    rate: z.coerce.number().int().min(1).max(500).default(50),
  }),
  response: "event-stream",
});

const toBase64 = (bytes: Uint8Array) => {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
};
/**
 * A comment line when nothing was sent for 5 s: Bun's HTTP server closes a response idle for 10 s,
 * and proxies do likewise; EventSource ignores comments.
 */
function idleGuard(now: () => number) {
  let lastWrite = now();
  return {
    wrote: () => (lastWrite = now()),
    keepAlive: async (stream: { write(text: string): Promise<unknown> }) => {
      if (now() - lastWrite < 5000) return;
      await stream.write(": keep-alive\n\n");
      lastWrite = now();
    },
  };
}

/** A viewer shows at most this much of a payload. */
const MAX_PAYLOAD = 64 * 1024;

export function streamRoutes(info: { version: string; runtime: string }) {
  return new Hono<AdminEnv>()
    .get(overview.path, (c) =>
      streamSSE(c, async (stream) => {
        while (!stream.aborted && !stream.closed) {
          await stream.writeSSE({ event: "overview", data: JSON.stringify(await overviewOf(c.var.mgmt, info)) });
          await stream.sleep(1000);
        }
      }))
    .get(logs.path, query(logs.query), (c) => {
      const { level } = c.req.valid("query");
      return streamSSE(c, async (stream) => {
        const ring = c.var.mgmt.logs;
        let last = ring.list({ limit: 1 })[0]?.id ?? 0;
        const idle = idleGuard(c.var.mgmt.now);
        while (!stream.aborted && !stream.closed) {
          for (const entry of ring.list({ level, after: last })) {
            last = entry.id;
            await stream.writeSSE({ event: "log", id: String(entry.id), data: JSON.stringify(entry) });
            idle.wrote();
          }
          await idle.keepAlive(stream);
          await stream.sleep(500);
        }
      });
    })
    .get(topics.path, query(topics.query), async (c) => {
      const q = c.req.valid("query");
      if (!isValidTopicFilter(q.filter)) throw new ApiError(400, "bad_request", `query.filter: ${JSON.stringify(q.filter.slice(0, 100))} is not a valid topic filter`);
      const mgmt = c.var.mgmt;
      if (q.username !== undefined) {
        const config = mgmt.config();
        const acl = new Acl([...config.acl.rules, ...(await mgmt.store.security.listAclRules())], config.acl.default);
        if (!acl.checkSubscribe({ clientId: "$console", username: q.username }, q.filter).allowed) {
          throw new ApiError(403, "acl", `user ${JSON.stringify(q.username)} may not subscribe to ${JSON.stringify(q.filter)}`);
        }
      }
      return streamSSE(c, async (stream) => {
        let windowStart = mgmt.now();
        let sent = 0;
        let skipped = 0;
        const pending: string[] = [];
        const session = mgmt.broker.openLocalSession(
          { clientId: CONSOLE_CLIENT_ID_PREFIX + randomToken(6), cleanStart: true, sessionExpiryInterval: 0, maxInflight: 100 },
          (d) => {
            if (d.packetId) session.acknowledge(d.packetId);
            const now = mgmt.now();
            if (now - windowStart >= 1000) {
              windowStart = now;
              sent = 0;
            }
            if (sent >= q.rate || pending.length >= q.rate) {
              skipped++;
              return;
            }
            sent++;
            const payload = d.payload.subarray(0, MAX_PAYLOAD);
            pending.push(JSON.stringify({
              topic: d.topic,
              qos: d.qos,
              retain: d.retain,
              at: now,
              size: d.payload.length,
              payload: toBase64(payload),
              truncated: d.payload.length > MAX_PAYLOAD,
              properties: { contentType: d.properties.contentType, userProperties: d.properties.userProperties },
            }));
          },
        );
        try {
          session.subscribe(q.filter, { qos: 0 });
          session.resume();
          await stream.writeSSE({ event: "ready", data: JSON.stringify({ filter: q.filter }) });
          const idle = idleGuard(mgmt.now);
          while (!stream.aborted && !stream.closed) {
            while (pending.length) {
              await stream.writeSSE({ event: "message", data: pending.shift()! });
              idle.wrote();
            }
            if (skipped) {
              await stream.writeSSE({ event: "skipped", data: JSON.stringify({ count: skipped }) });
              skipped = 0;
            }
            await idle.keepAlive(stream);
            await stream.sleep(100);
          }
        } finally {
          session.close();
          await mgmt.broker.deleteSession(session.clientId).catch(() => false);
        }
      });
    });
}
