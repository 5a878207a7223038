/** Runs the real `gannet` security commands (Bun or Deno, from source) and reads the database behind them. */
import { Database } from "bun:sqlite";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { REPO_ROOT, type Runtime } from "../helpers/broker.ts";

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function commandFor(runtime: Runtime): { cmd: string; args: string[] } {
  if (runtime === "bun") return { cmd: join(REPO_ROOT, "node_modules", ".bin", "bun"), args: ["adapters/bun/main.ts"] };
  return {
    cmd: join(REPO_ROOT, "node_modules", "deno", "deno"),
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-ffi",
      "--allow-sys",
      "adapters/deno/main.ts",
    ],
  };
}

/** The command line that runs gannet from source, from any directory (the script path is absolute). */
export function gannetCommand(runtime: Runtime, args: string[], user?: string): string[] {
  const { cmd, args: base } = commandFor(runtime);
  const full = [cmd, ...base.map((a) => (a.startsWith("adapters/") ? join(REPO_ROOT, a) : a)), ...args];
  // setpriv execs the command (runuser would stay in between and die of the signals meant for it).
  return user ? ["setpriv", `--reuid=${user}`, `--regid=${user}`, "--clear-groups", ...full] : full;
}

export interface GannetOptions {
  stdin?: string;
  env?: Record<string, string>;
  /** The working directory (default: the repository). */
  cwd?: string;
  /** Run as this user id (through setpriv; the test runs as root). */
  user?: string;
}

/** `gannet ARGS` under `runtime`, with `stdin` piped in (closed at once when undefined). */
export function gannet(runtime: Runtime, args: string[], options: GannetOptions = {}): Promise<RunResult> {
  const [cmd, ...full] = gannetCommand(runtime, args, options.user);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, full, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Uint8Array) => (stdout += new TextDecoder().decode(chunk)));
    child.stderr.on("data", (chunk: Uint8Array) => (stderr += new TextDecoder().decode(chunk)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}

/** Rows of `sql` in the database file, read with a separate connection (as an operator would). */
export function query(file: string, sql: string): Array<Record<string, unknown>> {
  const db = new Database(file, { readonly: true });
  try {
    return db.query(sql).all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
}

/** A Mosquitto password file made by the real mosquitto_passwd, next to `near`. */
export function mosquittoPasswd(near: string, users: Record<string, string>): string {
  const file = join(dirname(near), "mosquitto.passwd");
  let first = true;
  for (const [user, password] of Object.entries(users)) {
    const result = spawnSync("mosquitto_passwd", [...(first ? ["-c"] : []), "-b", file, user, password]);
    if (result.status !== 0) throw new Error(`mosquitto_passwd failed: ${result.stderr}`);
    first = false;
  }
  readFileSync(file, "utf8"); // exists
  return file;
}

export function writeText(near: string, name: string, text: string): string {
  const file = join(dirname(near), name);
  writeFileSync(file, text);
  return file;
}
