/**
 * Persistence benchmark (issue 3): QoS 1 throughput to an OFFLINE persistent subscriber, i.e. every
 * message has to be queued for a session that is not there. P publishers (4) send 64-byte QoS 1
 * PUBLISH packets to `bench/<i>`, pipelined with at most --pub-window (100) unacknowledged each; the
 * figure is PUBACKs per second over --duration seconds after --warmup. Targets, one after the other,
 * each on its own free 127.0.0.1 port:
 *
 *   gannet-sqlite   Gannet on Bun, persistence.store=sqlite (a PUBACK means the message is on disk)
 *   gannet-memory   Gannet on Bun, persistence.store=memory (nothing survives a restart)
 *   mosquitto       Debian's Mosquitto with `persistence true`, `autosave_interval 1`: it acks from
 *                   memory and writes its whole database every second (what came since is lost
 *                   on a crash)
 *   gannet-deno-sqlite  (opt-in) Gannet on Deno with SQLite (libSQL)
 *
 *   bun bench/persistence.ts [--duration 10] [--warmup 2] [--rounds 1] [--publishers 4] [--payload 64]
 *                            [--pub-window 100] [--targets gannet-sqlite,gannet-memory,mosquitto]
 *                            [--mosquitto-autosave 1] [--no-verify]
 *
 * After each run the subscriber connects and drains its queue (unless --no-verify), checking that
 * every acknowledged message is there (per publisher, by the sequence number in the payload) and
 * timing the drain. Prints a table with msgs/s and the ratios; writes
 * bench/results/persistence-<date>.json. The machine is shared and noisy: compare ratios within
 * one run; --rounds N interleaves the targets N times and keeps the medians.
 *
 * Gannet runs with mqtt.maxQueuedMessages raised (100,000,000) and Mosquitto with
 * `max_queued_messages 0` (no limit), so no broker drops queued messages during the run.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt-packet";
import { freePort } from "../test/helpers/broker.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BUN = join(ROOT, "node_modules", ".bin", "bun");
// The Deno binary itself: node_modules/.bin/deno is a Node wrapper, and a signal sent to it would
// leave the broker running.
const DENO = join(ROOT, "node_modules", "deno", process.platform === "win32" ? "deno.exe" : "deno");

type Target = "gannet-sqlite" | "gannet-memory" | "mosquitto" | "gannet-deno-sqlite";
const ALL_TARGETS: Target[] = ["gannet-sqlite", "gannet-memory", "mosquitto", "gannet-deno-sqlite"];
const DEFAULT_TARGETS: Target[] = ["gannet-sqlite", "gannet-memory", "mosquitto"];

interface Options {
  duration: number;
  warmup: number;
  rounds: number;
  publishers: number;
  payload: number;
  pubWindow: number;
  targets: Target[];
  mosquittoAutosave: number;
  verify: boolean;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    duration: 10,
    warmup: 2,
    rounds: 1,
    publishers: 4,
    payload: 64,
    pubWindow: 100,
    targets: DEFAULT_TARGETS,
    mosquittoAutosave: 1,
    verify: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--duration":
        o.duration = Number(value());
        break;
      case "--warmup":
        o.warmup = Number(value());
        break;
      case "--rounds":
        o.rounds = Math.max(1, Number(value()));
        break;
      case "--publishers":
        o.publishers = Number(value());
        break;
      case "--payload":
        o.payload = Number(value());
        break;
      case "--pub-window":
        o.pubWindow = Number(value());
        break;
      case "--mosquitto-autosave":
        o.mosquittoAutosave = Number(value());
        break;
      case "--no-verify":
        o.verify = false;
        break;
      case "--targets": {
        const wanted = value().split(",").map((s) => s.trim()) as Target[];
        for (const t of wanted) {
          if (!ALL_TARGETS.includes(t)) throw new Error(`unknown target ${t} (${ALL_TARGETS.join(", ")})`);
        }
        o.targets = wanted;
        break;
      }
      default:
        throw new Error(`unknown argument ${flag}`);
    }
  }
  if (!(o.payload >= 5)) throw new Error("--payload must be at least 5 bytes (publisher index and sequence number)");
  if (!(o.publishers >= 1 && o.publishers <= 255)) throw new Error("--publishers must be 1..255");
  return o;
}

// ---- brokers ------------------------------------------------------------------------------------

interface Running {
  port: number;
  /** Log lines that say the broker failed to persist (the run would not measure what it claims). */
  persistErrors(): string[];
  /** Bytes of the database on disk now (SQLite file + WAL, or Mosquitto's mosquitto.db). */
  diskBytes(): number;
  stop(): Promise<void>;
}

