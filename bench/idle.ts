/**
 * Idle connections: N MQTT 3.1.1 clients connect to the broker and stay idle (keepalive 0). Reports,
 * per broker: resident memory at start and after the N connections, memory per connection, connects
 * per second and broker CPU per 1,000 connects, and one PINGREQ per connection as liveness (every
 * PINGRESP must come back). Ratios are to Mosquitto measured in the same run.
 *
 *   bun bench/idle.ts [--connections 10000] [--per-process 5000] [--targets gannet-bun,gannet-deno,mosquitto]
 *
 * Targets floor-bun and floor-deno run bench/floor-server.ts (the same socket API, no broker): the
 * runtime's own cost per connection, for telling the broker's share from the runtime's.
 *
 * The clients run in several worker processes (bench/idle-clients.ts): the open files limit here is
 * 20,000 per process, so one process cannot hold 19,000 client sockets next to everything else.
 * Memory per connection is (RSS after - RSS before) / connections, RSS read 2 s after the last
 * CONNACK; garbage the runtime has not collected yet counts too, as it does on a gateway.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ALL_TARGETS, BIN, ROOT, start, table, type Target } from "./brokers.ts";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const N = Number(flag("--connections", "10000"));
const PER_PROCESS = Number(flag("--per-process", "5000"));
const targets = flag("--targets", ALL_TARGETS.join(",")).split(",") as Target[];
/** `--set key=value` (repeatable) for Gannet, e.g. `--set log.level=warn`. */
const gannetSet: Record<string, string> = {};
argv.forEach((a, i) => {
  if (a === "--set" && argv[i + 1]) {
    const [k, ...v] = argv[i + 1].split("=");
    gannetSet[k] = v.join("=");
  }
});
for (const t of targets) {
  if (![...ALL_TARGETS, "floor-bun", "floor-deno"].includes(t)) throw new Error(`unknown target ${t}`);
}

interface Worker {
  child: ChildProcess;
  next(): Promise<Record<string, number>>;
  send(command: string): void;
}

function worker(port: number, count: number, prefix: string): Worker {
  const child = spawn(BIN("bun"), ["bench/idle-clients.ts", "--port", String(port), "--count", String(count), "--prefix", prefix], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines: string[] = [];
  let waiting: ((line: string) => void) | undefined;
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w(line);
    } else lines.push(line);
  });
  return {
    child,
    next: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker ${prefix}: no answer within 120 s`)), 120_000);
        const take = (line: string) => {
          clearTimeout(timer);
          resolve(JSON.parse(line));
        };
        const queued = lines.shift();
        if (queued !== undefined) take(queued);
        else waiting = take;
      }),
    send: (command) => child.stdin!.write(command + "\n"),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MIB = 1024 * 1024;

interface Result {
  connections: number;
  failed: number;
  rssStartMiB: number;
  rssAfterMiB: number;
  kibPerConnection: number;
  connectsPerSec: number;
  cpuMsPer1kConnects: number;
  pongs: number;
}
const results: Partial<Record<Target, Result>> = {};

for (const target of targets) {
  const broker = await start(target, { mosquittoLines: ["max_connections -1"], gannetSet });
  const workers: Worker[] = [];
  try {
    await sleep(1000);
    const rss0 = broker.residentBytes();
    const cpu0 = broker.cpuSeconds();
    for (let left = N, i = 0; left > 0; left -= PER_PROCESS, i++) {
      workers.push(worker(broker.port, Math.min(PER_PROCESS, left), `idle-${target}-${i}`));
    }
    const opened = await Promise.all(workers.map((w) => w.next()));
    // The workers' own connect time: their start-up (a second or so of Bun loading) does not count.
    const seconds = Math.max(...opened.map((o) => o.ms)) / 1000;
    const cpu = broker.cpuSeconds() - cpu0;
    const connected = opened.reduce((n, o) => n + o.connected, 0);
    const failed = opened.reduce((n, o) => n + o.failed, 0);
    await sleep(2000);
    const rss1 = broker.residentBytes();
    for (const w of workers) w.send("ping");
    const pongs = (await Promise.all(workers.map((w) => w.next()))).reduce((n, o) => n + o.pongs, 0);
    results[target] = {
      connections: connected,
      failed,
      rssStartMiB: Math.round((rss0 / MIB) * 10) / 10,
      rssAfterMiB: Math.round((rss1 / MIB) * 10) / 10,
      kibPerConnection: Math.round(((rss1 - rss0) / 1024 / Math.max(1, connected)) * 100) / 100,
      connectsPerSec: Math.round(connected / seconds),
      cpuMsPer1kConnects: Math.round((cpu * 1000 / Math.max(1, connected)) * 1000 * 10) / 10,
      pongs,
    };
    console.error(`${target}: ${JSON.stringify(results[target])}`);
  } finally {
    for (const w of workers) w.send("close");
    await Promise.all(workers.map((w) => new Promise((r) => w.child.once("exit", r))));
    await broker.stop();
  }
}

const ref = results.mosquitto;
const ratio = (mine: number, theirs: number | undefined) => (theirs ? `${(mine / theirs).toFixed(2)}x` : "-");
console.log(table(
  ["broker", "connections", "PINGRESP", "RSS start MiB", `RSS after MiB`, "KiB/conn", "vs Mosquitto", "connects/s", "vs Mosquitto", "CPU ms/1k connects", "vs Mosquitto"],
  targets.map((t) => {
    const r = results[t]!;
    return [
      t, String(r.connections), String(r.pongs), String(r.rssStartMiB), String(r.rssAfterMiB), String(r.kibPerConnection),
      ratio(r.kibPerConnection, ref?.kibPerConnection), String(r.connectsPerSec), ratio(r.connectsPerSec, ref?.connectsPerSec),
      String(r.cpuMsPer1kConnects), ratio(r.cpuMsPer1kConnects, ref?.cpuMsPer1kConnects),
    ];
  }),
));
const date = new Date().toISOString().slice(0, 10);
const dir = join(ROOT, "bench", "results");
mkdirSync(dir, { recursive: true });
const file = join(dir, `idle-${date}.json`);
writeFileSync(file, JSON.stringify({ date, machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "" }, connections: N, results }, null, 2) + "\n");
console.log(`\nwritten ${file.slice(ROOT.length + 1)}`);
process.exit(0);
