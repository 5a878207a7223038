/**
 * Fan-in benchmark: Gannet on Bun, Gannet on Deno and Debian's Mosquitto, one after the other, each
 * on its own free 127.0.0.1 port, under the same load (bench/load.ts: 8 publishers, 1 subscriber on
 * bench/#, 64-byte payloads). Scenarios: `qos0` and `qos1` with an eager subscriber (it answers every
 * chunk as it arrives), and `qos1-batch` with a subscriber that drains its socket once per
 * millisecond, as busy applications do. Prints msgs/s received by the subscriber with the ratio to
 * Mosquitto and the broker's CPU use (100% = one core busy; below that it waits), and writes
 * bench/results/<date>.json.
 *
 *   bun bench/compare.ts [--duration 10] [--warmup 2] [--rounds 1] [--targets gannet-bun,gannet-deno,mosquitto]
 *                        [--scenarios qos0,qos1,qos1-batch] [--set key=value ...]
 *
 * With --rounds N every broker is measured N times (rounds interleaved) and the median is kept:
 * this machine is shared and noisy, so compare ratios within one run rather than absolute figures.
 * `--set` passes a setting to Gannet (e.g. `--set mqtt.maxInflight=1000`). Targets floor-bun and
 * floor-deno (bench/floor-server.ts, scenario qos0 only) relay whole PUBLISH packets with no broker
 * behind them: the runtime's own ceiling for the same I/O.
 *
 * Mosquitto runs with `max_queued_messages 0` (no queue limit). Mosquitto 2.0.11 with its default
 * limit stalled under this load: some publishers' messages stayed queued for the subscriber and were
 * never delivered (see "lost" in the JSON of a run with --mosquitto-defaults). The load generator's
 * window (1000 messages in flight) bounds every broker's queue anyway.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import type { LoadResult } from "./load.ts";
import { ALL_TARGETS, BIN, median, mosquittoBinary, ROOT, start, table, type Target, version } from "./brokers.ts";

type Scenario = "qos0" | "qos1" | "qos1-batch";
const ALL_SCENARIOS: Scenario[] = ["qos0", "qos1", "qos1-batch"];

interface Options {
  duration: number;
  warmup: number;
  rounds: number;
  targets: Target[];
  scenarios: Scenario[];
  mosquittoDefaults: boolean;
  gannetSet: Record<string, string>;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    duration: 10, warmup: 2, rounds: 1, targets: ALL_TARGETS, scenarios: ALL_SCENARIOS, mosquittoDefaults: false, gannetSet: {},
  };
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
        for (const t of wanted) if (![...ALL_TARGETS, "floor-bun", "floor-deno"].includes(t)) throw new Error(`unknown target ${t}`);
        o.targets = wanted;
        break;
      }
      case "--scenarios": {
        const wanted = value().split(",").map((s) => s.trim()) as Scenario[];
        for (const s of wanted) if (!ALL_SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s} (${ALL_SCENARIOS.join(", ")})`);
        o.scenarios = wanted;
        break;
      }
      case "--qos": o.scenarios = value().split(",").map((q) => (Number(q) === 1 ? "qos1" : "qos0")); break;
      case "--set": {
        const [k, ...v] = value().split("=");
        o.gannetSet[k] = v.join("=");
        break;
      }
      case "--mosquitto-defaults": o.mosquittoDefaults = true; break;
      default: throw new Error(`unknown argument ${flag}`);
    }
  }
  return o;
}

interface Measured extends LoadResult {
  /** Broker CPU during the whole load process (warm-up included), as % of one core. */
  brokerCpuPercent: number;
}

function runLoadProcess(port: number, scenario: Scenario, o: Options): LoadResult {
  const qos = scenario === "qos0" ? "0" : "1";
  const consumer = scenario === "qos1-batch" ? "batch" : "eager";
  const args = [
    "bench/load.ts", "--port", String(port), "--qos", qos, "--consumer", consumer,
    "--duration", String(o.duration), "--warmup", String(o.warmup),
  ];
  const r = spawnSync(BIN("bun"), args, { cwd: ROOT, encoding: "utf8", timeout: (o.duration + o.warmup + 30) * 1000 });
  const line = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) {
    throw new Error(`load generator failed (status ${r.status}): ${r.stderr}${r.stdout}`);
  }
  return JSON.parse(line) as LoadResult;
}

const o = parseOptions(process.argv.slice(2));
const runs: Record<string, Record<string, Measured[]>> = {};
for (let round = 1; round <= o.rounds; round++) {
  for (const target of o.targets) {
    const broker = await start(target, { mosquittoDefaults: o.mosquittoDefaults, gannetSet: o.gannetSet });
    try {
      for (const scenario of o.scenarios) {
        const cpu0 = broker.cpuSeconds();
        const t0 = performance.now();
        const r = runLoadProcess(broker.port, scenario, o);
        const brokerCpuPercent = Math.round(((broker.cpuSeconds() - cpu0) / ((performance.now() - t0) / 1000)) * 100);
        ((runs[target] ??= {})[scenario] ??= []).push({ ...r, brokerCpuPercent });
        console.error(`round ${round}/${o.rounds} ${target} ${scenario}: ${r.msgsPerSec} msgs/s (lost ${r.lost}), broker CPU ${brokerCpuPercent}%`);
      }
    } finally {
      await broker.stop();
    }
  }
}

const summary: Record<string, Record<string, { msgsPerSec: number; ratioToMosquitto: number | null; brokerCpuPercent: number; lost: number }>> = {};
for (const target of o.targets) {
  summary[target] = {};
  for (const scenario of o.scenarios) {
    const mine = Math.round(median(runs[target][scenario].map((r) => r.msgsPerSec)));
    const ref = runs.mosquitto?.[scenario] ? median(runs.mosquitto[scenario].map((r) => r.msgsPerSec)) : null;
    summary[target][scenario] = {
      msgsPerSec: mine,
      ratioToMosquitto: ref ? Math.round((mine / ref) * 100) / 100 : null,
      brokerCpuPercent: Math.round(median(runs[target][scenario].map((r) => r.brokerCpuPercent))),
      lost: runs[target][scenario].reduce((n, r) => n + r.lost, 0),
    };
  }
}

console.log(table(
  ["broker", ...o.scenarios.flatMap((s) => [`${s} msgs/s`, `${s} vs Mosquitto`, `${s} CPU`])],
  o.targets.map((t) => [
    t,
    ...o.scenarios.flatMap((sc) => {
      const s = summary[t][sc];
      return [String(s.msgsPerSec), s.ratioToMosquitto === null ? "-" : `${s.ratioToMosquitto.toFixed(2)}x`, `${s.brokerCpuPercent}%`];
    }),
  ]),
));

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
    gannetSet: o.gannetSet,
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