function launch(
  cmd: string,
  args: string[],
  ready: (out: string) => boolean,
): Promise<{ child: ChildProcess; stop(): Promise<void>; output(): string }> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let done = false;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const stop = async () => {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    };
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      rej(e);
    };
    const timer = setTimeout(() => fail(new Error(`${cmd} not ready within 15 s:\n${out}`)), 15_000);
    // Keeps reading after ready (a chatty broker must never block on a full pipe) and keeps the
    // last 50-100 kB for output().
    const onOut = (s: Buffer) => {
      out += s.toString();
      if (out.length > 100_000) out = out.slice(-50_000);
      if (!done && ready(out)) {
        done = true;
        clearTimeout(timer);
        res({ child, stop, output: () => out });
      }
    };
    child.stdout!.on("data", onOut);
    child.stderr!.on("data", onOut);
    child.once("exit", (code) => fail(new Error(`${cmd} exited with ${code} before ready:\n${out}`)));
    child.once("error", (e) => fail(e));
  });
}

function fileBytes(...paths: string[]): number {
  let n = 0;
  for (const p of paths) if (existsSync(p)) n += statSync(p).size;
  return n;
}

function mosquittoBinary(): string {
  const found = ["/usr/sbin/mosquitto", "mosquitto"].find((c) => spawnSync(c, ["-h"]).error === undefined);
  if (found) return found;
  const prep = spawnSync("bash", [join(ROOT, "test", "prepare.sh")], { stdio: "inherit" });
  if (prep.status !== 0) throw new Error("mosquitto is missing and test/prepare.sh could not install it");
  return "/usr/sbin/mosquitto";
}

async function start(target: Target, o: Options): Promise<Running> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "gannet-bench-persistence-"));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    if (target === "mosquitto") {
      const conf = join(dir, "mosquitto.conf");
      writeFileSync(
        conf,
        [
          `listener ${port} 127.0.0.1`,
          "allow_anonymous true",
          "persistence true",
          `persistence_location ${dir}/`,
          `autosave_interval ${o.mosquittoAutosave}`,
          "max_queued_messages 0",
          "log_dest stderr",
          // Started as root, Mosquitto drops to the `mosquitto` user, which cannot write this
          // directory (it would log "Error saving in-memory database"): stay root then.
          ...(process.getuid?.() === 0 ? ["user root"] : []),
        ].join("\n") + "\n",
      );
      const m = await launch(mosquittoBinary(), ["-c", conf], (out) => / running/.test(out));
      return {
        port,
        persistErrors: () => m.output().split("\n").filter((l) => /Error saving|Permission denied/i.test(l)),
        diskBytes: () => fileBytes(join(dir, "mosquitto.db")),
        stop: async () => {
          await m.stop();
          cleanup();
        },
      };
    }
    const db = join(dir, "gannet.db");
    const args = [
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--ws-port",
      "off",
      "--admin-port",
      "off",
      "--log-format",
      "json",
      "--set",
      "mqtt.maxQueuedMessages=100000000",
      "--set",
      `persistence.store=${target === "gannet-memory" ? "memory" : "sqlite"}`,
      "--set",
      `persistence.path=${db}`,
    ];
    const isReady = (out: string) => /"msg":"ready"/.test(out);
    const g = target === "gannet-deno-sqlite"
      ? await launch(
        DENO,
        [
          "run",
          "--allow-net",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          "--allow-sys",
          "--allow-ffi",
          "adapters/deno/main.ts",
          ...args,
        ],
        isReady,
      )
      : await launch(BUN, ["adapters/bun/main.ts", ...args], isReady);
    return {
      port,
      persistErrors: () =>
        g.output().split("\n").filter((l) =>
          /"level":"error"/.test(l) ||
          (/"level":"warn"/.test(l) && /store|database|disk/i.test(l) && !/persistence.store is memory/.test(l))
        ),
      diskBytes: () => fileBytes(db, `${db}-wal`),
      stop: async () => {
        await g.stop();
        cleanup();
      },
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}

