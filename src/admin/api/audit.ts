/** The audit log: every change made through the API or the CLI, newest first. */
import { Hono } from "hono";
import { z } from "zod";
import type { AdminEnv } from "./env.ts";
import { doc } from "./openapi.ts";
import { query } from "./validate.ts";

export const AuditEntry = z.object({
  id: z.number(),
  at: z.number(),
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  detail: z.string().nullable(),
  address: z.string().nullable(),
});

const list = doc({
  method: "get",
  path: "/audit",
  summary: "The audit log, newest first",
  access: "viewer",
  query: z.object({
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    actor: z.string().max(200).optional(),
    action: z.string().max(100).optional(),
  }),
  response: z.object({ items: z.array(AuditEntry), total: z.number(), offset: z.number(), limit: z.number() }),
});

export const auditRoutes = () =>
  new Hono<AdminEnv>().get(list.path, query(list.query), async (c) => {
    const q = c.req.valid("query");
    const page = await c.var.mgmt.store.admin.listAudit(q);
    return c.json({ ...page, offset: q.offset, limit: q.limit }, 200);
  });
