/**
 * The configuration schema: the single source of truth for options, defaults and documentation.
 * The YAML file, GANNET_* environment variables and command-line flags all end up validated here;
 * `gannet config schema` turns it into JSON Schema and `gannet config example` into the commented
 * example file, so every `.describe()` text below is user-facing.
 *
 * Adding a section: add one `key: sectionSchema.prefault({})` entry to `configSchema` (objects use
 * `.strict()` so unknown keys are errors with a suggestion). Nothing else has to know about it.
 */
import * as z from "zod/mini";
import { described } from "./zod.ts";
import { persistenceSchema } from "./persistence.ts";
import { bridgesSchema } from "./bridges.ts";

const port = () => z.number().check(z.int(), z.minimum(0), z.maximum(65535));

export const mqttSchema = z.strictObject({
  maxPacketSize: described(
    z._default(z.number().check(z.int(), z.minimum(64), z.maximum(268_435_460)), 1_048_576),
    "largest packet accepted from a client, in bytes (larger: v5 reason 0x95, then close)",
  ),
  receiveMaximum: described(
    z._default(z.number().check(z.int(), z.minimum(1), z.maximum(65_535)), 1024),
    "inbound QoS 1/2 publishes a client may have unacknowledged (v5 Receive Maximum)",
  ),
  // 256, not 64: a consumer that reads its socket once per millisecond gets at most one window per
  // read, so the window caps its rate (64 -> ~64k msg/s at best). Messages beyond the window wait in
  // the session queue in memory anyway, and the send buffer's high-water mark still bounds what a
  // slow socket is handed; the cost is up to 256 DUP resends after a reconnect. See README, Benchmarks.
  maxInflight: described(
    z._default(z.number().check(z.int(), z.minimum(1), z.maximum(65_535)), 256),
    "outbound QoS 1/2 messages in flight per client (also capped by the client's Receive Maximum)",
  ),
  topicAliasMaximum: described(
    z._default(z.number().check(z.int(), z.minimum(0), z.maximum(65_535)), 64),
    "topic aliases a v5 client may use towards the broker (0 disables)",
  ),
  maxKeepalive: described(
    z._default(z.number().check(z.int(), z.minimum(1), z.maximum(65_535)), 65_535),
    "keepalive above this is capped, in seconds (v5: Server Keep Alive in CONNACK)",
  ),
  maxSessionExpiryInterval: described(
    z._default(z.number().check(z.int(), z.minimum(0), z.maximum(4_294_967_295)), 4_294_967_295),
    "cap on the v5 Session Expiry Interval, in seconds (4294967295 = never expire)",
  ),
  maxQueuedMessages: described(
    z._default(z.number().check(z.int(), z.minimum(0)), 1000),
    "messages queued per session while offline or beyond the inflight window; newer ones are dropped",
  ),
  maxQueuedBytes: described(
    z._default(z.number().check(z.int(), z.minimum(0)), 0),
    "payload bytes queued per session (0 = no byte limit)",
  ),
  maxRetainedMessages: described(
    z._default(z.number().check(z.int(), z.minimum(0)), 0),
    "retained messages kept at once (0 = no limit); a retained publish to a new topic beyond it is refused " +
      "(v5 QoS 1/2: PUBACK/PUBREC 0x97; otherwise dropped and logged)",
  ),
  queueQos0: described(z._default(z.boolean(), false), "queue QoS 0 messages for offline persistent sessions"),
  maxQos: described(z._default(z.literal([0, 1, 2]), 2), "highest QoS granted"),
  retainAvailable: described(z._default(z.boolean(), true), "retained messages supported"),
  sharedSubscriptions: described(z._default(z.boolean(), true), "shared subscriptions ($share/...) supported"),
  wildcardSubscriptions: described(z._default(z.boolean(), true), "wildcard subscriptions supported"),
  subscriptionIdentifiers: described(z._default(z.boolean(), true), "v5 subscription identifiers supported"),
  connectTimeout: described(
    z._default(z.number().check(z.int(), z.minimum(1)), 10),
    "seconds a new socket may take to send CONNECT",
  ),
  maxConnections: described(
    z._default(z.number().check(z.int(), z.minimum(0)), 0),
    "most clients connected at once over all listeners (0 = as many as the open files limit allows, less 64 kept " +
      "for the store and listeners); more are closed at once, logged",
  ),
  allowAnonymous: described(
    z._default(z.boolean(), false),
    "accept clients without a user name; without a configuration file, listeners on a loopback address allow them " +
      "unless this is set (as Mosquitto 2 does)",
  ),
  maxSubscriptionsPerClient: described(
    z._default(z.number().check(z.int(), z.minimum(0)), 1000),
    "subscriptions one client may hold (0 = no limit); more get SUBACK 0x97 (v5) or 0x80",
  ),
  maxTopicLevels: described(
    z._default(z.number().check(z.int(), z.minimum(1), z.maximum(65_535)), 64),
    "levels in a topic name or filter (a/b/c has 3); deeper topics are refused",
  ),
  maxTopicLength: described(
    z._default(z.number().check(z.int(), z.minimum(1), z.maximum(65_535)), 4096),
    "bytes in a topic name or filter; longer ones are refused",
  ),
  maxPublishRate: described(
    z._default(z.number().check(z.int(), z.minimum(0)), 0),
    "PUBLISH packets per second one client may send (0 = no limit); faster clients are slowed down by pausing reads",
  ),
  maxPublishBytesRate: described(
    z._default(z.number().check(z.int(), z.minimum(0)), 0),
    "PUBLISH bytes per second one client may send (0 = no limit); faster clients are slowed down by pausing reads",
  ),
});

