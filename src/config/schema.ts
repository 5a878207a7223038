/**
 * The configuration schema: the single source of truth for options, defaults and documentation.
 * The YAML file, GANNET_* environment variables and command-line flags all end up validated here;
 * `gannet config schema` turns it into JSON Schema and `gannet config example` into the commented
 * example file, so every `.describe()` text below is user-facing.
 *
 * Adding a section: add one `key: sectionSchema.prefault({})` entry to `configSchema` (objects use
 * `.strict()` so unknown keys are errors with a suggestion). Nothing else has to know about it.
 */
import { z } from "zod";
import { persistenceSchema } from "./persistence.ts";
import { bridgesSchema } from "./bridges.ts";

const port = z.number().int().min(0).max(65535);

export const mqttSchema = z.object({
  maxPacketSize: z.number().int().min(64).max(268_435_460).default(1_048_576)
    .describe("largest packet accepted from a client, in bytes (larger: v5 reason 0x95, then close)"),
  receiveMaximum: z.number().int().min(1).max(65_535).default(1024)
    .describe("inbound QoS 1/2 publishes a client may have unacknowledged (v5 Receive Maximum)"),
  // 256, not 64: a consumer that reads its socket once per millisecond gets at most one window per
  // read, so the window caps its rate (64 -> ~64k msg/s at best). Messages beyond the window wait in
  // the session queue in memory anyway, and the send buffer's high-water mark still bounds what a
  // slow socket is handed; the cost is up to 256 DUP resends after a reconnect. See README, Benchmarks.
  maxInflight: z.number().int().min(1).max(65_535).default(256)
    .describe("outbound QoS 1/2 messages in flight per client (also capped by the client's Receive Maximum)"),
  topicAliasMaximum: z.number().int().min(0).max(65_535).default(64)
    .describe("topic aliases a v5 client may use towards the broker (0 disables)"),
  maxKeepalive: z.number().int().min(1).max(65_535).default(65_535)
    .describe("keepalive above this is capped, in seconds (v5: Server Keep Alive in CONNACK)"),
  maxSessionExpiryInterval: z.number().int().min(0).max(4_294_967_295).default(4_294_967_295)
    .describe("cap on the v5 Session Expiry Interval, in seconds (4294967295 = never expire)"),
  maxQueuedMessages: z.number().int().min(0).default(1000)
    .describe("messages queued per session while offline or beyond the inflight window; newer ones are dropped"),
  maxQueuedBytes: z.number().int().min(0).default(0)
    .describe("payload bytes queued per session (0 = no byte limit)"),
  maxRetainedMessages: z.number().int().min(0).default(0).describe(
    "retained messages kept at once (0 = no limit); a retained publish to a new topic beyond it is refused " +
      "(v5 QoS 1/2: PUBACK/PUBREC 0x97; otherwise dropped and logged)",
  ),
  queueQos0: z.boolean().default(false).describe("queue QoS 0 messages for offline persistent sessions"),
  maxQos: z.literal([0, 1, 2]).default(2).describe("highest QoS granted"),
  retainAvailable: z.boolean().default(true).describe("retained messages supported"),
  sharedSubscriptions: z.boolean().default(true).describe("shared subscriptions ($share/...) supported"),
  wildcardSubscriptions: z.boolean().default(true).describe("wildcard subscriptions supported"),
  subscriptionIdentifiers: z.boolean().default(true).describe("v5 subscription identifiers supported"),
  connectTimeout: z.number().int().min(1).default(10).describe("seconds a new socket may take to send CONNECT"),
  maxConnections: z.number().int().min(0).default(0)
    .describe(
      "most clients connected at once over all listeners (0 = as many as the open files limit allows, less 64 kept " +
        "for the store and listeners); more are closed at once, logged",
    ),
  allowAnonymous: z.boolean().default(false).describe(
    "accept clients without a user name; without a configuration file, listeners on a loopback address allow them " +
      "unless this is set (as Mosquitto 2 does)",
  ),
  maxSubscriptionsPerClient: z.number().int().min(0).default(1000)
    .describe("subscriptions one client may hold (0 = no limit); more get SUBACK 0x97 (v5) or 0x80"),
  maxTopicLevels: z.number().int().min(1).max(65_535).default(64)
    .describe("levels in a topic name or filter (a/b/c has 3); deeper topics are refused"),
  maxTopicLength: z.number().int().min(1).max(65_535).default(4096)
    .describe("bytes in a topic name or filter; longer ones are refused"),
  maxPublishRate: z.number().int().min(0).default(0)
    .describe("PUBLISH packets per second one client may send (0 = no limit); faster clients are slowed down by pausing reads"),
  maxPublishBytesRate: z.number().int().min(0).default(0)
    .describe("PUBLISH bytes per second one client may send (0 = no limit); faster clients are slowed down by pausing reads"),
}).strict();