// ---- load -------------------------------------------------------------------------------------

/** Calls onPacket(type, buf, bodyStart, end) for each complete packet; keeps a partial one. */
function framer(onPacket: (type: number, buf: Buffer, body: number, end: number) => void): (chunk: Buffer) => void {
  let rest: Buffer | null = null;
  return (chunk) => {
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    rest = null;
    let i = 0;
    while (i < buf.length) {
      let len = 0;
      let mul = 1;
      let j = i + 1;
      let complete = false;
      while (j < buf.length && j < i + 5) {
        const b = buf[j++];
        len += (b & 127) * mul;
        mul *= 128;
        if ((b & 128) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || j + len > buf.length) break;
      onPacket(buf[i] >> 4, buf, j, j + len);
      i = j + len;
    }
    if (i < buf.length) rest = Buffer.from(buf.subarray(i));
  };
}

/** TCP connect, CONNECT (3.1.1), wait for CONNACK; packets after it go to the handler. */
type Handler = (type: number, buf: Buffer, body: number, end: number) => void;

async function mqttConnect(
  port: number,
  clientId: string,
  clean: boolean,
  initial: Handler = () => {},
): Promise<
  {
    socket: Socket;
    setHandler(h: (type: number, buf: Buffer, body: number, end: number) => void): void;
    sessionPresent: boolean;
  }
> {
  const socket = await new Promise<Socket>((res, rej) => {
    const s = netConnect({ host: "127.0.0.1", port }, () => res(s));
    s.once("error", rej);
  });
  socket.setNoDelay(true);
  socket.on("error", () => {});
  // Set before CONNECT: packets in the same chunk as the CONNACK go to it.
  let handler: Handler = initial;
  let connack: ((sp: boolean, rc: number) => void) | null = null;
  const frame = framer((type, buf, body, end) => {
    if (type === 2 && connack) {
      const c = connack;
      connack = null;
      c((buf[body] & 1) === 1, buf[body + 1]);
      return;
    }
    handler(type, buf, body, end);
  });
  socket.on("data", frame);
  const ack = new Promise<{ sessionPresent: boolean; rc: number }>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`no CONNACK for ${clientId} within 5 s`)), 5_000);
    connack = (sessionPresent, rc) => {
      clearTimeout(t);
      res({ sessionPresent, rc });
    };
  });
  socket.write(mqtt.generate({ cmd: "connect", clientId, protocolVersion: 4, clean, keepalive: 600 }));
  const { sessionPresent, rc } = await ack;
  if (rc !== 0) throw new Error(`CONNACK return code ${rc} for ${clientId}`);
  return { socket, setHandler: (h) => (handler = h), sessionPresent };
}

function disconnect(socket: Socket): Promise<void> {
  return new Promise((res) => {
    socket.once("close", () => res());
    socket.end(mqtt.generate({ cmd: "disconnect" }));
    setTimeout(() => {
      socket.destroy();
      res();
    }, 2_000);
  });
}

interface RunResult {
  msgsPerSec: number;
  acked: number;
  durationSeconds: number;
  /** Acknowledged in total, warm-up included (all of it is queued for the subscriber). */
  totalAcked: number;
  diskBytesAfter: number;
  verify?: { delivered: number; distinct: number; missing: number; drainMsgsPerSec: number; seconds: number };
}

