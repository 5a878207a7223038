/**
 * Clients and sessions (connected and offline), subscriptions, retained messages and publish,
 * over the broker's management seam. Payloads travel as base64 with a UTF-8 text view when valid.
 */
import { Hono } from "hono";
import { z } from "zod";
import { isValidTopicFilter, isValidTopicName } from "../../protocol/topics.ts";
import { BRIDGE_CLIENT_ID_PREFIX, localSessionKind } from "../../core/broker-api.ts";
import { audit } from "./audit-log.ts";
import type { AdminEnv } from "./env.ts";
import { ApiError } from "./errors.ts";
import { doc } from "./openapi.ts";
import { jsonBody, params, query } from "./validate.ts";

const Qos = z.union([z.literal(0), z.literal(1), z.literal(2)]);
const paging = { offset: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(1000).default(100) };
const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), total: z.number(), offset: z.number(), limit: z.number() });

export const SessionSummary = z.object({
  clientId: z.string(),
  connected: z.boolean(),
  username: z.string().optional(),
  protocolVersion: z.number().optional(),
  address: z.string().optional(),
  listener: z.string().optional(),
  connectedAt: z.number().optional(),
  disconnectedAt: z.number().optional(),
  expiryInterval: z.number(),
  subscriptions: z.number(),
  inflight: z.number(),
  queued: z.number(),
  queuedBytes: z.number(),
  messagesIn: z.number(),
  messagesOut: z.number(),
  bytesIn: z.number(),
  bytesOut: z.number(),
  /** The broker's own in-process session: a bridge's queue or a console topic viewer. */
  internal: z.enum(["bridge", "console"]).optional(),
});
export const Subscription = z.object({
  clientId: z.string(),
  filter: z.string(),
  shareName: z.string().optional(),
  qos: Qos,
  noLocal: z.boolean(),
  retainAsPublished: z.boolean(),
  retainHandling: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  subscriptionIdentifier: z.number().optional(),
});
const SessionDetail = SessionSummary.extend({
  cleanStart: z.boolean().optional(),
  keepalive: z.number().optional(),
  lastPacketAt: z.number().optional(),
  dropped: z.number(),
  subscriptionList: z.array(Subscription),
  will: z.object({ topic: z.string(), qos: Qos, retain: z.boolean(), delayInterval: z.number() }).optional(),
});
export const Retained = z.object({
  topic: z.string(),
  /** base64 */
  payload: z.string(),
  /** The payload as UTF-8 text when it is valid UTF-8. */
  text: z.string().optional(),
  size: z.number(),
  qos: Qos,
  properties: z.record(z.string(), z.unknown()),
  expiresAt: z.number().optional(),
});
const ClientId = z.object({ clientId: z.string().min(1).max(65535) });
const Topic = z.object({ topic: z.string().min(1).max(65535) });

const sessions = doc({
  method: "get",
  path: "/sessions",
  summary: "Clients and sessions (connected and offline): paged, searched, sorted",
  access: "viewer",
  query: z.object({
    ...paging,
    search: z.string().max(200).optional(),
    state: z.enum(["connected", "offline", "all"]).default("all"),
    sort: z.enum(["clientId", "connectedAt", "queued", "messagesIn", "messagesOut"]).default("clientId"),
    order: z.enum(["asc", "desc"]).default("asc"),
  }),
  response: pageOf(SessionSummary),
});
const one = doc({ method: "get", path: "/sessions/:clientId", summary: "One client's session in detail", access: "viewer", params: ClientId, response: SessionDetail });
const kick = doc({
  method: "post",
  path: "/sessions/:clientId/disconnect",
  summary: "Disconnect a client (v5: DISCONNECT 0x98 Administrative action); its session lives on per its expiry. 409 for a running bridge's or console viewer's own session",
  access: "admin",
  params: ClientId,
  status: 204,
});
const drop = doc({ method: "delete", path: "/sessions/:clientId", summary: "End a session, connected or not, and remove its stored state. 409 for a running bridge's or console viewer's own session (a removed bridge's queue can be deleted)", access: "admin", params: ClientId, status: 204 });
const subs = doc({
  method: "get",
  path: "/subscriptions",
  summary: "Subscriptions: by exact filter or a topic they match, by client",
  access: "viewer",
  query: z.object({ ...paging, filter: z.string().max(65535).optional(), clientId: z.string().optional() }),
  response: pageOf(Subscription),
});
const retained = doc({
  method: "get",
  path: "/retained",
  summary: "Retained messages matching a filter (default #)",
  access: "viewer",
  query: z.object({ ...paging, filter: z.string().max(65535).default("#") }),
  response: pageOf(Retained),
});
const retainedOne = doc({ method: "get", path: "/retained/:topic{.+}", summary: "One retained message by topic (URL-encoded)", access: "viewer", params: Topic, response: Retained });
const retainedDelete = doc({ method: "delete", path: "/retained/:topic{.+}", summary: "Delete a retained message", access: "admin", params: Topic, status: 204 });
const publish = doc({
  method: "post",
  path: "/publish",
  summary: "Publish a message from the broker itself",
  access: "admin",
  body: z.object({
    topic: z.string().min(1).max(65535),
    payload: z.string().max(16 * 1024 * 1024).default(""),
    encoding: z.enum(["text", "base64"]).default("text"),
    qos: Qos.default(0),
    retain: z.boolean().default(false),
    properties: z.object({
      contentType: z.string().optional(),
      responseTopic: z.string().optional(),
      payloadFormatIndicator: z.boolean().optional(),
      messageExpiryInterval: z.number().int().min(1).max(0xffffffff).optional(),
      userProperties: z.array(z.tuple([z.string(), z.string()])).optional(),
    }).strict().default({}),
  }).strict(),
  response: z.object({ deliveredTo: z.number() }),
});

