/**
 * The `bridges` section: connections to upstream brokers (see README "Bridges"). Shaped after
 * Mosquitto's `connection` blocks and NanoMQ's bridge config: a URL, credentials, `out` rules
 * (local -> upstream) and `in` rules (upstream -> local), a durable queue and reconnect backoff.
 *
 * Durations are seconds or "500ms", "30s", "5m", "2h", "7d"; sizes are bytes or "64KiB", "512MiB",
 * "1GB"; parseDuration and parseSize turn them into milliseconds and bytes.
 */
import * as z from "zod/mini";
import { described } from "./zod.ts";

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
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
  z.union([z.number().check(z.minimum(0)), z.string()]).check(z.refine((value) => parseDuration(value) !== undefined, {
    message: `${what}: expected seconds or a duration like "500ms", "30s", "5m", "2h", "7d"`,
  }));

const size = (what: string) =>
  z.union([z.number().check(z.int(), z.minimum(0)), z.string()]).check(
    z.refine((value) => parseSize(value) !== undefined, {
      message: `${what}: expected bytes or a size like "64KiB", "512MiB", "1GB"`,
    }),
  );

const qos = z.literal([0, 1, 2]);

const outRuleSchema = z.strictObject({
  local: described(z.string().check(z.minLength(1)), "local topic filter whose messages go upstream (e.g. plant/#)"),
  remote: described(
    z.optional(z.string().check(z.minLength(1))),
    "upstream topic: the filter's fixed prefix is replaced by this one's (plant/# -> site17/plant/#); default: unchanged",
  ),
  qos: described(z._default(qos, 1), "QoS towards the upstream (at most the message's own QoS)"),
  retain: described(z._default(z.boolean(), true), "keep the retain flag of messages (false: always send retain=0)"),
});

const inRuleSchema = z.strictObject({
  remote: described(z.string().check(z.minLength(1)), "upstream topic filter to subscribe to (e.g. site17/cmd/#)"),
  local: described(
    z.optional(z.string().check(z.minLength(1))),
    "local topic: the filter's fixed prefix is replaced (default: unchanged)",
  ),
  qos: described(z._default(qos, 1), "QoS of the upstream subscription"),
});

const tlsSchema = z.strictObject({
  ca: described(
    z.optional(z.string()),
    "PEM file of the CAs that sign the upstream's certificate (default: the system's)",
  ),
  cert: described(z.optional(z.string()), "PEM client certificate file (for upstreams that require one)"),
  key: described(z.optional(z.string()), "PEM private key file of `cert`"),
  servername: described(
    z.optional(z.string()),
    "name checked against the upstream's certificate (default: the URL's host)",
  ),
  verify: described(
    z._default(z.boolean(), true),
    "check the upstream's certificate (false only for tests: anyone can then read along)",
  ),
});

