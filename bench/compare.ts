/**
 * Broker benchmark: Gannet on Bun, Gannet on Deno and Debian's Mosquitto, one after the other, each
 * on its own free 127.0.0.1 port, under the same load, 64-byte payloads. Scenarios:
 *   - `qos0`, `qos1`: fan-in (bench/load.ts: 8 publishers, 1 subscriber on bench/#) with an eager
 *     subscriber (it answers every chunk as it arrives); `qos1-batch`: the same with a subscriber that
 *     drains its socket once per millisecond, as busy applications do. Reports msgs/s received.
 *   - `fanout`: 1 publisher -> 100 eager subscribers at QoS 0 (bench/fanout.ts). Reports deliveries/s.
 *   - `latency-qos1`: QoS 1 at a fixed 2,000 msg/s, 1 publisher -> 1 subscriber (bench/latency.ts).
 *     Reports p50 and p99 publish -> receive latency in ms (lower is better).
 * Prints each figure with the ratio to Mosquitto, the broker's CPU use (100% = one core busy; below
 * that it waits) and Deno's ratio to Bun, and writes bench/results/<date>.json.
 *
 *   bun bench/compare.ts [--duration 10] [--warmup 2] [--rounds 1] [--targets gannet-bun,gannet-deno,mosquitto]
 *                        [--scenarios qos0,qos1,qos1-batch,fanout,latency-qos1] [--set key=value ...]
 *                        [--out name] [--window 1000]
 *
 * With --rounds N every broker is measured N times (rounds interleaved) and the median is kept:
 * this machine is shared and noisy, so compare ratios within one run rather than absolute figures.
 * `--set` passes a setting to Gannet (e.g. `--set mqtt.maxInflight=1000`). Targets floor-bun and
 * floor-deno (bench/floor-server.ts) relay whole PUBLISH packets with no broker behind them (QoS 1
 * answered with PUBACK): the runtime's own ceiling for the same I/O.
 *
 * Mosquitto runs with `max_queued_messages 0` (no queue limit). Mosquitto 2.0.11 with its default
 * limit stalled under the fan-in load: some publishers' messages stayed queued for the subscriber and
 * were never delivered (see "lost" in the JSON of a run with --mosquitto-defaults). The load
 * generators' windows bound every broker's queue anyway.
 *
 * --window sets the fan-in generator's window (messages published and not yet received, 1000 by
 * default). Look at each broker's CPU before quoting a ratio: a broker below ~95% was waiting on the
 * window or the generator, not at its ceiling (Mosquitto at 1000 on a quiet machine: 98%; on a busy one
 * it waited). A larger window (e.g. 20000) is fair at QoS 0 only: at QoS 1 it overruns Gannet's session
 * queue bound (maxQueuedMessages, 1000) and the excess is dropped and counted as lost, as Mosquitto
 * would with its default max_queued_messages.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { ALL_TARGETS, BIN, median, mosquittoBinary, ROOT, start, table, type Target, version } from "./brokers.ts";

type Scenario = "qos0" | "qos1" | "qos1-batch" | "fanout" | "latency-qos1";
const ALL_SCENARIOS: Scenario[] = ["qos0", "qos1", "qos1-batch", "fanout", "latency-qos1"];

/** One figure a scenario reports: its JSON field, the column name, and whether less is better. */
interface Metric {
  field: string;
  label: string;
  lowerIsBetter?: boolean;
}

interface ScenarioSpec {
  script: string;
  args: string[];
  metrics: Metric[];
}

