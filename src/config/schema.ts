/**
 * The configuration schema: the single source of truth for options and defaults.
 * The YAML file (issue 4) and command-line flags both end up validated here.
 */
import { z } from "zod";

const port = z.number().int().min(0).max(65535);

export const listenerSchema = z.object({
  kind: z.enum(["tcp", "ws"]),
  host: z.string().min(1),
  port,
  /** WebSocket only: the HTTP path that upgrades (any path is accepted when "*"). */
  path: z.string().default("/mqtt"),
}).strict();

export const mqttSchema = z.object({
  /** Largest packet accepted from clients (bytes, whole packet). Larger ones: v5 0x95 and close. */
  maxPacketSize: z.number().int().min(64).max(268_435_460).default(1_048_576),
  /** Inbound QoS 1/2 publishes a client may have unacknowledged (v5 Receive Maximum). */
  receiveMaximum: z.number().int().min(1).max(65_535).default(1024),
  /** Outbound QoS 1/2 messages in flight per client (also capped by the client's Receive Maximum). */
  maxInflight: z.number().int().min(1).max(65_535).default(64),
  /** Topic aliases a v5 client may use towards the broker (0 disables). */
  topicAliasMaximum: z.number().int().min(0).max(65_535).default(64),
  /** Keepalive above this is capped (v5: Server Keep Alive in CONNACK). */
  maxKeepalive: z.number().int().min(1).max(65_535).default(65_535),
  /** Session Expiry Interval cap in seconds (v5). 4294967295 = never expire. */
  maxSessionExpiryInterval: z.number().int().min(0).max(4_294_967_295).default(4_294_967_295),
  /** Messages queued per session while offline or beyond the inflight window; newest are dropped past it. */
  maxQueuedMessages: z.number().int().min(0).default(1000),
  /** Bytes of payload queued per session (0 = no byte limit). */
  maxQueuedBytes: z.number().int().min(0).default(0),
  /** Queue QoS 0 messages for offline persistent sessions (Mosquitto's queue_qos0_messages). */
  queueQos0: z.boolean().default(false),
  maxQos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(2),
  retainAvailable: z.boolean().default(true),
  sharedSubscriptions: z.boolean().default(true),
  wildcardSubscriptions: z.boolean().default(true),
  subscriptionIdentifiers: z.boolean().default(true),
  /** Seconds a new socket may take to send CONNECT. */
  connectTimeout: z.number().int().min(1).default(10),
  /** Accept clients without credentials (until the security issue lands this is the only mode). */
  allowAnonymous: z.boolean().default(true),
}).strict();

export const configSchema = z.object({
  listeners: z.array(listenerSchema).default([
    { kind: "tcp", host: "0.0.0.0", port: 1883, path: "/mqtt" },
    { kind: "ws", host: "0.0.0.0", port: 8083, path: "/mqtt" },
  ]),
  mqtt: mqttSchema.default(mqttSchema.parse({})),
  logging: z.object({
    level: z.enum(["debug", "info", "warn", "error"]).default("info"),
    format: z.enum(["json", "text"]).default("text"),
  }).strict().default({ level: "info", format: "text" }),
  sys: z.object({
    /** Seconds between $SYS updates (0 disables $SYS). */
    interval: z.number().int().min(0).default(10),
  }).strict().default({ interval: 10 }),
}).strict();

export type Config = z.infer<typeof configSchema>;
export type MqttLimits = z.infer<typeof mqttSchema>;
export type ListenerConfig = z.infer<typeof listenerSchema>;

export function defaultConfig(): Config {
  return configSchema.parse({});
}
