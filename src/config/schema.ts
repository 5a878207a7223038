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

const port = z.number().int().min(0).max(65535);

export const mqttSchema = z.object({
  maxPacketSize: z.number().int().min(64).max(268_435_460).default(1_048_576)
    .describe("largest packet accepted from a client, in bytes (larger: v5 reason 0x95, then close)"),
  receiveMaximum: z.number().int().min(1).max(65_535).default(1024)
    .describe("inbound QoS 1/2 publishes a client may have unacknowledged (v5 Receive Maximum)"),
  maxInflight: z.number().int().min(1).max(65_535).default(64)
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
  queueQos0: z.boolean().default(false).describe("queue QoS 0 messages for offline persistent sessions"),
  maxQos: z.literal([0, 1, 2]).default(2).describe("highest QoS granted"),
  retainAvailable: z.boolean().default(true).describe("retained messages supported"),
  sharedSubscriptions: z.boolean().default(true).describe("shared subscriptions ($share/...) supported"),
  wildcardSubscriptions: z.boolean().default(true).describe("wildcard subscriptions supported"),
  subscriptionIdentifiers: z.boolean().default(true).describe("v5 subscription identifiers supported"),
  connectTimeout: z.number().int().min(1).default(10).describe("seconds a new socket may take to send CONNECT"),
  maxConnections: z.number().int().min(0).default(0)
    .describe("most clients connected at once over all listeners (0 = no limit); more are closed at once, logged"),
  allowAnonymous: z.boolean().default(true)
    .describe("accept clients without credentials (the only mode until authentication lands)"),
}).strict();

/** The mqtt keys without defaults, each optional: a listener's overrides of the global limits. */
const mqttOverridesSchema = z.object(
  Object.fromEntries(
    Object.entries(mqttSchema.shape).map(([key, field]) => [key, field.unwrap().optional().describe(field.description ?? "")]),
  ) as { [K in keyof typeof mqttSchema.shape]: z.ZodOptional<ReturnType<(typeof mqttSchema.shape)[K]["unwrap"]>> },
).strict();

export const listenerSchema = z.object({
  kind: z.enum(["tcp", "ws", "tls", "wss"]).describe(
    "tcp (MQTT over TCP) or ws (MQTT over WebSocket); tls and wss are not yet supported",
  ),
  host: z.string().min(1).default("0.0.0.0").describe("address to bind (0.0.0.0 = every IPv4 interface)"),
  port: port.describe("port to bind (0 = any free port)"),
  path: z.string().default("/mqtt").describe('ws/wss only: the HTTP path that upgrades ("*" = any path)'),
  cert: z.string().optional().describe("tls/wss only: PEM certificate chain file (not yet supported)"),
  key: z.string().optional().describe("tls/wss only: PEM private key file (not yet supported)"),
  maxConnections: z.number().int().min(0).default(0)
    .describe("most clients connected through this listener at once (0 = no limit of its own)"),
  mqtt: mqttOverridesSchema.optional()
    .describe("MQTT limits for connections on this listener, overriding the mqtt section key by key"),
}).strict();

export const loggingSchema = z.object({
  level: z.enum(["debug", "info", "warn", "error"]).default("info").describe("lowest level logged"),
  format: z.enum(["json", "text"]).default("text").describe("text (logfmt-style) or json, one line per event"),
}).strict();

export const adminSchema = z.object({
  enabled: z.boolean().default(true).describe("serve the admin HTTP port (/healthz, /readyz, console)"),
  host: z.string().min(1).default("0.0.0.0").describe("address to bind"),
  port: port.default(18083).describe("port to bind"),
}).strict();

export const sysSchema = z.object({
  interval: z.number().int().min(0).default(10).describe("seconds between $SYS updates (0 disables $SYS)"),
}).strict();

export const shutdownSchema = z.object({
  timeout: z.number().min(0.1).max(3600).default(10)
    .describe("seconds a graceful shutdown (SIGTERM/SIGINT) may take before the process exits anyway"),
}).strict();

export const configSchema = z.object({
  listeners: z.array(listenerSchema).default([
    { kind: "tcp", host: "0.0.0.0", port: 1883, path: "/mqtt", maxConnections: 0 },
    { kind: "ws", host: "0.0.0.0", port: 8083, path: "/mqtt", maxConnections: 0 },
  ]).describe("MQTT listeners; the default is TCP on 1883 and WebSocket on 8083 at /mqtt"),
  mqtt: mqttSchema.prefault({}).describe("MQTT limits and capabilities"),
  logging: loggingSchema.prefault({}).describe("log lines go to stdout (debug, info) and stderr (warn, error)"),
  admin: adminSchema.prefault({}).describe("admin HTTP port: health checks, console and (later) the admin API"),
  sys: sysSchema.prefault({}).describe("$SYS topics"),
  shutdown: shutdownSchema.prefault({}).describe("graceful shutdown"),
  persistence: persistenceSchema.prefault({}).describe("durable state: sessions, queued messages, retained messages, wills"),
}).strict();

export type Config = z.infer<typeof configSchema>;
export type MqttLimits = z.infer<typeof mqttSchema>;
export type ListenerConfig = z.infer<typeof listenerSchema>;
export type { PersistenceConfig } from "./persistence.ts";

export function defaultConfig(): Config {
  return configSchema.parse({});
}
