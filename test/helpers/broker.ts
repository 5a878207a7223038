/**
 * Test harness: starts the real Gannet broker as a child process (under Bun or Deno) on free
 * 127.0.0.1 ports and waits until it logs `{"msg":"ready"}`. Uses only node:* APIs so it works
 * from `bun test`, `deno test` and node alike. Every started broker is killed when the test
 * process exits.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export type Runtime = "bun" | "deno";

const ALL_RUNTIMES: Runtime[] = ["bun", "deno"];

function runtimesFromEnv(): Runtime[] {
  const raw = (typeof process !== "undefined" ? process.env.GANNET_TEST_RUNTIMES : undefined)?.trim();
  if (!raw) return [...ALL_RUNTIMES];
  const wanted = raw.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const w of wanted) {
    if (!ALL_RUNTIMES.includes(w as Runtime)) {
      throw new Error(`GANNET_TEST_RUNTIMES: unknown runtime "${w}" (expected bun and/or deno)`);
    }
  }
  return ALL_RUNTIMES.filter((r) => wanted.includes(r));
}

/** Runtimes under test: both by default; env GANNET_TEST_RUNTIMES="bun" (comma list) narrows it. */
export const RUNTIMES: Runtime[] = runtimesFromEnv();

export interface RunningBroker {
  runtime: Runtime;
  port: number;
  wsPort: number;
  host: "127.0.0.1";
  /** The broker process (the runtime binary itself, not a wrapper). */
  pid: number;
  /** True once the process has exited. */
  readonly exited: boolean;
  /** Resident memory of the broker process now, in bytes (VmRSS from /proc). */
  residentBytes(): number;
  /** How many file descriptors the broker process has open now (/proc/<pid>/fd). */
  openFileCount(): number;
  /** stdout+stderr so far. */
  logs(): string;
  /** Resolves with the first log line (from the start of the logs) matching `re`. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, wait for exit (SIGKILL after 5 s); resolves with the exit code (null if killed by a signal). */
  stop(): Promise<number | null>;
  /** Send a signal (default SIGKILL) and wait for the process to exit. */
  kill(signal?: string): Promise<void>;
  /** Send a signal and return at once (SIGHUP: reload). */
  sendSignal(signal: string): void;
  /** A full garbage collection in the broker (started with `gcOnSignal`); its JavaScript heap after it. */
  collectGarbage(): Promise<{ heapUsed: number }>;
}

export interface StartBrokerOptions {
  runtime: Runtime;
  /** Each entry becomes `--set key=value`. */
  set?: Record<string, string | number | boolean>;
  /** Extra command-line arguments, appended last. */
  args?: string[];
  /**
   * The SQLite file (persistence.path). Default: a fresh file in a temp directory per broker, so
   * tests never share state; start a second broker with the same file to test a restart.
   */
  database?: string;
  /** Run the broker with this open files limit (soft and hard, set by util-linux prlimit, which then execs it). */
  openFiles?: number;
  /** Extra environment variables for the broker process (e.g. NOTIFY_SOCKET). */
  env?: Record<string, string>;
  /** Preload test/helpers/gc-on-signal.ts, for collectGarbage(). */
  gcOnSignal?: boolean;
}

/** A path for a new, empty database file (its directory is removed when the test process exits). */
export function tempDatabase(name = "gannet"): string {
  const dir = mkdtempSync(join(tmpdir(), "gannet-test-"));
  tempDirs.push(dir);
  return join(dir, `${name}.db`);
}

const tempDirs: string[] = [];
process.on("exit", () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Repository root (this file lives in test/helpers/). */
export const REPO_ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;
const MAX_START_ATTEMPTS = 4;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const child of live) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    live.clear();
  };
  process.on("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1));
    });
  }
}