export const bridgeSchema = z.strictObject({
  name: described(
    z.string().check(z.regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)")),
    "names the bridge in logs, $SYS/broker/bridges/<name>/... and the local session bridge:<name>",
  ),
  url: described(
    z.string().check(
      z.regex(/^(mqtts?|wss?):\/\/[^/\s]+/, "mqtt://, mqtts://, ws:// or wss:// followed by host[:port]"),
    ),
    "upstream broker: mqtt://host:1883, mqtts://host:8883, ws://host/mqtt or wss://host/mqtt",
  ),
  protocolVersion: described(z._default(z.literal([4, 5]), 5), "5 (MQTT 5.0) or 4 (MQTT 3.1.1)"),
  clientId: described(
    z.optional(z.string().check(z.minLength(1))),
    "client id at the upstream (default: gannet-<name>)",
  ),
  username: described(z.optional(z.string()), "user name at the upstream"),
  password: described(
    z.optional(z.string()),
    "password at the upstream (a secret; masked by `config print`; or passwordFile)",
  ),
  passwordFile: described(
    z.optional(z.string()),
    "file holding the password (read at start and on SIGHUP; trailing newline ignored)",
  ),
  tls: described(z.optional(tlsSchema), "mqtts/wss: certificates"),
  keepalive: described(
    z._default(z.number().check(z.int(), z.minimum(1), z.maximum(65_535)), 30),
    "seconds; a link silent for 1.5x this (no PINGRESP, no acks while sending) is declared stalled and redialed",
  ),
  cleanStart: described(
    z._default(z.boolean(), false),
    "start a new upstream session on each connect (false keeps subscriptions and in-flight QoS)",
  ),
  sessionExpiry: described(
    z._default(z.number().check(z.int(), z.minimum(0), z.maximum(4_294_967_295)), 86_400),
    "v5: seconds the upstream keeps the bridge's session while the link is down",
  ),
  out: described(z._default(z.array(outRuleSchema), []), "local -> upstream rules"),
  in: described(z._default(z.array(inRuleSchema), []), "upstream -> local rules"),
  queue: described(
    z.prefault(
      z.strictObject({
        maxMessages: described(
          z._default(z.number().check(z.int(), z.minimum(1)), 1_000_000),
          "messages held while the upstream is away",
        ),
        maxBytes: described(z._default(size("queue.maxBytes"), "512MiB"), 'payload bytes held (e.g. "512MiB")'),
        maxAge: described(z._default(duration("queue.maxAge"), 0), 'oldest message kept (e.g. "7d"; 0 = no age limit)'),
        whenFull: described(
          z._default(z.enum(["dropOldest", "dropNewest"]), "dropOldest"),
          "dropOldest keeps the latest data (telemetry); dropNewest keeps the history",
        ),
        qos0: described(
          z._default(z.boolean(), false),
          "queue QoS 0 messages while the upstream is away (else they are dropped)",
        ),
      }),
      {},
    ),
    "the bridge's durable store-and-forward queue (its local session)",
  ),
  reconnect: described(
    z.prefault(
      z.strictObject({
        min: described(z._default(duration("reconnect.min"), "1s"), 'first retry delay (e.g. "1s")'),
        max: described(
          z._default(duration("reconnect.max"), "60s"),
          'longest retry delay (e.g. "60s"); delays double with jitter',
        ),
      }),
      {},
    ),
    "exponential backoff with jitter between connection attempts",
  ),
  rate: described(
    z._default(z.number().check(z.minimum(0)), 0),
    "messages per second sent upstream (0 = as fast as the upstream's Receive Maximum allows)",
  ),
  maxInflight: described(
    z._default(z.number().check(z.int(), z.minimum(1), z.maximum(65_535)), 100),
    "QoS 1/2 messages unacknowledged upstream at once (also capped by the upstream's Receive Maximum)",
  ),
}).check(z.superRefine((b, ctx) => {
  if (b.password !== undefined && b.passwordFile !== undefined) {
    ctx.addIssue({ code: "custom", path: ["passwordFile"], message: "give password or passwordFile, not both" });
  }
  if (b.tls && !/^(mqtts|wss):/.test(b.url)) {
    ctx.addIssue({ code: "custom", path: ["tls"], message: "tls needs an mqtts:// or wss:// url" });
  }
  if ((b.tls?.cert === undefined) !== (b.tls?.key === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["tls", b.tls?.cert ? "key" : "cert"],
      message: "a client certificate needs both cert and key",
    });
  }
  if ((parseDuration(b.reconnect.max) ?? 0) < (parseDuration(b.reconnect.min) ?? 0)) {
    ctx.addIssue({
      code: "custom",
      path: ["reconnect", "max"],
      message: "reconnect.max must be at least reconnect.min",
    });
  }
  if (b.out.length === 0 && b.in.length === 0) {
    ctx.addIssue({ code: "custom", path: ["out"], message: "a bridge needs at least one out or in rule" });
  }
}));

export const bridgesSchema = z._default(z.array(bridgeSchema), []).check(z.superRefine((bridges, ctx) => {
  const seen = new Set<string>();
  bridges.forEach((b, i) => {
    if (seen.has(b.name)) {
      ctx.addIssue({ code: "custom", path: [i, "name"], message: `bridge name "${b.name}" is used twice` });
    }
    seen.add(b.name);
  });
}));

export type BridgeConfig = z.infer<typeof bridgeSchema>;
