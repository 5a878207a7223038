/**
 * The `bridges` section: connections to upstream brokers (see README "Bridges"). Shaped after
 * Mosquitto's `connection` blocks and NanoMQ's bridge config: a URL, credentials, `out` rules
 * (local -> upstream) and `in` rules (upstream -> local), a durable queue and reconnect backoff.
 *
 * Durations are seconds or "500ms", "30s", "5m", "2h", "7d"; sizes are bytes or "64KiB", "512MiB",
 * "1GB"; parseDuration and parseSize turn them into milliseconds and bytes.
 */
import { z } from "zod";

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = {
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3,
};

/** Milliseconds from a number of seconds or a string with a unit. */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === "number") return value * 1000;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
  return m ? Number(m[1]) * DURATION_UNITS[m[2]] : undefined;
}

/** Bytes from a number or a string with a unit (KiB, MiB, GiB, kB, MB, GB). */
export function parseSize(value: number | string): number | undefined {
  if (typeof value === "number") return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)\s*$/i.exec(value);
  return m ? Math.floor(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()]) : undefined;
}

// Kept as written (a number or a string with a unit) and converted where used: the loader may
// validate a configuration more than once, so a converting transform would apply twice.
const duration = (what: string) =>
  z.union([z.number().min(0), z.string()]).refine((value) => parseDuration(value) !== undefined, {
    message: `${what}: expected seconds or a duration like "500ms", "30s", "5m", "2h", "7d"`,
  });

const size = (what: string) =>
  z.union([z.number().int().min(0), z.string()]).refine((value) => parseSize(value) !== undefined, {
    message: `${what}: expected bytes or a size like "64KiB", "512MiB", "1GB"`,
  });

const qos = z.literal([0, 1, 2]);

const outRuleSchema = z.object({
  local: z.string().min(1).describe("local topic filter whose messages go upstream (e.g. plant/#)"),
  remote: z.string().min(1).optional().describe(
    "upstream topic: the filter's fixed prefix is replaced by this one's (plant/# -> site17/plant/#); default: unchanged",
  ),
  qos: qos.default(1).describe("QoS towards the upstream (at most the message's own QoS)"),
  retain: z.boolean().default(true).describe("keep the retain flag of messages (false: always send retain=0)"),
}).strict();

const inRuleSchema = z.object({
  remote: z.string().min(1).describe("upstream topic filter to subscribe to (e.g. site17/cmd/#)"),
  local: z.string().min(1).optional().describe("local topic: the filter's fixed prefix is replaced (default: unchanged)"),
  qos: qos.default(1).describe("QoS of the upstream subscription"),
}).strict();

const tlsSchema = z.object({
  ca: z.string().optional().describe("PEM file of the CAs that sign the upstream's certificate (default: the system's)"),
  cert: z.string().optional().describe("PEM client certificate file (for upstreams that require one)"),
  key: z.string().optional().describe("PEM private key file of `cert`"),
  servername: z.string().optional().describe("name checked against the upstream's certificate (default: the URL's host)"),
  verify: z.boolean().default(true).describe("check the upstream's certificate (false only for tests: anyone can then read along)"),
}).strict();