const toBase64 = (bytes: Uint8Array) => {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
};
const decoder = new TextDecoder("utf-8", { fatal: true });
function textOf(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch (_e: unknown) {
    return undefined;
  }
}

function retainedView(r: { topic: string; payload: Uint8Array; qos: 0 | 1 | 2; properties: object; expiresAt?: number }): z.output<typeof Retained> {
  const { correlationData, ...rest } = r.properties as { correlationData?: Uint8Array };
  const properties: Record<string, unknown> = { ...rest };
  if (correlationData) properties.correlationData = toBase64(correlationData);
  return { topic: r.topic, payload: toBase64(r.payload), text: textOf(r.payload), size: r.payload.length, qos: r.qos, properties, expiresAt: r.expiresAt };
}

/**
 * The broker's own sessions, while their owner holds them, are not kicked or deleted here: a bridge
 * would stop forwarding without knowing why. A removed bridge's left-over queue can be deleted.
 */
function refuseIfOwnedInternally(broker: AdminEnv["Variables"]["mgmt"]["broker"], clientId: string): void {
  const kind = localSessionKind(clientId);
  if (!kind || !broker.session(clientId)?.connected) return;
  const why = kind === "bridge"
    ? `is the queue of bridge ${JSON.stringify(clientId.slice(BRIDGE_CLIENT_ID_PREFIX.length))}: remove the bridge from the configuration and reload to stop it`
    : "is a console topic viewer's: it ends when the viewer is closed";
  throw new ApiError(409, "conflict", `session ${JSON.stringify(clientId)} ${why}`);
}

export function clientRoutes() {
  return new Hono<AdminEnv>()
    .get(sessions.path, query(sessions.query), (c) => c.json(c.var.mgmt.broker.listSessions(c.req.valid("query")), 200))
    .get(one.path, params(one.params), (c) => {
      const { clientId } = c.req.valid("param");
      const detail = c.var.mgmt.broker.session(clientId);
      if (!detail) throw new ApiError(404, "not_found", `no session ${JSON.stringify(clientId)}`);
      return c.json(detail, 200);
    })
    .post(kick.path, params(kick.params), async (c) => {
      const { clientId } = c.req.valid("param");
      refuseIfOwnedInternally(c.var.mgmt.broker, clientId);
      if (!c.var.mgmt.broker.disconnectClient(clientId)) throw new ApiError(404, "not_found", `client ${JSON.stringify(clientId)} is not connected`);
      await audit(c, "client.disconnect", clientId);
      return c.body(null, 204);
    })
    .delete(drop.path, params(drop.params), async (c) => {
      const { clientId } = c.req.valid("param");
      refuseIfOwnedInternally(c.var.mgmt.broker, clientId);
      if (!(await c.var.mgmt.broker.deleteSession(clientId))) throw new ApiError(404, "not_found", `no session ${JSON.stringify(clientId)}`);
      await audit(c, "session.delete", clientId);
      return c.body(null, 204);
    })
    .get(subs.path, query(subs.query), (c) => c.json(c.var.mgmt.broker.listSubscriptions(c.req.valid("query")), 200))
    .get(retained.path, query(retained.query), (c) => {
      const q = c.req.valid("query");
      if (!isValidTopicFilter(q.filter)) throw new ApiError(400, "bad_request", `query.filter: ${JSON.stringify(q.filter.slice(0, 100))} is not a valid topic filter`);
      const page = c.var.mgmt.broker.listRetained(q);
      return c.json({ ...page, items: page.items.map(retainedView) }, 200);
    })
    .get(retainedOne.path, params(retainedOne.params), (c) => {
      const { topic } = c.req.valid("param");
      const message = c.var.mgmt.broker.retainedMessage(topic);
      if (!message) throw new ApiError(404, "not_found", `no retained message on ${JSON.stringify(topic)}`);
      return c.json(retainedView(message), 200);
    })
    .delete(retainedDelete.path, params(retainedDelete.params), async (c) => {
      const { topic } = c.req.valid("param");
      if (!(await c.var.mgmt.broker.deleteRetained(topic))) throw new ApiError(404, "not_found", `no retained message on ${JSON.stringify(topic)}`);
      await audit(c, "retained.delete", topic);
      return c.body(null, 204);
    })
    .post(publish.path, jsonBody(publish.body), async (c) => {
      const p = c.req.valid("json");
      if (!isValidTopicName(p.topic)) throw new ApiError(400, "bad_request", `body.topic: ${JSON.stringify(p.topic.slice(0, 100))} is not a valid topic name (no wildcards)`);
      let payload: Uint8Array | string = p.payload;
      if (p.encoding === "base64") {
        try {
          payload = Uint8Array.from(atob(p.payload), (ch) => ch.charCodeAt(0));
        } catch (_e: unknown) {
          throw new ApiError(400, "bad_request", "body.payload: not valid base64");
        }
      }
      const { messageExpiryInterval, ...properties } = p.properties;
      const deliveredTo = c.var.mgmt.broker.publish({ topic: p.topic, payload, qos: p.qos, retain: p.retain, properties, messageExpiryInterval });
      await audit(c, "publish", p.topic, { qos: p.qos, retain: p.retain, bytes: typeof payload === "string" ? payload.length : payload.length });
      return c.json({ deliveredTo }, 200);
    });
}
