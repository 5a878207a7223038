/** Admin accounts and API keys (admin role to change; viewers see the lists). */
import { Hono } from "hono";
import { z } from "zod";
import {
  accountView,
  addAccount,
  apiKeyView,
  createApiKey,
  deleteAccount,
  MIN_PASSWORD_LENGTH,
  revokeApiKey,
  updateAccount,
} from "../../security/admin-accounts.ts";
import { ADMIN_ROLES } from "../../security/admin-types.ts";
import { audit } from "./audit-log.ts";
import type { AdminEnv } from "./env.ts";
import type { Logins } from "./logins.ts";
import { doc } from "./openapi.ts";
import { jsonBody, params } from "./validate.ts";

const Role = z.enum(ADMIN_ROLES);
export const Account = z.object({ name: z.string(), role: Role, createdAt: z.number(), updatedAt: z.number() });
export const ApiKey = z.object({
  id: z.string(),
  label: z.string(),
  account: z.string(),
  role: Role,
  createdAt: z.number(),
  lastUsedAt: z.number().nullable(),
});
const Name = z.object({ name: z.string().min(1).max(64) });
const Id = z.object({ id: z.string().regex(/^[0-9a-f]{12}$/, "an API key id is 12 hex digits") });
const Password = z.string().min(MIN_PASSWORD_LENGTH).max(1024);

const list = doc({ method: "get", path: "/accounts", summary: "Admin accounts", access: "viewer", response: z.object({ items: z.array(Account) }) });
const add = doc({
  method: "post",
  path: "/accounts",
  summary: "Add an admin account",
  access: "admin",
  body: z.object({ name: z.string().min(1).max(64), password: Password, role: Role.default("viewer") }).strict(),
  response: Account,
  status: 201,
});
const update = doc({
  method: "patch",
  path: "/accounts/:name",
  summary: "Change an account's password or role (its other logins end)",
  access: "admin",
  params: Name,
  body: z.object({ password: Password.optional(), role: Role.optional() }).strict()
    .refine((b) => b.password !== undefined || b.role !== undefined, "give password and/or role"),
  response: Account,
});
const remove = doc({ method: "delete", path: "/accounts/:name", summary: "Delete an account and its API keys", access: "admin", params: Name, status: 204 });
const keys = doc({ method: "get", path: "/api-keys", summary: "API keys (never the secret)", access: "viewer", response: z.object({ items: z.array(ApiKey) }) });
const create = doc({
  method: "post",
  path: "/api-keys",
  summary: "Create an API key for the caller's account; the key is in this response only",
  access: "admin",
  body: z.object({ label: z.string().min(1).max(100), role: Role.default("viewer") }).strict(),
  response: z.object({ key: z.string(), apiKey: ApiKey }),
  status: 201,
});
const revoke = doc({ method: "delete", path: "/api-keys/:id", summary: "Revoke an API key", access: "admin", params: Id, status: 204 });

export function accountRoutes(logins: Logins) {
  return new Hono<AdminEnv>()
    .get(list.path, async (c) => {
      const items = (await c.var.mgmt.store.admin.listAccounts()).map(accountView);
      return c.json({ items }, 200);
    })
    .post(add.path, jsonBody(add.body), async (c) => {
      const { name, password, role } = c.req.valid("json");
      const account = await addAccount(c.var.mgmt.store.admin, name, password, role, c.var.mgmt.now());
      await audit(c, "admin.add", name, { role });
      return c.json(account, 201);
    })
    .patch(update.path, params(update.params), jsonBody(update.body), async (c) => {
      const { name } = c.req.valid("param");
      const change = c.req.valid("json");
      const account = await updateAccount(c.var.mgmt.store.admin, name, change, c.var.mgmt.now());
      logins.endAll(name, c.var.principal.sessionId);
      await audit(c, change.password ? "admin.passwd" : "admin.role", name, change.role ? { role: change.role } : undefined);
      return c.json(account, 200);
    })
    .delete(remove.path, params(remove.params), async (c) => {
      const { name } = c.req.valid("param");
      await deleteAccount(c.var.mgmt.store.admin, name);
      logins.endAll(name);
      await audit(c, "admin.delete", name);
      return c.body(null, 204);
    })
    .get(keys.path, async (c) => {
      const items = (await c.var.mgmt.store.admin.listApiKeys()).map(apiKeyView);
      return c.json({ items }, 200);
    })
    .post(create.path, jsonBody(create.body), async (c) => {
      const { label, role } = c.req.valid("json");
      const { key, record } = await createApiKey(c.var.mgmt.store.admin, c.var.principal.account, label, role, c.var.mgmt.now());
      await audit(c, "apikey.create", record.id, { label, role });
      return c.json({ key, apiKey: record }, 201);
    })
    .delete(revoke.path, params(revoke.params), async (c) => {
      const { id } = c.req.valid("param");
      await revokeApiKey(c.var.mgmt.store.admin, id);
      await audit(c, "apikey.revoke", id);
      return c.body(null, 204);
    });
}