export const bridgeSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)")
    .describe("names the bridge in logs, $SYS/broker/bridges/<name>/... and the local session bridge:<name>"),
  url: z.string().regex(/^(mqtts?|wss?):\/\/[^/\s]+/, "mqtt://, mqtts://, ws:// or wss:// followed by host[:port]")
    .describe("upstream broker: mqtt://host:1883, mqtts://host:8883, ws://host/mqtt or wss://host/mqtt"),
  protocolVersion: z.literal([4, 5]).default(5).describe("5 (MQTT 5.0) or 4 (MQTT 3.1.1)"),
  clientId: z.string().min(1).optional().describe("client id at the upstream (default: gannet-<name>)"),
  username: z.string().optional().describe("user name at the upstream"),
  password: z.string().optional().describe("password at the upstream (a secret; masked by `config print`; or passwordFile)"),
  passwordFile: z.string().optional().describe("file holding the password (read at start and on SIGHUP; trailing newline ignored)"),
  tls: tlsSchema.optional().describe("mqtts/wss: certificates"),
  keepalive: z.number().int().min(1).max(65_535).default(30)
    .describe("seconds; a link silent for 1.5x this (no PINGRESP, no acks while sending) is declared stalled and redialed"),
  cleanStart: z.boolean().default(false).describe("start a new upstream session on each connect (false keeps subscriptions and in-flight QoS)"),
  sessionExpiry: z.number().int().min(0).max(4_294_967_295).default(86_400)
    .describe("v5: seconds the upstream keeps the bridge's session while the link is down"),
  out: z.array(outRuleSchema).default([]).describe("local -> upstream rules"),
  in: z.array(inRuleSchema).default([]).describe("upstream -> local rules"),
  queue: z.object({
    maxMessages: z.number().int().min(1).default(1_000_000).describe("messages held while the upstream is away"),
    maxBytes: size("queue.maxBytes").default("512MiB").describe('payload bytes held (e.g. "512MiB")'),
    maxAge: duration("queue.maxAge").default(0).describe('oldest message kept (e.g. "7d"; 0 = no age limit)'),
    whenFull: z.enum(["dropOldest", "dropNewest"]).default("dropOldest")
      .describe("dropOldest keeps the latest data (telemetry); dropNewest keeps the history"),
    qos0: z.boolean().default(false).describe("queue QoS 0 messages while the upstream is away (else they are dropped)"),
  }).strict().prefault({}).describe("the bridge's durable store-and-forward queue (its local session)"),
  reconnect: z.object({
    min: duration("reconnect.min").default("1s").describe('first retry delay (e.g. "1s")'),
    max: duration("reconnect.max").default("60s").describe('longest retry delay (e.g. "60s"); delays double with jitter'),
  }).strict().prefault({}).describe("exponential backoff with jitter between connection attempts"),
  rate: z.number().min(0).default(0).describe("messages per second sent upstream (0 = as fast as the upstream's Receive Maximum allows)"),
  maxInflight: z.number().int().min(1).max(65_535).default(100)
    .describe("QoS 1/2 messages unacknowledged upstream at once (also capped by the upstream's Receive Maximum)"),
}).strict().superRefine((b, ctx) => {
  if (b.password !== undefined && b.passwordFile !== undefined) {
    ctx.addIssue({ code: "custom", path: ["passwordFile"], message: "give password or passwordFile, not both" });
  }
  if (b.tls && !/^(mqtts|wss):/.test(b.url)) {
    ctx.addIssue({ code: "custom", path: ["tls"], message: "tls needs an mqtts:// or wss:// url" });
  }
  if ((b.tls?.cert === undefined) !== (b.tls?.key === undefined)) {
    ctx.addIssue({ code: "custom", path: ["tls", b.tls?.cert ? "key" : "cert"], message: "a client certificate needs both cert and key" });
  }
  if ((parseDuration(b.reconnect.max) ?? 0) < (parseDuration(b.reconnect.min) ?? 0)) {
    ctx.addIssue({ code: "custom", path: ["reconnect", "max"], message: "reconnect.max must be at least reconnect.min" });
  }
  if (b.out.length === 0 && b.in.length === 0) {
    ctx.addIssue({ code: "custom", path: ["out"], message: "a bridge needs at least one out or in rule" });
  }
});

export const bridgesSchema = z.array(bridgeSchema).default([]).superRefine((bridges, ctx) => {
  const seen = new Set<string>();
  bridges.forEach((b, i) => {
    if (seen.has(b.name)) ctx.addIssue({ code: "custom", path: [i, "name"], message: `bridge name "${b.name}" is used twice` });
    seen.add(b.name);
  });
});

export type BridgeConfig = z.infer<typeof bridgeSchema>;