/** The mqtt keys without defaults, each optional: a listener's overrides of the global limits. */
const mqttOverridesSchema = z.object(
  Object.fromEntries(
    Object.entries(mqttSchema.shape).map(([key, field]) => [key, field.unwrap().optional().describe(field.description ?? "")]),
  ) as { [K in keyof typeof mqttSchema.shape]: z.ZodOptional<ReturnType<(typeof mqttSchema.shape)[K]["unwrap"]>> },
).strict();

export const listenerSchema = z.object({
  kind: z.enum(["tcp", "ws", "tls", "wss"]).describe(
    "tcp (MQTT over TCP), tls (MQTT over TLS), ws (MQTT over WebSocket) or wss (MQTT over WebSocket over TLS)",
  ),
  host: z.string().min(1).default("0.0.0.0").describe("address to bind (0.0.0.0 = every IPv4 interface)"),
  port: port.describe("port to bind (0 = any free port)"),
  path: z.string().default("/mqtt").describe('ws/wss only: the HTTP path that upgrades ("*" = any path)'),
  cert: z.string().optional().describe("tls/wss: PEM certificate chain file (re-read on SIGHUP)"),
  key: z.string().optional().describe("tls/wss: PEM private key file (re-read on SIGHUP)"),
  ca: z.string().optional().describe("tls/wss: PEM file of the CAs that sign client certificates (needed for clientCertificate)"),
  clientCertificate: z.enum(["none", "request", "require"]).default("none").describe(
    "tls/wss: ask clients for a certificate signed by `ca` (request: optional; require: no certificate, no connection)",
  ),
  useCertificateCnAsUsername: z.boolean().default(false).describe(
    "tls/wss: a client's verified certificate authenticates it, and its Common Name is its user name (for ACL rules)",
  ),
  maxConnections: z.number().int().min(0).default(0)
    .describe("most clients connected through this listener at once (0 = no limit of its own)"),
  mqtt: mqttOverridesSchema.optional()
    .describe("MQTT limits for connections on this listener, overriding the mqtt section key by key"),
}).strict();

const aclRuleSchema = z.object({
  username: z.string().optional().describe("the rule applies to this user"),
  clientId: z.string().optional().describe("the rule applies to this client id"),
  anonymous: z.boolean().optional().describe("true: the rule applies to clients without a user name"),
  topic: z.string().min(1).describe("topic filter; %u is the user name, %c the client id"),
  action: z.enum(["publish", "subscribe", "both"]).default("both").describe("what the rule covers"),
  permission: z.enum(["allow", "deny"]).describe("allow or deny"),
  maxQos: z.literal([0, 1, 2]).optional().describe("allow rules: highest QoS (publishes above are denied, subscriptions capped)"),
  retain: z.boolean().optional().describe("allow rules: false = retained publishes are denied"),
}).strict().refine((r) => [r.username, r.clientId, r.anonymous].filter((w) => w !== undefined).length <= 1, {
  message: "a rule names at most one of username, clientId and anonymous (none = every client)",
});

