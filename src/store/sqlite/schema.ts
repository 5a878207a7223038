/**
 * The SQLite schema (drizzle sqlite-core). `drizzle-kit generate` turns changes here into SQL
 * migrations under ./migrations; `bun scripts/embed-migrations.ts` embeds them in migrations.ts.
 *
 * A message fanned out to many offline sessions is stored once in `messages` and referenced by
 * each delivery (and by a retained entry or a will when it is one). Triggers (migration
 * 0001_message_gc, hand-written: drizzle-kit does not model triggers) delete a message when its
 * last reference goes. Everything that belongs to a session references `sessions` with ON DELETE
 * CASCADE, so deleting a session removes its subscriptions, deliveries, packet ids and will.
 */
import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const sessions = sqliteTable("sessions", {
  clientId: text("client_id").primaryKey(),
  /** Seconds (0xFFFFFFFF = never). */
  expiryInterval: integer("expiry_interval").notNull(),
  /** Clock ms when the last connection closed; null while connected. */
  disconnectedAt: integer("disconnected_at"),
});

const sessionRef = () => text("client_id").notNull().references(() => sessions.clientId, { onDelete: "cascade" });

export const subscriptions = sqliteTable("subscriptions", {
  clientId: sessionRef(),
  /** The filter as sent, `$share/name/` prefix included. */
  key: text("key").notNull(),
  qos: integer("qos").notNull(),
  noLocal: integer("no_local", { mode: "boolean" }).notNull(),
  retainAsPublished: integer("retain_as_published", { mode: "boolean" }).notNull(),
  retainHandling: integer("retain_handling").notNull(),
  subscriptionIdentifier: integer("subscription_identifier"),
}, (t) => [primaryKey({ columns: [t.clientId, t.key] })]);

export const messages = sqliteTable("messages", {
  /** Assigned by the store (one id per Message object, shared by every reference). */
  id: integer("id").primaryKey(),
  topic: text("topic").notNull(),
  payload: blob("payload", { mode: "buffer" }).notNull(),
  qos: integer("qos").notNull(),
  retain: integer("retain", { mode: "boolean" }).notNull(),
  /** JSON of the v5 properties: correlationData as base64, userProperties as [name, value] pairs; null = none. */
  properties: text("properties"),
  /** Clock ms after which the message is dropped; null = never. */
  expiresAt: integer("expires_at"),
  /** Publisher's client id (No Local). */
  origin: text("origin"),
});

const messageRef = () => integer("message_id").notNull().references(() => messages.id);

export const deliveries = sqliteTable("deliveries", {
  clientId: sessionRef(),
  /** The core's delivery id: unique per broker, and the delivery order. */
  id: integer("id").notNull(),
  messageId: messageRef(),
  qos: integer("qos").notNull(),
  retain: integer("retain", { mode: "boolean" }).notNull(),
  /** JSON array of subscription identifiers; null = none. */
  subscriptionIdentifiers: text("subscription_identifiers"),
  /** Set once sent. */
  packetId: integer("packet_id"),
  /** "awaitingAck" | "awaitingComp" once sent. */
  state: text("state"),
}, (t) => [primaryKey({ columns: [t.clientId, t.id] }), index("deliveries_message_id").on(t.messageId)]);

/** Inbound QoS 2 packet ids whose PUBREL has not come yet. */
export const awaitingRelease = sqliteTable("awaiting_release", {
  clientId: sessionRef(),
  packetId: integer("packet_id").notNull(),
}, (t) => [primaryKey({ columns: [t.clientId, t.packetId] })]);

export const wills = sqliteTable("wills", {
  clientId: text("client_id").primaryKey().references(() => sessions.clientId, { onDelete: "cascade" }),
  messageId: messageRef(),
  /** Clock ms at which the will is due. */
  publishAt: integer("publish_at").notNull(),
  messageExpiryInterval: integer("message_expiry_interval"),
}, (t) => [index("wills_message_id").on(t.messageId)]);

