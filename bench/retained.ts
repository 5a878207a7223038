/**
 * Retained messages: one client publishes --count retained QoS 0 messages (topics `r/<n>/<i>`, short,
 * with --payload-byte payloads; n groups of 1,000), then a QoS 1 PUBLISH whose PUBACK says all were
 * handled. Reports, per broker: resident memory before and after (and per message), then a new
 * client's SUBSCRIBE to `r/#` at QoS 0: time to SUBACK and until every retained message arrived.
 * Ratios are to Mosquitto measured in the same run.
 *
 *   bun bench/retained.ts [--count 100000] [--payload 6] [--hold N] [--targets gannet-bun,gannet-deno,mosquitto]
 *
 * --hold N: N seconds of quiet before each RSS reading (default: 1 s after start-up, 2 s after the
 * last PUBACK). Just after the burst a garbage-collected runtime still holds the young generation it
 * grew for it (V8: up to ~60 MiB of new space); V8's memory reducer gives it back after ~30 s of
 * quiet (measured on Deno 2.9: `--hold 40` reads the settled figure).
 *
 * Gannet runs with `mqtt.maxRetainedMessages` above --count (its default limit is 0: none) and a
 * large `mqtt.maxQueuedMessages`, so the subscriber's burst of retained messages is not cut short.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { ALL_TARGETS, ROOT, start, table, type Target } from "./brokers.ts";
import { framer } from "./framer.ts";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const COUNT = Number(flag("--count", "100000"));
const PAYLOAD = Number(flag("--payload", "6"));
/** Quiet before each RSS reading: after start-up, and after the last PUBACK (see --hold above). */
const HOLD_MS = argv.includes("--hold") ? Number(flag("--hold", "2")) * 1000 : undefined;
const QUIET_BEFORE_MS = HOLD_MS ?? 1000;
const QUIET_AFTER_MS = HOLD_MS ?? 2000;
const targets = flag("--targets", ALL_TARGETS.join(",")).split(",") as Target[];

const enc = new TextEncoder();
function remaining(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 128;
    out.push(b);
  } while (n > 0);
  return out;
}
function packet(type: number, body: number[]): Uint8Array {
  return Uint8Array.from([type, ...remaining(body.length), ...body]);
}
const str = (s: string) => {
  const b = enc.encode(s);
  return [b.length >> 8, b.length & 255, ...b];
};
const connect = (id: string) => packet(0x10, [...str("MQTT"), 4, 0x02, 0, 0, ...str(id)]);

/** A raw client: counts packets by type, PUBLISH included, without decoding them. */
async function client(port: number, id: string) {
  const counts = new Map<number, number>();
  let waiters: Array<() => void> = [];
  // Counts packets by type, PUBLISH included, without decoding them.
  const count = framer((type) => counts.set(type, (counts.get(type) ?? 0) + 1));
  const socket = await new Promise<Socket<undefined>>((resolve, reject) => {
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => resolve(s),
        data(_s, chunk) {
          count(chunk);
          const w = waiters;
          waiters = [];
          for (const f of w) f();
        },
        drain: () => flush(),
        connectError: (_s, e) => reject(e),
      },
    });
  });
  const pending: Uint8Array[] = [];
  const flush = () => {
    while (pending.length) {
      const head = pending[0];
      const n = socket.write(head);
      if (n < head.length) {
        pending[0] = head.subarray(Math.max(0, n));
        return;
      }
      pending.shift();
    }
  };
  const write = (bytes: Uint8Array) => {
    pending.push(bytes);
    if (pending.length === 1) flush();
  };
  const until = (type: number, n: number, ms = 120_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id}: ${counts.get(type) ?? 0} of ${n} packets of type ${type} within ${ms} ms`)), ms);
      const check = () => {
        if ((counts.get(type) ?? 0) >= n) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  write(connect(id));
  await until(2, 1, 10_000);
  return { write, until, counts, end: () => socket.end() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MIB = 1024 * 1024;
interface Result { rssBeforeMiB: number; rssAfterMiB: number; bytesPerMessage: number; subackMs: number; allRetainedMs: number; received: number }
const results: Partial<Record<Target, Result>> = {};

for (const target of targets) {
  const broker = await start(target, {
    gannetSet: { "mqtt.maxRetainedMessages": COUNT + 10, "mqtt.maxQueuedMessages": COUNT + 10 },
    mosquittoLines: ["max_inflight_messages 0"],
  });
  try {
    await sleep(QUIET_BEFORE_MS);
    const rss0 = broker.residentBytes();
    const pub = await client(broker.port, "retained-pub");
    const payload = new Array(PAYLOAD).fill(0x61);
    const chunk: number[] = [];
    for (let i = 0; i < COUNT; i++) {
      chunk.push(...packet(0x31, [...str(`r/${Math.floor(i / 1000)}/${i % 1000}`), ...payload]));
      if (chunk.length > 60_000 || i === COUNT - 1) {
        pub.write(Uint8Array.from(chunk));
        chunk.length = 0;
      }
    }
    pub.write(packet(0x32, [...str("done"), 0, 1, 0x61])); // QoS 1: its PUBACK follows every retained one
    await pub.until(4, 1);
    await sleep(QUIET_AFTER_MS);
    const rss1 = broker.residentBytes();
    const sub = await client(broker.port, "retained-sub");
    const t0 = performance.now();
    sub.write(packet(0x82, [0, 1, ...str("r/#"), 0]));
    await sub.until(9, 1);
    const subackMs = performance.now() - t0;
    let received = COUNT;
    await sub.until(3, COUNT, 60_000).catch(() => (received = sub.counts.get(3) ?? 0));
    const allRetainedMs = performance.now() - t0;
    results[target] = {
      rssBeforeMiB: Math.round((rss0 / MIB) * 10) / 10,
      rssAfterMiB: Math.round((rss1 / MIB) * 10) / 10,
      bytesPerMessage: Math.round((rss1 - rss0) / COUNT),
      subackMs: Math.round(subackMs * 10) / 10,
      allRetainedMs: Math.round(allRetainedMs),
      received,
    };
    console.error(`${target}: ${JSON.stringify(results[target])}`);
    pub.end();
    sub.end();
  } finally {
    await broker.stop();
  }
}

const ref = results.mosquitto;
const ratio = (mine: number, theirs: number | undefined) => (theirs ? `${(mine / theirs).toFixed(2)}x` : "-");
console.log(table(
  ["broker", "RSS before MiB", "RSS after MiB", "bytes/message", "vs Mosquitto", "SUBACK ms", "vs Mosquitto", "all retained ms", "vs Mosquitto", "received"],
  targets.map((t) => {
    const r = results[t]!;
    return [
      t, String(r.rssBeforeMiB), String(r.rssAfterMiB), String(r.bytesPerMessage), ratio(r.bytesPerMessage, ref?.bytesPerMessage),
      String(r.subackMs), ratio(r.subackMs, ref?.subackMs), String(r.allRetainedMs), ratio(r.allRetainedMs, ref?.allRetainedMs), String(r.received),
    ];
  }),
));
const date = new Date().toISOString().slice(0, 10);
const dir = join(ROOT, "bench", "results");
mkdirSync(dir, { recursive: true });
const file = join(dir, `retained-${date}.json`);
writeFileSync(file, JSON.stringify({ date, machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "" }, count: COUNT, payloadBytes: PAYLOAD, quietSeconds: { beforeFirstReading: QUIET_BEFORE_MS / 1000, afterPublishing: QUIET_AFTER_MS / 1000 }, results }, null, 2) + "\n");
console.log(`\nwritten ${file.slice(ROOT.length + 1)}`);
process.exit(0);