/** A free TCP port on 127.0.0.1, found by binding port 0 and closing. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolvePort(port) : reject(new Error("could not get a free port"))));
    });
  });
}

async function twoFreePorts(): Promise<[number, number]> {
  for (;;) {
    const a = await freePort();
    const b = await freePort();
    if (a !== b) return [a, b];
  }
}

function commandFor(runtime: Runtime, gcOnSignal = false): { cmd: string; args: string[] } {
  const bin = (name: string) => join(REPO_ROOT, "node_modules", ".bin", name);
  const preload = gcOnSignal ? ["--preload", join(REPO_ROOT, "test", "helpers", "gc-on-signal.ts")] : [];
  if (runtime === "bun") return { cmd: bin("bun"), args: [...preload, "adapters/bun/main.ts"] };
  return {
    // The real binary, not node_modules/.bin/deno: that is a Node wrapper which does not pass
    // signals on, so a SIGKILL or SIGTERM would leave the broker running without its parent.
    cmd: join(REPO_ROOT, "node_modules", "deno", "deno"),
    args: [
      "run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-ffi", "--allow-sys", "--allow-run=systemd-notify",
      ...(gcOnSignal ? ["--v8-flags=--expose-gc", ...preload] : []),
      "adapters/deno/main.ts",
    ],
  };
}

/**
 * A port taken between our probe and the bind. Bun's listen() says only "Failed to listen at <host>"
 * (seen when another job on the machine took the port while a persistence suite restarted a broker).
 */
const ADDR_IN_USE = /EADDRINUSE|address (is )?already in use|AddrInUse|address in use|Failed to listen at/i;

function isReadyLine(line: string): boolean {
  const t = line.trim();
  if (!t.startsWith("{")) return false;
  try {
    const obj = JSON.parse(t) as { msg?: unknown };
    return obj.msg === "ready";
  } catch {
    return false;
  }
}

class BrokerProcess implements RunningBroker {
  readonly host = "127.0.0.1" as const;
  private out = "";
  private stdoutPartial = "";
  private waiters: Array<() => void> = [];
  private exitCode: number | null | undefined = undefined; // undefined = still running
  private exitSignal: string | null = null;
  private exitPromise: Promise<void>;

  constructor(
    readonly runtime: Runtime,
    readonly port: number,
    readonly wsPort: number,
    readonly child: ChildProcess,
  ) {
    child.stdout?.setEncoding("utf8");
    child.stderr?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      this.out += chunk;
      this.stdoutPartial += chunk;
      this.notify();
    });
    child.stderr?.on("data", (chunk: string) => {
      this.out += chunk;
      this.notify();
    });
    this.exitPromise = new Promise((res) => {
      child.once("exit", (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        live.delete(child);
        this.notify();
        res();
      });
      child.once("error", (err) => {
        this.out += `\n[harness] spawn error: ${err.message}\n`;
        if (this.exitCode === undefined) this.exitCode = null;
        live.delete(child);
        this.notify();
        res();
      });
    });
  }

  get exited(): boolean {
    return this.exitCode !== undefined;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  openFileCount(): number {
    return readdirSync(`/proc/${this.pid}/fd`).length;
  }

  residentBytes(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, "utf8");
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(status);
    if (!kib) throw new Error(`no VmRSS in /proc/${this.pid}/status`);
    return Number(kib[1]) * 1024;
  }

  private notify(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  private changed(): Promise<void> {
    return new Promise((res) => this.waiters.push(res));
  }

  logs(): string {
    return this.out;
  }

  stdoutLines(): string[] {
    return this.stdoutPartial.split("\n");
  }

  async waitForLog(re: RegExp, timeoutMs = 5_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.out.split("\n")) {
        re.lastIndex = 0;
        if (re.test(line)) return line;
      }
      if (this.exited) {
        throw new Error(`broker (${this.runtime}) exited before logging ${re}; logs:\n${this.out}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for log ${re}; logs:\n${tail(this.out)}`);
      await Promise.race([this.changed(), sleep(Math.min(left, 250))]);
    }
  }

  /** Wait until the ready line, the process exits, or the timeout. */
  async waitReady(timeoutMs: number): Promise<"ready" | "exited" | "timeout"> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.stdoutLines().some(isReadyLine)) return "ready";
      if (this.exited) return "exited";
      const left = deadline - Date.now();
      if (left <= 0) return "timeout";
      await Promise.race([this.changed(), sleep(Math.min(left, 250))]);
    }
  }

  async stop(): Promise<number | null> {
    if (!this.exited) {
      try {
        this.child.kill("SIGTERM");
      } catch {
        // gone
      }
      const timer = setTimeout(() => {
        try {
          this.child.kill("SIGKILL");
        } catch {
          // gone
        }
      }, STOP_GRACE_MS);
      await this.exitPromise;
      clearTimeout(timer);
    }
    return this.exitCode ?? null;
  }

  sendSignal(signal: string): void {
    this.child.kill(signal as NodeJS.Signals);
  }

  private collections = 0;

  async collectGarbage(): Promise<{ heapUsed: number }> {
    this.collections++;
    this.sendSignal("SIGUSR2");
    const line = await this.waitForLog(new RegExp(`"test: full garbage collection ${this.collections}"`));
    return { heapUsed: Number(JSON.parse(line).heapUsed) };
  }

  async kill(signal = "SIGKILL"): Promise<void> {
    if (this.exited) return;
    try {
      this.child.kill(signal as NodeJS.Signals);
    } catch {
      // gone
    }
    await this.exitPromise;
  }

  get signal(): string | null {
    return this.exitSignal;
  }
}

