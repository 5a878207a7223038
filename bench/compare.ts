/**
 * Fan-in benchmark: Gannet on Bun, Gannet on Deno and Debian's Mosquitto, one after the other, each
 * on its own free 127.0.0.1 port, under the same load (bench/load.ts: 8 publishers, 1 subscriber on
 * bench/#, 64-byte payloads) at QoS 0 and QoS 1. Prints a table of msgs/s received by the subscriber
 * with the ratio to Mosquitto, and writes bench/results/<date>.json.
 *
 *   bun bench/compare.ts [--duration 10] [--warmup 2] [--rounds 1] [--targets gannet-bun,gannet-deno,mosquitto]
 *
 * With --rounds N every broker is measured N times (rounds interleaved) and the median is kept:
 * this machine is shared and noisy, so compare ratios within one run rather than absolute figures.
 *
 * Mosquitto runs with `max_queued_messages 0` (no queue limit). Mosquitto 2.0.11 with its default
 * limit stalled under this load: some publishers' messages stayed queued for the subscriber and were
 * never delivered (see "lost" in the JSON of a run with --mosquitto-defaults). The load generator's
 * window (1000 messages in flight) bounds every broker's queue anyway.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { LoadResult } from "./load.ts";
import { freePort } from "../test/helpers/broker.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = (name: string) => join(ROOT, "node_modules", ".bin", name);

type Target = "gannet-bun" | "gannet-deno" | "mosquitto";
const ALL_TARGETS: Target[] = ["gannet-bun", "gannet-deno", "mosquitto"];

interface Options {
  duration: number;
  warmup: number;
  rounds: number;
  targets: Target[];
  qos: Array<0 | 1>;
  mosquittoDefaults: boolean;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { duration: 10, warmup: 2, rounds: 1, targets: ALL_TARGETS, qos: [0, 1], mosquittoDefaults: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--duration": o.duration = Number(value()); break;
      case "--warmup": o.warmup = Number(value()); break;
      case "--rounds": o.rounds = Math.max(1, Number(value())); break;
      case "--targets": {
        const wanted = value().split(",").map((s) => s.trim()) as Target[];
        for (const t of wanted) if (!ALL_TARGETS.includes(t)) throw new Error(`unknown target ${t}`);
        o.targets = wanted;
        break;
      }
      case "--qos": o.qos = value().split(",").map((q) => (Number(q) === 1 ? 1 : 0)); break;
      case "--mosquitto-defaults": o.mosquittoDefaults = true; break;
      default: throw new Error(`unknown argument ${flag}`);
    }
  }
  return o;
}

interface Running {
  port: number;
  stop(): Promise<void>;
}

/** Spawns a broker and resolves once `ready(output)` is true (rejects on exit or after 15 s). */
function launch(cmd: string, args: string[], port: number, ready: (out: string) => boolean, cleanup = () => {}): Promise<Running> {
  return new Promise((res, rej) => {
    const child: ChildProcess = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let done = false;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const stop = async () => {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      cleanup();
    };
    const timer = setTimeout(() => fail(new Error(`${cmd} not ready within 15 s:\n${out}`)), 15_000);
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      cleanup();
      rej(e);
    };
    const onOut = (s: Buffer) => {
      if (done) return;
      out += s.toString();
      if (out.length > 100_000) out = out.slice(-50_000);
      if (ready(out)) {
        done = true;
        clearTimeout(timer);
        res({ port, stop });
      }
    };
    child.stdout!.on("data", onOut);
    child.stderr!.on("data", onOut);
    child.once("exit", (code) => fail(new Error(`${cmd} exited with ${code} before ready:\n${out}`)));
    child.once("error", (e) => fail(e));
  });
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
  if (target === "mosquitto") {
    const dir = mkdtempSync(join(tmpdir(), "gannet-bench-"));
    const conf = join(dir, "mosquitto.conf");
    const lines = [`listener ${port} 127.0.0.1`, "allow_anonymous true", "persistence false"];
    if (!o.mosquittoDefaults) lines.push("max_queued_messages 0");
    writeFileSync(conf, lines.join("\n") + "\n");
    return await launch(mosquittoBinary(), ["-c", conf], port, (out) => / running/.test(out), () => {
      rmSync(dir, { recursive: true, force: true });
    });
  }
  // Fan-in to a clean subscriber writes nothing to disk; the memory store keeps the run free of files.
  const common = [
    "--host", "127.0.0.1", "--port", String(port), "--ws-port", "off", "--log-format", "json",
    "--admin-port", "off", "--set", "persistence.store=memory",
  ];
  const isReady = (out: string) => /"msg":"ready"/.test(out);
  if (target === "gannet-bun") return await launch(BIN("bun"), ["adapters/bun/main.ts", ...common], port, isReady);
  // The Deno binary itself: node_modules/.bin/deno is a Node wrapper that does not pass signals on.
  return await launch(
    join(ROOT, "node_modules", "deno", "deno"),
    ["run", "--allow-net", "--allow-read", "--allow-env", "--allow-sys", "adapters/deno/main.ts", ...common],
    port,
    isReady,
  );
}