async function runOnce(port: number, o: Options, disk: () => number): Promise<RunResult> {
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const subId = `bench-offline-${tag}`;
  // The persistent subscriber subscribes, then goes away for the whole run.
  {
    const sub = await mqttConnect(port, subId, false);
    const subacked = new Promise<number>((res) =>
      sub.setHandler((type, buf, body) => type === 9 && res(buf[body + 2]))
    );
    sub.socket.write(mqtt.generate({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "bench/#", qos: 1 }] }));
    const granted = await subacked;
    if (granted !== 1) throw new Error(`SUBACK granted ${granted}, wanted QoS 1`);
    await disconnect(sub.socket);
  }

  let running = true;
  let counting = false;
  let counted = 0;
  let total = 0;
  const sent = new Array<number>(o.publishers).fill(0);
  const pubs: Socket[] = [];
  for (let i = 0; i < o.publishers; i++) {
    const p = await mqttConnect(port, `bench-pub-${i}-${tag}`, true);
    const payload = Buffer.alloc(o.payload, 0x61);
    payload[0] = i;
    const one = mqtt.generate({
      cmd: "publish",
      topic: `bench/${i}`,
      payload,
      qos: 1,
      messageId: 1,
      retain: false,
      dup: false,
    });
    const idOffset = one.length - payload.length - 2;
    const seqOffset = idOffset + 3;
    let unacked = 0;
    let nextId = 1;
    let blocked = false;
    const pump = () => {
      if (!running || blocked) return;
      const room = o.pubWindow - unacked;
      if (room <= 0) return;
      const batch = Buffer.allocUnsafe(room * one.length);
      for (let k = 0; k < room; k++) {
        const at = k * one.length;
        one.copy(batch, at);
        batch.writeUInt16BE(nextId, at + idOffset);
        nextId = nextId === 65535 ? 1 : nextId + 1;
        batch.writeUInt32BE(sent[i]++ >>> 0, at + seqOffset);
      }
      unacked += room;
      if (!p.socket.write(batch)) {
        blocked = true;
        p.socket.once("drain", () => {
          blocked = false;
          pump();
        });
      }
    };
    p.setHandler((type) => {
      if (type !== 4) return;
      unacked--;
      total++;
      if (counting) counted++;
    });
    p.socket.on("data", () => pump()); // after the framer: refill once per chunk
    pubs.push(p.socket);
    pump();
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep(o.warmup * 1000);
  counting = true;
  const t0 = performance.now();
  await sleep(o.duration * 1000);
  counting = false;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  // Let the last acks come in, then leave.
  const sentTotal = () => sent.reduce((a, b) => a + b, 0);
  for (let waited = 0; waited < 10_000 && total < sentTotal(); waited += 50) await sleep(50);
  await Promise.all(pubs.map(disconnect));
  const result: RunResult = {
    msgsPerSec: Math.round(counted / elapsed),
    acked: counted,
    durationSeconds: Math.round(elapsed * 100) / 100,
    totalAcked: total,
    diskBytesAfter: disk(),
  };
  if (!o.verify) return result;

  // Drain: every acknowledged message must be queued for the subscriber.
  const seen = sent.map((n) => new Uint8Array(n));
  let delivered = 0;
  let distinct = 0;
  let acks: number[] = [];
  const onPacket: Handler = (type, buf, body) => {
    if (type !== 3) return;
    delivered++;
    const topicLen = buf.readUInt16BE(body);
    const at = body + 2 + topicLen; // QoS 1: packet id, then payload
    acks.push(0x40, 2, buf[at], buf[at + 1]);
    const i = buf[at + 2];
    const seq = buf.readUInt32BE(at + 3);
    if (i < seen.length && seq < seen[i].length && !seen[i][seq]) {
      seen[i][seq] = 1;
      distinct++;
    }
  };
  const t1 = performance.now();
  const sub = await mqttConnect(port, subId, false, onPacket);
  if (!sub.sessionPresent) throw new Error("the offline subscriber's session is gone");
  if (acks.length) {
    sub.socket.write(Buffer.from(acks));
    acks = [];
  }
  sub.socket.on("data", () => {
    if (acks.length) {
      sub.socket.write(Buffer.from(acks));
      acks = [];
    }
  });
  let last = -1;
  let stalled = 0;
  while (distinct < total && stalled < 5_000) {
    await sleep(50);
    stalled = delivered === last ? stalled + 50 : 0;
    last = delivered;
  }
  const drainSeconds = (performance.now() - t1) / 1000 - (stalled >= 5_000 ? 5 : 0);
  await disconnect(sub.socket);
  result.verify = {
    delivered,
    distinct,
    missing: total - distinct,
    drainMsgsPerSec: Math.round(delivered / Math.max(drainSeconds, 0.001)),
    seconds: Math.round(drainSeconds * 100) / 100,
  };
  return result;
}

// ---- main -------------------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : Math.round((s[m - 1] + s[m]) / 2);
}

function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] ?? "";
}

