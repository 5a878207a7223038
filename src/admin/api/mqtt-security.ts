/**
 * MQTT users, ACL rules, bans and the ACL tester, through the same operations as `gannet user|acl|ban`
 * (src/security/operations.ts). After a change the broker's security refreshes at once.
 */
import { Hono } from "hono";
import { z } from "zod";
import { hashScheme } from "../../security/passwords.ts";
import { Acl } from "../../security/acl.ts";
import { addAclRule, addBan, deleteAclRule, deleteUser, liftBan, setUserPassword } from "../../security/operations.ts";
import type { AclRule } from "../../security/types.ts";
import { audit } from "./audit-log.ts";
import type { AdminEnv } from "./env.ts";
import { doc } from "./openapi.ts";
import { jsonBody, params } from "./validate.ts";

const User = z.object({ username: z.string(), hash: z.string(), createdAt: z.number(), updatedAt: z.number() });
const Username = z.object({ username: z.string().min(1).max(65535) });
const Qos = z.union([z.literal(0), z.literal(1), z.literal(2)]);
export const AclRuleSchema = z.object({
  username: z.string().min(1).optional(),
  clientId: z.string().min(1).optional(),
  anonymous: z.boolean().optional(),
  topic: z.string().min(1).max(65535),
  action: z.enum(["publish", "subscribe", "both"]),
  permission: z.enum(["allow", "deny"]),
  maxQos: Qos.optional(),
  retain: z.boolean().optional(),
}).strict();
const BanKind = z.enum(["clientId", "username", "address"]);
const BanSchema = z.object({ kind: BanKind, value: z.string(), reason: z.string(), createdAt: z.number(), expiresAt: z.number().nullable() });

const users = doc({ method: "get", path: "/users", summary: "MQTT users of the database (not auth.users of the file)", access: "viewer", response: z.object({ items: z.array(User), inFile: z.number() }) });
const addUser = doc({
  method: "post",
  path: "/users",
  summary: "Add an MQTT user",
  access: "admin",
  body: z.object({ username: z.string().min(1).max(65535), password: z.string().min(1).max(65535) }).strict(),
  status: 201,
  response: z.object({ username: z.string() }),
});
const passwd = doc({
  method: "put",
  path: "/users/:username/password",
  summary: "Change an MQTT user's password",
  access: "admin",
  params: Username,
  body: z.object({ password: z.string().min(1).max(65535) }).strict(),
  status: 204,
});
const delUser = doc({ method: "delete", path: "/users/:username", summary: "Delete an MQTT user", access: "admin", params: Username, status: 204 });
const rules = doc({
  method: "get",
  path: "/acl",
  summary: "ACL rules in order: the file's (read only) then the database's; first match wins",
  access: "viewer",
  response: z.object({ default: z.enum(["allow", "deny"]), fileRules: z.array(AclRuleSchema), rules: z.array(AclRuleSchema) }),
});
const addRule = doc({
  method: "post",
  path: "/acl",
  summary: "Add an ACL rule at a position (0-based among the database's rules; default: last)",
  access: "admin",
  body: z.object({ rule: AclRuleSchema, position: z.number().int().min(0).optional() }).strict(),
  status: 201,
  response: z.object({ position: z.number() }),
});
const delRule = doc({
  method: "delete",
  path: "/acl/:position",
  summary: "Delete the database's ACL rule at a position (0-based)",
  access: "admin",
  params: z.object({ position: z.coerce.number().int().min(0) }),
  status: 204,
});
const test = doc({
  method: "post",
  path: "/acl/test",
  summary: "Would this client be allowed? Evaluates the ACL for a user/client id, action and topic",
  access: "viewer",
  body: z.object({
    username: z.string().optional(),
    clientId: z.string().default("acl-test"),
    action: z.enum(["publish", "subscribe"]),
    topic: z.string().min(1).max(65535),
    qos: Qos.default(0),
    retain: z.boolean().default(false),
  }).strict(),
  response: z.object({
    allowed: z.boolean(),
    /** The deciding rule, or null when acl.default decided. */
    rule: z.object({ source: z.enum(["file", "database"]), position: z.number(), rule: AclRuleSchema }).nullable(),
    maxQos: Qos.optional(),
    why: z.string().optional(),
  }),
});
const bans = doc({ method: "get", path: "/bans", summary: "Bans in force", access: "viewer", response: z.object({ items: z.array(BanSchema) }) });
const addBanDoc = doc({
  method: "post",
  path: "/bans",
  summary: "Ban a client id, user name or address/CIDR block",
  access: "admin",
  body: z.object({
    kind: BanKind,
    value: z.string().min(1).max(65535),
    reason: z.string().max(500).optional(),
    durationSeconds: z.number().int().min(1).optional(),
  }).strict(),
  status: 201,
  response: BanSchema,
});
const liftBanDoc = doc({ method: "delete", path: "/bans/:kind/:value", summary: "Lift a ban", access: "admin", params: z.object({ kind: BanKind, value: z.string().min(1) }), status: 204 });


