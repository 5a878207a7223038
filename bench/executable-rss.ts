/**
 * Idle RSS of the single executable next to Mosquitto's, on the same machine in one run.
 *
 *   npx bun compile.ts --target linux-x64        # builds dist/gannet-linux-x64 first
 *   npx bun bench/executable-rss.ts [--binary dist/gannet-linux-x64] [--runs 5] [--idle-ms 3000] [--no-mosquitto]
 *                                   [--just-written]
 *
 * Gannet runs with its default configuration (SQLite store, MQTT, WebSocket and admin ports, the
 * console) on free 127.0.0.1 ports, no clients. Each run starts it twice in a fresh directory: the
 * first start creates the database and hashes the new `admin` password with argon2id; the second
 * start opens the same database (what a gateway does every boot after the first). RSS is read from
 * /proc/<pid>/smaps_rollup `--idle-ms` after the "ready" line, split into anonymous memory (heaps:
 * what the program allocated) and file-backed pages (the executable's code and embedded bundle that
 * the kernel paged in). Mosquitto runs with a minimal configuration (one listener, no persistence).
 * Prints medians; writes bench/results/executable-rss-<date>.json.
 *
 * Before each run the executable's pages are dropped from the page cache (`dd iflag=nocache
 * count=0`, this file only), as on a gateway that boots: the file-backed part of RSS depends on how
 * the file's pages came into the cache. A file just written (a fresh build, a cp) is cached in
 * large folios that the kernel maps whole, and measured up to 5 MiB more than the same file read
 * back through page faults (2026-12-07). --just-written measures that state instead: each run starts
 * a fresh copy of the executable, as right after a build or an install, before the next boot.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { median, mosquittoBinary, ROOT, table, version } from "./brokers.ts";
import { freePort } from "../test/helpers/broker.ts";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const BINARY = resolve(ROOT, flag("--binary", "dist/gannet-linux-x64"));
const RUNS = Number(flag("--runs", "5"));
const IDLE_MS = Number(flag("--idle-ms", "3000"));
const WITH_MOSQUITTO = !argv.includes("--no-mosquitto");
const JUST_WRITTEN = argv.includes("--just-written");
if (!existsSync(BINARY)) {
  console.error(`${relative(ROOT, BINARY)} does not exist: build it first with npx bun compile.ts --target linux-x64 (or pass --binary PATH)`);
  process.exit(2);
}

interface Sample {
  /** VmRSS after the idle time, KiB. */
  rss: number;
  /** Anonymous resident memory (heaps), KiB. */
  anon: number;
  /** File-backed resident pages (code, the embedded bundle), KiB. */
  file: number;
  /** VmHWM: the peak RSS during start, KiB. */
  peak: number;
  readyMs: number;
}

function memoryOf(pid: number): Omit<Sample, "readyMs"> {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const field = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = field(rollup, "Rss");
  const anon = field(rollup, "Anonymous");
  return { rss, anon, file: rss - anon, peak: field(status, "VmHWM") };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Drops `file`'s pages from the page cache (see the header); false when dd cannot. */
function evictFromPageCache(file: string): boolean {
  return spawnSync("dd", [`if=${file}`, "of=/dev/null", "iflag=nocache", "count=0"], { stdio: "ignore" }).status === 0;
}

/** Starts `cmd`, waits for `ready(output)`, then `IDLE_MS`, measures and stops it with SIGTERM. */
function sample(cmd: string, args: string[], cwd: string, ready: (out: string) => boolean): Promise<Sample> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child: ChildProcess = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let seen = false;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const onData = async (chunk: Buffer) => {
      out += chunk.toString();
      if (seen || !ready(out)) return;
      seen = true;
      const readyMs = performance.now() - started;
      try {
        await sleep(IDLE_MS);
        const memory = memoryOf(child.pid!);
        child.kill("SIGTERM");
        await exited;
        resolvePromise({ ...memory, readyMs });
      } catch (e: unknown) {
        child.kill("SIGKILL");
        reject(e);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => !seen && reject(new Error(`${cmd} exited (${code}) before ready:\n${out}`)));
  });
}