function runLoadProcess(port: number, qos: 0 | 1, o: Options): LoadResult {
  const args = ["bench/load.ts", "--port", String(port), "--qos", String(qos), "--duration", String(o.duration), "--warmup", String(o.warmup)];
  const r = spawnSync(BIN("bun"), args, { cwd: ROOT, encoding: "utf8", timeout: (o.duration + o.warmup + 30) * 1000 });
  const line = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) {
    throw new Error(`load generator failed (status ${r.status}): ${r.stderr}${r.stdout}`);
  }
  return JSON.parse(line) as LoadResult;
}

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
const runs: Record<string, Record<string, LoadResult[]>> = {};
for (let round = 1; round <= o.rounds; round++) {
  for (const target of o.targets) {
    const broker = await start(target, o);
    try {
      for (const qos of o.qos) {
        const r = runLoadProcess(broker.port, qos, o);
        ((runs[target] ??= {})[`qos${qos}`] ??= []).push(r);
        console.error(`round ${round}/${o.rounds} ${target} QoS ${qos}: ${r.msgsPerSec} msgs/s (lost ${r.lost})`);
      }
    } finally {
      await broker.stop();
    }
  }
}

const summary: Record<string, Record<string, { msgsPerSec: number; ratioToMosquitto: number | null; lost: number }>> = {};
for (const target of o.targets) {
  summary[target] = {};
  for (const qos of o.qos) {
    const key = `qos${qos}`;
    const mine = median(runs[target][key].map((r) => r.msgsPerSec));
    const ref = runs.mosquitto?.[key] ? median(runs.mosquitto[key].map((r) => r.msgsPerSec)) : null;
    summary[target][key] = {
      msgsPerSec: mine,
      ratioToMosquitto: ref ? Math.round((mine / ref) * 100) / 100 : null,
      lost: runs[target][key].reduce((n, r) => n + r.lost, 0),
    };
  }
}

const pad = (s: string, n: number) => s.padEnd(n);
const header = ["broker", ...o.qos.flatMap((q) => [`QoS ${q} msgs/s`, `QoS ${q} vs Mosquitto`])];
const rows = o.targets.map((t) => [
  t,
  ...o.qos.flatMap((q) => {
    const s = summary[t][`qos${q}`];
    return [String(s.msgsPerSec), s.ratioToMosquitto === null ? "-" : `${s.ratioToMosquitto.toFixed(2)}x`];
  }),
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
console.log(`| ${header.map((h, i) => pad(h, widths[i])).join(" | ")} |`);
console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`);
for (const r of rows) console.log(`| ${r.map((c, i) => pad(c, widths[i])).join(" | ")} |`);

const date = new Date().toISOString().slice(0, 10);
const result = {
  date,
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "", platform: `${process.platform} ${process.arch}` },
  versions: {
    bun: version(BIN("bun"), ["--version"]),
    deno: version(BIN("deno"), ["--version"]),
    mosquitto: o.targets.includes("mosquitto") ? version(mosquittoBinary(), ["-h"]) : "",
  },
  load: {
    publishers: 8,
    subscribers: 1,
    subscription: "bench/#",
    payloadBytes: 64,
    durationSeconds: o.duration,
    warmupSeconds: o.warmup,
    rounds: o.rounds,
    window: 1000,
    mosquittoConfig: o.mosquittoDefaults ? "defaults" : "max_queued_messages 0",
  },
  summary,
  runs,
};
const dir = join(ROOT, "bench", "results");
mkdirSync(dir, { recursive: true });
const file = join(dir, `${date}.json`);
writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
console.log(`\nwritten ${file.slice(ROOT.length + 1)}`);
process.exit(0);