function tail(text: string, max = 8_000): string {
  return text.length > max ? "…" + text.slice(-max) : text;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

/** Start a broker and wait until it is ready (throws with the logs on failure). */
export async function startBroker(opts: StartBrokerOptions): Promise<RunningBroker> {
  installExitHook();
  const { cmd, args: base } = commandFor(opts.runtime, opts.gcOnSignal);
  const database = opts.database ?? tempDatabase();
  let lastError = "";
  for (let attempt = 1; attempt <= MAX_START_ATTEMPTS; attempt++) {
    const [port, wsPort] = await twoFreePorts();
    const args = [
      ...base,
      "--host", "127.0.0.1",
      "--port", String(port),
      "--ws-port", String(wsPort),
      "--log-format", "json",
      "--log-level", "debug",
      "--admin-port", "off", // tests that need it pass --admin-port in `args`, which come last
    ];
    args.push("--set", `persistence.path=${database}`);
    for (const [key, value] of Object.entries(opts.set ?? {})) args.push("--set", `${key}=${String(value)}`);
    if (opts.args) args.push(...opts.args);

    const limited = opts.openFiles === undefined ? [cmd, ...args] : ["prlimit", `--nofile=${opts.openFiles}`, "--", cmd, ...args];
    const child = spawn(limited[0], limited.slice(1), {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", ...opts.env },
    });
    live.add(child);
    const broker = new BrokerProcess(opts.runtime, port, wsPort, child);
    const state = await broker.waitReady(READY_TIMEOUT_MS);
    if (state === "ready") return broker;

    const logs = broker.logs();
    await broker.kill("SIGKILL");
    if (ADDR_IN_USE.test(logs) && attempt < MAX_START_ATTEMPTS) {
      lastError = logs;
      continue; // someone took the port between our probe and the bind: try new ports
    }
    const why = state === "timeout"
      ? `did not log {"msg":"ready"} within ${READY_TIMEOUT_MS} ms`
      : `exited (code ${String(broker["exitCode"])}, signal ${broker.signal}) before ready`;
    throw new Error(`gannet (${opts.runtime}) ${why}\ncommand: ${cmd} ${args.join(" ")}\nlogs:\n${tail(logs)}`);
  }
  throw new Error(`gannet (${opts.runtime}) could not bind free ports after ${MAX_START_ATTEMPTS} attempts; last logs:\n${tail(lastError)}`);
}