async function gannet(dir: string, binary: string): Promise<Sample> {
  const [port, wsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  return await sample(binary, [
    "--host", "127.0.0.1", "--port", String(port), "--ws-port", String(wsPort), "--admin-port", String(adminPort),
    "--log-format", "json", "--set", `persistence.path=${join(dir, "gannet.db")}`,
  ], dir, (out) => out.includes('"msg":"ready"'));
}

async function mosquitto(dir: string): Promise<Sample> {
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  return await sample(mosquittoBinary(), ["-c", conf], dir, (out) => / running/.test(out));
}

const first: Sample[] = [];
const second: Sample[] = [];
const mosq: Sample[] = [];
for (let i = 0; i < RUNS; i++) {
  const dir = mkdtempSync(join(tmpdir(), "gannet-exe-rss-"));
  try {
    let binary = BINARY;
    if (JUST_WRITTEN) {
      binary = join(dir, "gannet");
      copyFileSync(BINARY, binary);
    } else if (!evictFromPageCache(BINARY)) {
      console.error(`note: could not drop ${BINARY} from the page cache (dd iflag=nocache): figures may be higher`);
    }
    if (WITH_MOSQUITTO) evictFromPageCache(mosquittoBinary());
    first.push(await gannet(dir, binary));
    second.push(await gannet(dir, binary));
    if (WITH_MOSQUITTO) mosq.push(await mosquitto(dir));
    console.error(`run ${i + 1}/${RUNS}: first ${JSON.stringify(first.at(-1))} second ${JSON.stringify(second.at(-1))}` +
      (WITH_MOSQUITTO ? ` mosquitto ${JSON.stringify(mosq.at(-1))}` : ""));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const mib = (kib: number) => Math.round(kib / 102.4) / 10;
interface Summary { rssMiB: number; anonMiB: number; fileMiB: number; peakMiB: number; readyMs: number }
const summary = (samples: Sample[]): Summary => ({
  rssMiB: mib(median(samples.map((s) => s.rss))),
  anonMiB: mib(median(samples.map((s) => s.anon))),
  fileMiB: mib(median(samples.map((s) => s.file))),
  peakMiB: mib(median(samples.map((s) => s.peak))),
  readyMs: Math.round(median(samples.map((s) => s.readyMs))),
});
const results: Record<string, Summary> = {
  "gannet, first start (new database, argon2id)": summary(first),
  "gannet, second start (same database)": summary(second),
};
if (WITH_MOSQUITTO) results.mosquitto = summary(mosq);
const reference = results.mosquitto?.rssMiB;
console.log(`${relative(ROOT, BINARY)} (${mib(statSync(BINARY).size / 1024)} MiB), medians of ${RUNS} runs, RSS ${IDLE_MS} ms after ready, ` +
  `${JUST_WRITTEN ? "a just-written copy of the executable" : "the executable dropped from the page cache before each run"}:\n`);
console.log(table(
  ["process", "idle RSS MiB", "vs Mosquitto", "anonymous MiB", "file-backed MiB", "peak RSS MiB", "start to ready ms"],
  Object.entries(results).map(([name, s]) => [
    name, String(s.rssMiB), reference ? `${(s.rssMiB / reference).toFixed(1)}x` : "-", String(s.anonMiB), String(s.fileMiB),
    String(s.peakMiB), String(s.readyMs),
  ]),
));
const date = new Date().toISOString().slice(0, 10);
const dir = join(ROOT, "bench", "results");
mkdirSync(dir, { recursive: true });
const file = join(dir, `executable-rss-${date}${JUST_WRITTEN ? "-just-written" : ""}.json`);
writeFileSync(file, JSON.stringify({
  date,
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "" },
  binary: relative(ROOT, BINARY),
  mosquitto: WITH_MOSQUITTO ? version(mosquittoBinary(), ["-h"]) : undefined,
  runs: RUNS,
  idleMs: IDLE_MS,
  pageCache: JUST_WRITTEN ? "just written" : "dropped before each run",
  results,
}, null, 2) + "\n");
console.log(`\nwritten ${relative(ROOT, file)}`);