const o = parseOptions(process.argv.slice(2));
const runs: Partial<Record<Target, RunResult[]>> = {};
for (let round = 1; round <= o.rounds; round++) {
  for (const target of o.targets) {
    const broker = await start(target, o);
    try {
      const r = await runOnce(broker.port, o, () => broker.diskBytes());
      const errors = broker.persistErrors();
      if (errors.length) {
        throw new Error(`${target} failed to persist during the run:\n${errors.slice(0, 5).join("\n")}`);
      }
      (runs[target] ??= []).push(r);
      const v = r.verify
        ? `, drained ${r.verify.delivered} at ${r.verify.drainMsgsPerSec} msgs/s, missing ${r.verify.missing}`
        : "";
      console.error(`round ${round}/${o.rounds} ${target}: ${r.msgsPerSec} msgs/s acked (${r.totalAcked} queued${v})`);
    } finally {
      await broker.stop();
    }
  }
}

const rate = (t: Target) => (runs[t] ? median(runs[t]!.map((r) => r.msgsPerSec)) : null);
const ratio = (a: number | null, b: number | null) => (a !== null && b ? Math.round((a / b) * 100) / 100 : null);
const summary: Record<string, { msgsPerSec: number; drainMsgsPerSec: number | null; missing: number | null }> = {};
for (const t of o.targets) {
  const rs = runs[t]!;
  summary[t] = {
    msgsPerSec: rate(t)!,
    drainMsgsPerSec: rs[0].verify ? median(rs.map((r) => r.verify!.drainMsgsPerSec)) : null,
    missing: rs[0].verify ? rs.reduce((n, r) => n + r.verify!.missing, 0) : null,
  };
}
const ratios = {
  sqliteVsMemory: ratio(rate("gannet-sqlite"), rate("gannet-memory")),
  sqliteVsMosquitto: ratio(rate("gannet-sqlite"), rate("mosquitto")),
  memoryVsMosquitto: ratio(rate("gannet-memory"), rate("mosquitto")),
  denoSqliteVsBunSqlite: ratio(rate("gannet-deno-sqlite"), rate("gannet-sqlite")),
};

const header = ["broker", "QoS 1 msgs/s (offline subscriber)", "vs memory", "vs Mosquitto", "drain msgs/s", "missing"];
const rows = o.targets.map((t) => {
  const s = summary[t];
  const fmt = (x: number | null) => (x === null ? "-" : `${x.toFixed(2)}x`);
  return [
    t,
    String(s.msgsPerSec),
    fmt(ratio(s.msgsPerSec, rate("gannet-memory"))),
    fmt(ratio(s.msgsPerSec, rate("mosquitto"))),
    s.drainMsgsPerSec === null ? "-" : String(s.drainMsgsPerSec),
    s.missing === null ? "-" : String(s.missing),
  ];
});
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
console.log(`| ${header.map((h, i) => h.padEnd(widths[i])).join(" | ")} |`);
console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`);
for (const r of rows) console.log(`| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`);
console.log(
  `\nSQLite vs memory: ${ratios.sqliteVsMemory ?? "-"}x, SQLite vs Mosquitto: ${ratios.sqliteVsMosquitto ?? "-"}x, ` +
    `memory vs Mosquitto: ${ratios.memoryVsMosquitto ?? "-"}x`,
);

const date = new Date().toISOString().slice(0, 10);
const result = {
  date,
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "", platform: `${process.platform} ${process.arch}` },
  versions: {
    bun: version(BUN, ["--version"]),
    deno: o.targets.includes("gannet-deno-sqlite") ? version(DENO, ["--version"]) : "",
    mosquitto: o.targets.includes("mosquitto") ? version(mosquittoBinary(), ["-h"]) : "",
  },
  load: {
    what: "QoS 1 PUBLISH to an offline persistent subscriber (3.1.1 CleanSession 0 on bench/#); msgs/s = PUBACKs/s",
    publishers: o.publishers,
    payloadBytes: o.payload,
    pubWindow: o.pubWindow,
    durationSeconds: o.duration,
    warmupSeconds: o.warmup,
    rounds: o.rounds,
    gannet: "mqtt.maxQueuedMessages=100000000; persistence.store sqlite (default commitIntervalMs) or memory",
    mosquittoConfig: `persistence true, autosave_interval ${o.mosquittoAutosave}, max_queued_messages 0`,
  },
  summary,
  ratios,
  runs,
};
const dir = join(ROOT, "bench", "results");
mkdirSync(dir, { recursive: true });
const file = join(dir, `persistence-${date}.json`);
writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
console.log(`\nwritten ${file.slice(ROOT.length + 1)}`);
process.exit(0);