export const retained = sqliteTable("retained", {
  topic: text("topic").primaryKey(),
  messageId: messageRef(),
}, (t) => [index("retained_message_id").on(t.messageId)]);

// ---- security (src/security/types.ts): written by the CLI and the admin API, read by the broker ----

/** MQTT users; password_hash is a PHC string ($argon2id$...) or an imported Mosquitto $7$/$6$ hash. */
export const users = sqliteTable("users", {
  username: text("username").primaryKey(),
  passwordHash: text("password_hash").notNull(),
  /** Clock ms. */
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * ACL rules in order: `position` runs 0..n-1 without gaps (inserts and deletes renumber the rules
 * after them in the same transaction). Who: username, client_id, anonymous, or none of them = all.
 */
export const aclRules = sqliteTable("acl_rules", {
  id: integer("id").primaryKey(),
  position: integer("position").notNull(),
  username: text("username"),
  clientId: text("client_id"),
  anonymous: integer("anonymous", { mode: "boolean" }).notNull(),
  /** Topic filter, `%u` / `%c` kept as written. */
  topic: text("topic").notNull(),
  /** "publish" | "subscribe" | "both". */
  action: text("action").notNull(),
  /** "allow" | "deny". */
  permission: text("permission").notNull(),
  maxQos: integer("max_qos"),
  /** null = any; 0 = retained publishes denied by this rule. */
  retain: integer("retain", { mode: "boolean" }),
}, (t) => [uniqueIndex("acl_rules_position").on(t.position)]);

/** Bans by client id, user name or address/CIDR (kind "clientId" | "username" | "address"). */
export const bans = sqliteTable("bans", {
  kind: text("kind").notNull(),
  value: text("value").notNull(),
  reason: text("reason").notNull(),
  /** Clock ms. */
  createdAt: integer("created_at").notNull(),
  /** Clock ms after which the ban no longer applies; null = until lifted. */
  expiresAt: integer("expires_at"),
}, (t) => [primaryKey({ columns: [t.kind, t.value] }), index("bans_expires_at").on(t.expiresAt)]);

// ---- admin (src/security/admin-types.ts): console and admin API accounts, separate from MQTT users ----

/** Admin accounts: password_hash is argon2id (src/security/passwords.ts); role "admin" | "viewer". */
export const adminAccounts = sqliteTable("admin_accounts", {
  name: text("name").primaryKey(),
  passwordHash: text("password_hash").notNull(),
  role: text("role").notNull(),
  /** Clock ms. */
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** API keys (Bearer): only a SHA-256 of the secret part is kept; the key is shown once when created. */
export const adminApiKeys = sqliteTable("admin_api_keys", {
  /** The public part of the key (`gnt_<id>_<secret>`). */
  id: text("id").primaryKey(),
  label: text("label").notNull(),
  /** The admin account that created it; deleting the account revokes its keys. */
  account: text("account").notNull().references(() => adminAccounts.name, { onDelete: "cascade" }),
  role: text("role").notNull(),
  /** Hex SHA-256 of the secret part. */
  secretHash: text("secret_hash").notNull(),
  createdAt: integer("created_at").notNull(),
  lastUsedAt: integer("last_used_at"),
}, (t) => [index("admin_api_keys_account").on(t.account)]);

/** Every change made through the admin API or the admin CLI: who, what, when. */
export const adminAudit = sqliteTable("admin_audit", {
  id: integer("id").primaryKey(),
  /** Clock ms. */
  at: integer("at").notNull(),
  /** "admin" (an account), "key:<id>" (an API key), or "cli". */
  actor: text("actor").notNull(),
  /** e.g. "user.add", "client.disconnect", "login.failed". */
  action: text("action").notNull(),
  target: text("target").notNull(),
  /** JSON with the particulars (never a password or key). */
  detail: text("detail"),
  address: text("address"),
}, (t) => [index("admin_audit_at").on(t.at)]);