export const authSchema = z.object({
  users: z.array(z.object({
    username: z.string().min(1).describe("user name"),
    password: z.string().min(1).describe(
      "password hash from `gannet user hash` ($argon2id$..., or a Mosquitto $7$ hash); a plain password is accepted " +
        "with a warning",
    ),
  }).strict()).default([]).describe("users from this file, checked before the users stored with `gannet user add`"),
  http: z.object({
    url: z.string().url().describe("POST {clientId, username, password, remote, action, topic, qos, retain} here"),
    timeout: z.number().min(0.05).max(60).default(2).describe("seconds to wait for an answer (then: defer to the next check)"),
    cacheTtl: z.number().min(0).default(60).describe("seconds an answer is cached (0 = no cache)"),
    authorize: z.boolean().default(false).describe("also ask it about each topic (publish/subscribe), not only on CONNECT"),
  }).strict().optional().describe("an HTTP service that decides on CONNECT (and topics); 200 allow, 403 deny, else defer"),
}).strict();

export const aclSchema = z.object({
  default: z.enum(["allow", "deny"]).default("allow").describe("what applies when no rule matches"),
  rules: z.array(aclRuleSchema).default([])
    .describe("rules checked in order, first match wins; these come before the rules stored with `gannet acl add`"),
}).strict();

const banPolicy = (what: string, count: number) =>
  z.object({
    enabled: z.boolean().default(true).describe(`ban on ${what}`),
    threshold: z.number().int().min(1).default(count).describe(`${what} within \`window\` that trigger a ban`),
    window: z.number().min(1).default(60).describe("seconds"),
    duration: z.number().min(1).default(300).describe("seconds a ban lasts"),
  }).strict();

export const bansSchema = z.object({
  flapping: banPolicy("connects of one client id", 30).prefault({})
    .describe("a client id that connects more than `threshold` times within `window` is banned"),
  authFailures: banPolicy("failed authentications from one address", 10).prefault({})
    .describe("an address with `threshold` failed authentications within `window` is banned"),
  refreshInterval: z.number().min(0.1).default(5)
    .describe("seconds between reloads of bans and ACL rules changed by the CLI (SIGHUP reloads at once)"),
}).strict();

export const loggingSchema = z.object({
  level: z.enum(["debug", "info", "warn", "error"]).default("info").describe("lowest level logged"),
  format: z.enum(["json", "text"]).default("text").describe("text (logfmt-style) or json, one line per event"),
}).strict();

export const adminSchema = z.object({
  enabled: z.boolean().default(true).describe("serve the admin HTTP port (/healthz, /readyz, console)"),
  host: z.string().min(1).default("127.0.0.1").describe("address to bind (0.0.0.0 = every IPv4 interface)"),
  port: port.default(18083).describe("port to bind"),
  initialPassword: z.string().min(8).optional()
    .describe("password of the `admin` account created on the first start when there is no admin account (default: a random one, printed once in the log; a secret)"),
  sessionTimeout: z.number().int().min(60).max(30 * 86400).default(28800)
    .describe("seconds a console login lasts without activity"),
  tls: z.object({
    cert: z.string().min(1).describe("PEM certificate (chain) file"),
    key: z.string().min(1).describe("PEM private key file"),
  }).strict().optional()
    .describe("serve the admin port over HTTPS (recommended whenever admin.host is not loopback)"),
}).strict();

export const sysSchema = z.object({
  interval: z.number().int().min(0).default(10).describe("seconds between $SYS updates (0 disables $SYS)"),
}).strict();

export const shutdownSchema = z.object({
  timeout: z.number().min(0.1).max(3600).default(10)
    .describe("seconds a graceful shutdown (SIGTERM/SIGINT) may take before the process exits anyway"),
}).strict();