/** The mqtt keys without defaults, each optional: a listener's overrides of the global limits. */
const mqttOverridesSchema = z.strictObject(
  Object.fromEntries(
    Object.entries(mqttSchema.shape).map((
      [key, field],
    ) => [key, described(z.optional(field._zod.def.innerType), z.globalRegistry.get(field)?.description ?? "")]),
  ) as {
    [K in keyof typeof mqttSchema.shape]: z.ZodMiniOptional<(typeof mqttSchema.shape)[K]["_zod"]["def"]["innerType"]>;
  },
);

export const listenerSchema = z.strictObject({
  kind: described(
    z.enum(["tcp", "ws", "tls", "wss"]),
    "tcp (MQTT over TCP), tls (MQTT over TLS), ws (MQTT over WebSocket) or wss (MQTT over WebSocket over TLS)",
  ),
  host: described(
    z._default(z.string().check(z.minLength(1)), "0.0.0.0"),
    "address to bind (0.0.0.0 = every IPv4 interface)",
  ),
  port: described(port(), "port to bind (0 = any free port)"),
  path: described(z._default(z.string(), "/mqtt"), 'ws/wss only: the HTTP path that upgrades ("*" = any path)'),
  cert: described(z.optional(z.string()), "tls/wss: PEM certificate chain file (re-read on SIGHUP)"),
  key: described(z.optional(z.string()), "tls/wss: PEM private key file (re-read on SIGHUP)"),
  ca: described(
    z.optional(z.string()),
    "tls/wss: PEM file of the CAs that sign client certificates (needed for clientCertificate)",
  ),
  clientCertificate: described(
    z._default(z.enum(["none", "request", "require"]), "none"),
    "tls/wss: ask clients for a certificate signed by `ca` (request: optional; require: no certificate, no connection)",
  ),
  useCertificateCnAsUsername: described(
    z._default(z.boolean(), false),
    "tls/wss: a client's verified certificate authenticates it, and its Common Name is its user name (for ACL rules)",
  ),
  maxConnections: described(
    z._default(z.number().check(z.int(), z.minimum(0)), 0),
    "most clients connected through this listener at once (0 = no limit of its own)",
  ),
  mqtt: described(
    z.optional(mqttOverridesSchema),
    "MQTT limits for connections on this listener, overriding the mqtt section key by key",
  ),
});

const aclRuleSchema = z.strictObject({
  username: described(z.optional(z.string()), "the rule applies to this user"),
  clientId: described(z.optional(z.string()), "the rule applies to this client id"),
  anonymous: described(z.optional(z.boolean()), "true: the rule applies to clients without a user name"),
  topic: described(z.string().check(z.minLength(1)), "topic filter; %u is the user name, %c the client id"),
  action: described(z._default(z.enum(["publish", "subscribe", "both"]), "both"), "what the rule covers"),
  permission: described(z.enum(["allow", "deny"]), "allow or deny"),
  maxQos: described(
    z.optional(z.literal([0, 1, 2])),
    "allow rules: highest QoS (publishes above are denied, subscriptions capped)",
  ),
  retain: described(z.optional(z.boolean()), "allow rules: false = retained publishes are denied"),
}).check(z.refine((r) => [r.username, r.clientId, r.anonymous].filter((w) => w !== undefined).length <= 1, {
  message: "a rule names at most one of username, clientId and anonymous (none = every client)",
}));

