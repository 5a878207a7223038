/**
 * Brokers under benchmark, shared by bench/compare.ts, bench/idle.ts and bench/retained.ts: Gannet on
 * Bun, Gannet on Deno (memory store, no WebSocket or admin port) and Debian's Mosquitto, each started
 * on a free 127.0.0.1 port and stopped with SIGTERM. `cpuSeconds()` and `residentBytes()` read
 * /proc/<pid> of the broker process itself (the runtime binary, not a wrapper).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../test/helpers/broker.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const BIN = (name: string) => join(ROOT, "node_modules", ".bin", name);
/**
 * Where Gannet's sources come from (env GANNET_ROOT, default this checkout): point it at another
 * checkout (with node_modules) to measure an older version with the same benchmark code.
 */
const GANNET_ROOT = process.env.GANNET_ROOT ? resolve(process.env.GANNET_ROOT) : ROOT;

export type Target = "gannet-bun" | "gannet-deno" | "mosquitto" | "floor-bun" | "floor-deno";
export const ALL_TARGETS: Target[] = ["gannet-bun", "gannet-deno", "mosquitto"];

export interface StartOptions {
  /** Mosquitto with its default max_queued_messages (otherwise 0: no limit). */
  mosquittoDefaults?: boolean;
  /** Extra `--set key=value` for Gannet. */
  gannetSet?: Record<string, string | number>;
  /** Extra lines for mosquitto.conf. */
  mosquittoLines?: string[];
}

export interface Running {
  port: number;
  pid: number;
  /** User + system CPU time the broker process has used so far. */
  cpuSeconds(): number;
  /** VmRSS of the broker process now. */
  residentBytes(): number;
  stop(): Promise<void>;
}

/** Spawns a broker and resolves once `ready(output)` is true (rejects on exit or after 15 s). */
function launch(
  cmd: string,
  args: string[],
  port: number,
  ready: (out: string) => boolean,
  cleanup = () => {},
  cwd = ROOT,
): Promise<Running> {
  return new Promise((res, rej) => {
    const child: ChildProcess = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
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
        res({ port, pid: child.pid!, stop, cpuSeconds: () => cpuSeconds(child.pid!), residentBytes: () => residentBytes(child.pid!) });
      }
    };
    child.stdout!.on("data", onOut);
    child.stderr!.on("data", onOut);
    child.once("exit", (code) => fail(new Error(`${cmd} exited with ${code} before ready:\n${out}`)));
    child.once("error", (e) => fail(e));
  });
}

export function mosquittoBinary(): string {
  const found = ["/usr/sbin/mosquitto", "mosquitto"].find((c) => spawnSync(c, ["-h"]).error === undefined);
  if (found) return found;
  const prep = spawnSync("bash", [join(ROOT, "test", "prepare.sh")], { stdio: "inherit" });
  if (prep.status !== 0) throw new Error("mosquitto is missing and test/prepare.sh could not install it");
  return "/usr/sbin/mosquitto";
}

export async function start(target: Target, o: StartOptions = {}): Promise<Running> {
  const port = await freePort();
  if (target === "mosquitto") {
    const dir = mkdtempSync(join(tmpdir(), "gannet-bench-"));
    const conf = join(dir, "mosquitto.conf");
    const lines = [`listener ${port} 127.0.0.1`, "allow_anonymous true", "persistence false"];
    if (!o.mosquittoDefaults) lines.push("max_queued_messages 0");
    lines.push(...(o.mosquittoLines ?? []));
    writeFileSync(conf, lines.join("\n") + "\n");
    return await launch(mosquittoBinary(), ["-c", conf], port, (out) => / running/.test(out), () => {
      rmSync(dir, { recursive: true, force: true });
    });
  }
  // Fan-in to a clean subscriber writes nothing to disk; the memory store keeps the run free of files.
  const common = [
    "--host", "127.0.0.1", "--port", String(port), "--ws-port", "off", "--log-format", "json",
    "--admin-port", "off", "--set", "persistence.store=memory",
    ...Object.entries(o.gannetSet ?? {}).flatMap(([k, v]) => ["--set", `${k}=${v}`]),
  ];
  const isReady = (out: string) => /"msg":"ready"/.test(out);
  // The runtimes' floor (bench/floor-server.ts): the same socket API with no broker behind it.
  if (target === "floor-bun") return await launch(BIN("bun"), ["bench/floor-server.ts", "--port", String(port)], port, isReady);
  if (target === "floor-deno") {
    return await launch(join(ROOT, "node_modules", "deno", "deno"), ["run", "--allow-net", "bench/floor-server.ts", "--port", String(port)], port, isReady);
  }
  if (target === "gannet-bun") return await launch(BIN("bun"), ["adapters/bun/main.ts", ...common], port, isReady, undefined, GANNET_ROOT);
  // The Deno binary itself: node_modules/.bin/deno is a Node wrapper that does not pass signals on.
  return await launch(
    join(ROOT, "node_modules", "deno", "deno"),
    ["run", "--allow-net", "--allow-read", "--allow-env", "--allow-sys", "adapters/deno/main.ts", ...common],
    port,
    isReady,
    undefined,
    GANNET_ROOT,
  );
}


/** utime + stime of a process, from /proc/<pid>/stat (clock ticks of 1/100 s on Linux). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function residentBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

export function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] ?? "";
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A markdown table with padded columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}