const SCENARIOS: Record<Scenario, ScenarioSpec> = {
  "qos0": { script: "bench/load.ts", args: ["--qos", "0", "--consumer", "eager"], metrics: [{ field: "msgsPerSec", label: "msgs/s" }] },
  "qos1": { script: "bench/load.ts", args: ["--qos", "1", "--consumer", "eager"], metrics: [{ field: "msgsPerSec", label: "msgs/s" }] },
  "qos1-batch": { script: "bench/load.ts", args: ["--qos", "1", "--consumer", "batch"], metrics: [{ field: "msgsPerSec", label: "msgs/s" }] },
  "fanout": { script: "bench/fanout.ts", args: ["--subscribers", "100"], metrics: [{ field: "deliveriesPerSec", label: "deliveries/s" }] },
  "latency-qos1": {
    script: "bench/latency.ts",
    args: ["--rate", "2000"],
    metrics: [{ field: "p50Ms", label: "p50 ms", lowerIsBetter: true }, { field: "p99Ms", label: "p99 ms", lowerIsBetter: true }],
  },
};

interface Options {
  duration: number;
  warmup: number;
  rounds: number;
  targets: Target[];
  scenarios: Scenario[];
  mosquittoDefaults: boolean;
  gannetSet: Record<string, string>;
  out: string | null;
  /** Fan-in: messages published and not yet received, across all publishers (load.ts --window). */
  window: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    duration: 10, warmup: 2, rounds: 1, targets: ALL_TARGETS, scenarios: ALL_SCENARIOS, mosquittoDefaults: false, gannetSet: {}, out: null,
    window: 1000,
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
      case "--out": o.out = value(); break;
      case "--window": o.window = Number(value()); break;
      default: throw new Error(`unknown argument ${flag}`);
    }
  }
  return o;
}

/** A load generator's JSON line, plus the broker's CPU during the whole run (warm-up included), % of one core. */
type Measured = Record<string, unknown> & { brokerCpuPercent: number };

/**
 * Runs a load generator as a child process. Not spawnSync: while this process is blocked, nobody
 * reads the broker's log pipe, and 100 subscribers' connect lines fill it until a broker that
 * writes its log synchronously (Deno) stops.
 */
function runLoadProcess(port: number, scenario: Scenario, o: Options): Promise<Record<string, unknown>> {
  const spec = SCENARIOS[scenario];
  const args = [spec.script, "--port", String(port), ...spec.args, "--duration", String(o.duration), "--warmup", String(o.warmup)];
  if (spec.script === "bench/load.ts") args.push("--window", String(o.window));
  return new Promise((resolve, reject) => {
    const child = spawn(BIN("bun"), args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), (o.duration + o.warmup + 60) * 1000);
    child.once("error", reject);
    child.once("exit", (status) => {
      clearTimeout(timer);
      const line = stdout.trim().split("\n").pop() ?? "";
      if (status !== 0 || !line.startsWith("{")) {
        reject(new Error(`load generator ${spec.script} failed (status ${status}): ${stderr}${stdout}`));
      } else resolve(JSON.parse(line) as Record<string, unknown>);
    });
  });
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
        const r = await runLoadProcess(broker.port, scenario, o);
        const brokerCpuPercent = Math.round(((broker.cpuSeconds() - cpu0) / ((performance.now() - t0) / 1000)) * 100);
        ((runs[target] ??= {})[scenario] ??= []).push({ ...r, brokerCpuPercent });
        const figures = SCENARIOS[scenario].metrics.map((m) => `${r[m.field]} ${m.label}`).join(", ");
        console.error(`round ${round}/${o.rounds} ${target} ${scenario}: ${figures} (lost ${r.lost}), broker CPU ${brokerCpuPercent}%`);
      }
    } finally {
      await broker.stop();
    }
  }
}

interface Figure {
  value: number;
  ratioToMosquitto: number | null;
}
type Summary = Record<string, Record<string, { figures: Record<string, Figure>; brokerCpuPercent: number; lost: number }>>;
const med = (target: string, scenario: string, field: string): number | null => {
  const xs = runs[target]?.[scenario]?.map((r) => Number(r[field]));
  return xs && xs.length ? median(xs) : null;
};
const ratio = (a: number | null, b: number | null) => (a !== null && b ? Math.round((a / b) * 100) / 100 : null);
const round3 = (x: number) => Math.round(x * 1000) / 1000;