export const authSchema = z.strictObject({
  users: described(
    z._default(
      z.array(z.strictObject({
        username: described(z.string().check(z.minLength(1)), "user name"),
        password: described(
          z.string().check(z.minLength(1)),
          "password hash from `gannet user hash` ($argon2id$..., or a Mosquitto $7$ hash); a plain password is accepted " +
            "with a warning",
        ),
      })),
      [],
    ),
    "users from this file, checked before the users stored with `gannet user add`",
  ),
  http: described(
    z.optional(z.strictObject({
      url: described(
        z.string().check(z.url()),
        "POST {clientId, username, password, remote, action, topic, qos, retain} here",
      ),
      timeout: described(
        z._default(z.number().check(z.minimum(0.05), z.maximum(60)), 2),
        "seconds to wait for an answer (then: defer to the next check)",
      ),
      cacheTtl: described(z._default(z.number().check(z.minimum(0)), 60), "seconds an answer is cached (0 = no cache)"),
      authorize: described(
        z._default(z.boolean(), false),
        "also ask it about each topic (publish/subscribe), not only on CONNECT",
      ),
    })),
    "an HTTP service that decides on CONNECT (and topics); 200 allow, 403 deny, else defer",
  ),
});

export const aclSchema = z.strictObject({
  default: described(z._default(z.enum(["allow", "deny"]), "allow"), "what applies when no rule matches"),
  rules: described(
    z._default(z.array(aclRuleSchema), []),
    "rules checked in order, first match wins; these come before the rules stored with `gannet acl add`",
  ),
});

const banPolicy = (what: string, count: number) =>
  z.strictObject({
    enabled: described(z._default(z.boolean(), true), `ban on ${what}`),
    threshold: described(
      z._default(z.number().check(z.int(), z.minimum(1)), count),
      `${what} within \`window\` that trigger a ban`,
    ),
    window: described(z._default(z.number().check(z.minimum(1)), 60), "seconds"),
    duration: described(z._default(z.number().check(z.minimum(1)), 300), "seconds a ban lasts"),
  });

export const bansSchema = z.strictObject({
  flapping: described(
    z.prefault(banPolicy("connects of one client id", 30), {}),
    "a client id that connects more than `threshold` times within `window` is banned",
  ),
  authFailures: described(
    z.prefault(banPolicy("failed authentications from one address", 10), {}),
    "an address with `threshold` failed authentications within `window` is banned",
  ),
  refreshInterval: described(
    z._default(z.number().check(z.minimum(0.1)), 5),
    "seconds between reloads of bans and ACL rules changed by the CLI (SIGHUP reloads at once)",
  ),
});

export const loggingSchema = z.strictObject({
  level: described(z._default(z.enum(["debug", "info", "warn", "error"]), "info"), "lowest level logged"),
  format: described(z._default(z.enum(["json", "text"]), "text"), "text (logfmt-style) or json, one line per event"),
});

export const adminSchema = z.strictObject({
  enabled: described(z._default(z.boolean(), true), "serve the admin HTTP port (/healthz, /readyz, console)"),
  host: described(
    z._default(z.string().check(z.minLength(1)), "127.0.0.1"),
    "address to bind (0.0.0.0 = every IPv4 interface)",
  ),
  port: described(z._default(port(), 18083), "port to bind"),
  initialPassword: described(
    z.optional(z.string().check(z.minLength(8))),
    "password of the `admin` account created on the first start when there is no admin account (default: a random one, printed once in the log; a secret)",
  ),
  sessionTimeout: described(
    z._default(z.number().check(z.int(), z.minimum(60), z.maximum(30 * 86400)), 28800),
    "seconds a console login lasts without activity",
  ),
  tls: described(
    z.optional(z.strictObject({
      cert: described(z.string().check(z.minLength(1)), "PEM certificate (chain) file"),
      key: described(z.string().check(z.minLength(1)), "PEM private key file"),
    })),
    "serve the admin port over HTTPS (recommended whenever admin.host is not loopback)",
  ),
});