export function mqttSecurityRoutes() {
  return new Hono<AdminEnv>()
    .get(users.path, async (c) => {
      const items = (await c.var.mgmt.store.security.listUsers()).map((u) => ({
        username: u.username,
        hash: hashScheme(u.passwordHash) ?? "unknown",
        createdAt: u.createdAt,
        updatedAt: u.updatedAt,
      }));
      return c.json({ items, inFile: c.var.mgmt.config().auth.users.length }, 200);
    })
    .post(addUser.path, jsonBody(addUser.body), async (c) => {
      const { username, password } = c.req.valid("json");
      await setUserPassword(c.var.mgmt.store.security, username, password, "add", c.var.mgmt.now());
      await c.var.mgmt.refreshSecurity();
      await audit(c, "user.add", username);
      return c.json({ username }, 201);
    })
    .put(passwd.path, params(passwd.params), jsonBody(passwd.body), async (c) => {
      const { username } = c.req.valid("param");
      await setUserPassword(c.var.mgmt.store.security, username, c.req.valid("json").password, "passwd", c.var.mgmt.now());
      await c.var.mgmt.refreshSecurity();
      await audit(c, "user.passwd", username);
      return c.body(null, 204);
    })
    .delete(delUser.path, params(delUser.params), async (c) => {
      const { username } = c.req.valid("param");
      await deleteUser(c.var.mgmt.store.security, username);
      await c.var.mgmt.refreshSecurity();
      await audit(c, "user.delete", username);
      return c.body(null, 204);
    })
    .get(rules.path, async (c) => {
      const config = c.var.mgmt.config();
      return c.json({ default: config.acl.default, fileRules: config.acl.rules, rules: await c.var.mgmt.store.security.listAclRules() }, 200);
    })
    .post(test.path, jsonBody(test.body), async (c) => {
      const q = c.req.valid("json");
      const config = c.var.mgmt.config();
      const stored = await c.var.mgmt.store.security.listAclRules();
      const fileCount = config.acl.rules.length;
      const acl = new Acl([...config.acl.rules, ...stored], config.acl.default);
      const client = { clientId: q.clientId, username: q.username };
      const verdict = q.action === "publish" ? acl.checkPublish(client, q.topic, q.qos, q.retain) : acl.checkSubscribe(client, q.topic);
      const at = verdict.rule;
      const rule = at === undefined ? null : at < fileCount
        ? { source: "file" as const, position: at, rule: config.acl.rules[at] }
        : { source: "database" as const, position: at - fileCount, rule: stored[at - fileCount] };
      return c.json({
        allowed: verdict.allowed,
        rule,
        maxQos: "maxQos" in verdict ? verdict.maxQos : undefined,
        why: "why" in verdict ? verdict.why : undefined,
      }, 200);
    })
    .post(addRule.path, jsonBody(addRule.body), async (c) => {
      const { rule, position } = c.req.valid("json");
      const at = await addAclRule(c.var.mgmt.store.security, rule satisfies AclRule, position);
      await c.var.mgmt.refreshSecurity();
      await audit(c, "acl.add", rule.topic, { position: at, rule });
      return c.json({ position: at }, 201);
    })
    .delete(delRule.path, params(delRule.params), async (c) => {
      const { position } = c.req.valid("param");
      const rule = await deleteAclRule(c.var.mgmt.store.security, position);
      await c.var.mgmt.refreshSecurity();
      await audit(c, "acl.delete", rule.topic, { position, rule });
      return c.body(null, 204);
    })
    .get(bans.path, async (c) => c.json({ items: await c.var.mgmt.store.security.listBans(c.var.mgmt.now()) }, 200))
    .post(addBanDoc.path, jsonBody(addBanDoc.body), async (c) => {
      const b = c.req.valid("json");
      const ban = await addBan(c.var.mgmt.store.security, b, b, c.var.mgmt.now());
      await c.var.mgmt.refreshSecurity();
      await audit(c, "ban.add", `${ban.kind}:${ban.value}`, { reason: ban.reason, expiresAt: ban.expiresAt });
      return c.json(ban, 201);
    })
    .delete(liftBanDoc.path, params(liftBanDoc.params), async (c) => {
      const { kind, value } = c.req.valid("param");
      await liftBan(c.var.mgmt.store.security, kind, value);
      await c.var.mgmt.refreshSecurity();
      await audit(c, "ban.lift", `${kind}:${value}`);
      return c.body(null, 204);
    });
}