const summary: Summary = {};
for (const target of o.targets) {
  summary[target] = {};
  for (const scenario of o.scenarios) {
    const figures: Record<string, Figure> = {};
    for (const m of SCENARIOS[scenario].metrics) {
      const mine = med(target, scenario, m.field)!;
      figures[m.field] = { value: m.lowerIsBetter ? round3(mine) : Math.round(mine), ratioToMosquitto: ratio(mine, med("mosquitto", scenario, m.field)) };
    }
    summary[target][scenario] = {
      figures,
      brokerCpuPercent: Math.round(median(runs[target][scenario].map((r) => r.brokerCpuPercent))),
      lost: runs[target][scenario].reduce((n, r) => n + Number(r.lost ?? 0), 0),
    };
  }
}

const columns = o.scenarios.flatMap((sc) => SCENARIOS[sc].metrics.map((m) => ({ sc, m })));
console.log(table(
  ["broker", ...columns.flatMap(({ sc, m }) => [`${sc} ${m.label}`, "vs Mosquitto"]), ...o.scenarios.map((sc) => `${sc} CPU`)],
  o.targets.map((t) => [
    t,
    ...columns.flatMap(({ sc, m }) => {
      const f = summary[t][sc].figures[m.field];
      return [String(f.value), f.ratioToMosquitto === null ? "-" : `${f.ratioToMosquitto.toFixed(2)}x`];
    }),
    ...o.scenarios.map((sc) => `${summary[t][sc].brokerCpuPercent}%`),
  ]),
));

// Deno against Bun, for the broker and for the floor servers: throughput as Deno/Bun (higher is
// better), latency as Deno/Bun (lower is better).
const pairs = ([["gannet-deno", "gannet-bun"], ["floor-deno", "floor-bun"]] as const).filter(([d, b]) => o.targets.includes(d) && o.targets.includes(b));
const denoVsBun: Record<string, Record<string, number | null>> = {};
for (const [deno, bun] of pairs) {
  denoVsBun[`${deno}/${bun}`] = Object.fromEntries(columns.map(({ sc, m }) => [`${sc} ${m.field}`, ratio(med(deno, sc, m.field), med(bun, sc, m.field))]));
}
if (pairs.length) {
  console.log(`\nDeno / Bun (throughput: higher is better; latency: lower is better)`);
  console.log(table(
    ["pair", ...columns.map(({ sc, m }) => `${sc} ${m.label}`)],
    Object.entries(denoVsBun).map(([pair, r]) => [pair, ...columns.map(({ sc, m }) => (r[`${sc} ${m.field}`] === null ? "-" : `${r[`${sc} ${m.field}`]!.toFixed(2)}x`))]),
  ));
}

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
    scenarios: Object.fromEntries(o.scenarios.map((sc) => [sc, `${SCENARIOS[sc].script} ${SCENARIOS[sc].args.join(" ")}`])),
    fanIn: { publishers: 8, subscribers: 1, subscription: "bench/#", window: o.window },
    fanout: { publishers: 1, subscribers: 100, qos: 0, window: 500 },
    latency: { publishers: 1, subscribers: 1, qos: 1, rate: 2000 },
    payloadBytes: 64,
    durationSeconds: o.duration,
    warmupSeconds: o.warmup,
    rounds: o.rounds,
    mosquittoConfig: o.mosquittoDefaults ? "defaults" : "max_queued_messages 0",
    gannetSet: o.gannetSet,
  },
  summary,
  denoVsBun,
  runs,
};
const dir = join(ROOT, "bench", "results");
mkdirSync(dir, { recursive: true });
const file = join(dir, `${o.out ?? date}.json`);
writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
console.log(`\nwritten ${file.slice(ROOT.length + 1)}`);
process.exit(0);