export const sysSchema = z.strictObject({
  interval: described(
    z._default(z.number().check(z.int(), z.minimum(0)), 10),
    "seconds between $SYS updates (0 disables $SYS)",
  ),
});

export const shutdownSchema = z.strictObject({
  timeout: described(
    z._default(z.number().check(z.minimum(0.1), z.maximum(3600)), 10),
    "seconds a graceful shutdown (SIGTERM/SIGINT) may take before the process exits anyway",
  ),
});

export const configSchema = z.strictObject({
  listeners: described(
    z.prefault(z.array(listenerSchema), [
      { kind: "tcp", host: "127.0.0.1", port: 1883 },
      { kind: "ws", host: "127.0.0.1", port: 8083 },
    ]),
    "MQTT listeners; the default is TCP on 1883 and WebSocket on 8083 at /mqtt, on 127.0.0.1 only",
  ),
  mqtt: described(z.prefault(mqttSchema, {}), "MQTT limits and capabilities"),
  logging: described(z.prefault(loggingSchema, {}), "log lines go to stdout (debug, info) and stderr (warn, error)"),
  admin: described(
    z.prefault(adminSchema, {}),
    "admin HTTP port: health checks, the admin API (/api/v1) and the console",
  ),
  sys: described(z.prefault(sysSchema, {}), "$SYS topics"),
  shutdown: described(z.prefault(shutdownSchema, {}), "graceful shutdown"),
  persistence: described(
    z.prefault(persistenceSchema, {}),
    "durable state: sessions, queued messages, retained messages, wills",
  ),
  auth: described(z.prefault(authSchema, {}), "authentication: users and an optional HTTP service"),
  acl: described(z.prefault(aclSchema, {}), "authorization: who may publish and subscribe to what"),
  bans: described(z.prefault(bansSchema, {}), "automatic bans: flapping clients and repeated authentication failures"),
  bridges: described(
    bridgesSchema,
    "connections to upstream brokers: local topics forwarded out, upstream topics brought in",
  ),
}).check(z.superRefine((config, ctx) => {
  config.listeners.forEach((l, i) => {
    const secure = l.kind === "tls" || l.kind === "wss";
    if (secure && (!l.cert || !l.key)) {
      ctx.addIssue({
        code: "custom",
        path: ["listeners", i, l.cert ? "key" : "cert"],
        message: `${l.kind} listeners need cert and key`,
      });
    }
    if (!secure && (l.cert || l.key || l.ca || l.clientCertificate !== "none" || l.useCertificateCnAsUsername)) {
      ctx.addIssue({
        code: "custom",
        path: ["listeners", i, "kind"],
        message: "cert, key, ca and client certificates need kind tls or wss",
      });
    }
    if (l.clientCertificate !== "none" && !l.ca) {
      ctx.addIssue({
        code: "custom",
        path: ["listeners", i, "ca"],
        message: "clientCertificate needs ca (the CAs that sign client certificates)",
      });
    }
    if (l.useCertificateCnAsUsername && l.clientCertificate === "none") {
      ctx.addIssue({
        code: "custom",
        path: ["listeners", i, "clientCertificate"],
        message: "useCertificateCnAsUsername needs clientCertificate request or require",
      });
    }
  });
  for (const clash of portClashes(config)) ctx.addIssue({ code: "custom", path: clash.path, message: clash.message });
}));

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
  const name = (l: { kind: string; host: string; port: number }, i: number) =>
    `listeners[${i}] (${l.kind} ${l.host}:${l.port})`;
  config.listeners.forEach((l, i) => {
    const first = config.listeners.findIndex((other, j) => j < i && collide(other, l));
    if (first >= 0) {
      clashes.push({
        path: ["listeners", i, "port"],
        message: `${name(l, i)} uses the same port as ${
          name(config.listeners[first], first)
        }: only one can listen there`,
      });
    }
  });
  const { admin } = config;
  const taken = config.listeners.findIndex((l) => collide(l, admin));
  if (admin.enabled && taken >= 0) {
    clashes.push({
      path: ["admin", "port"],
      message:
        `the admin HTTP port ${admin.host}:${admin.port} is also the port of ${
          name(config.listeners[taken], taken)
        }: ` +
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