export const configSchema = z.object({
  listeners: z.array(listenerSchema).prefault([
    { kind: "tcp", host: "127.0.0.1", port: 1883 },
    { kind: "ws", host: "127.0.0.1", port: 8083 },
  ]).describe("MQTT listeners; the default is TCP on 1883 and WebSocket on 8083 at /mqtt, on 127.0.0.1 only"),
  mqtt: mqttSchema.prefault({}).describe("MQTT limits and capabilities"),
  logging: loggingSchema.prefault({}).describe("log lines go to stdout (debug, info) and stderr (warn, error)"),
  admin: adminSchema.prefault({}).describe("admin HTTP port: health checks, the admin API (/api/v1) and the console"),
  sys: sysSchema.prefault({}).describe("$SYS topics"),
  shutdown: shutdownSchema.prefault({}).describe("graceful shutdown"),
  persistence: persistenceSchema.prefault({}).describe("durable state: sessions, queued messages, retained messages, wills"),
  auth: authSchema.prefault({}).describe("authentication: users and an optional HTTP service"),
  acl: aclSchema.prefault({}).describe("authorization: who may publish and subscribe to what"),
  bans: bansSchema.prefault({}).describe("automatic bans: flapping clients and repeated authentication failures"),
  bridges: bridgesSchema.describe("connections to upstream brokers: local topics forwarded out, upstream topics brought in"),
}).strict().superRefine((config, ctx) => {
  config.listeners.forEach((l, i) => {
    const secure = l.kind === "tls" || l.kind === "wss";
    if (secure && (!l.cert || !l.key)) {
      ctx.addIssue({ code: "custom", path: ["listeners", i, l.cert ? "key" : "cert"], message: `${l.kind} listeners need cert and key` });
    }
    if (!secure && (l.cert || l.key || l.ca || l.clientCertificate !== "none" || l.useCertificateCnAsUsername)) {
      ctx.addIssue({ code: "custom", path: ["listeners", i, "kind"], message: "cert, key, ca and client certificates need kind tls or wss" });
    }
    if (l.clientCertificate !== "none" && !l.ca) {
      ctx.addIssue({ code: "custom", path: ["listeners", i, "ca"], message: "clientCertificate needs ca (the CAs that sign client certificates)" });
    }
    if (l.useCertificateCnAsUsername && l.clientCertificate === "none") {
      ctx.addIssue({ code: "custom", path: ["listeners", i, "clientCertificate"], message: "useCertificateCnAsUsername needs clientCertificate request or require" });
    }
  });
  for (const clash of portClashes(config)) ctx.addIssue({ code: "custom", path: clash.path, message: clash.message });
});

const WILDCARD = new Set(["0.0.0.0", "::", "[::]", "*"]);

/** Two binds of one port collide when the hosts are equal or either is a wildcard address. */
const collide = (a: { host: string; port: number }, b: { host: string; port: number }) =>
  a.port !== 0 && a.port === b.port && (a.host === b.host || WILDCARD.has(a.host) || WILDCARD.has(b.host));

/** Listeners (and the admin port) that would fight for one host:port: the second one cannot start. */
function portClashes(config: {
  listeners: readonly { kind: string; host: string; port: number }[];
  admin: { enabled: boolean; host: string; port: number };
}): { path: (string | number)[]; message: string }[] {
  const clashes: { path: (string | number)[]; message: string }[] = [];
  const name = (l: { kind: string; host: string; port: number }, i: number) => `listeners[${i}] (${l.kind} ${l.host}:${l.port})`;
  config.listeners.forEach((l, i) => {
    const first = config.listeners.findIndex((other, j) => j < i && collide(other, l));
    if (first >= 0) {
      clashes.push({
        path: ["listeners", i, "port"],
        message: `${name(l, i)} uses the same port as ${name(config.listeners[first], first)}: only one can listen there`,
      });
    }
  });
  const { admin } = config;
  const taken = config.listeners.findIndex((l) => collide(l, admin));
  if (admin.enabled && taken >= 0) {
    clashes.push({
      path: ["admin", "port"],
      message: `the admin HTTP port ${admin.host}:${admin.port} is also the port of ${name(config.listeners[taken], taken)}: ` +
        "choose another admin.port (or admin.enabled: false)",
    });
  }
  return clashes;
}

export type Config = z.infer<typeof configSchema>;
export type MqttLimits = z.infer<typeof mqttSchema>;
export type ListenerConfig = z.infer<typeof listenerSchema>;
export type AuthConfig = z.infer<typeof authSchema>;
export type AclConfig = z.infer<typeof aclSchema>;
export type BansConfig = z.infer<typeof bansSchema>;
export type { PersistenceConfig } from "./persistence.ts";
export type { BridgeConfig } from "./bridges.ts";
export { parseDuration, parseSize } from "./bridges.ts";

export function defaultConfig(): Config {
  return configSchema.parse({});
}
