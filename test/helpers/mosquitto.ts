/**
 * Debian's Mosquitto (installed by test/prepare.sh) as the upstream broker of bridge tests: its own
 * generated configuration, a free 127.0.0.1 port that stays the same across restarts, persistence
 * in a temp directory (so a SIGTERM'd and restarted upstream keeps its sessions), and helpers to
 * stop, start, freeze (SIGSTOP) and thaw (SIGCONT) it. Killed when the test process exits.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, sleep } from "./broker.ts";

export interface MosquittoOptions {
  /** user -> password; when given, anonymous clients are refused. */
  users?: Record<string, string>;
  /** Extra mosquitto.conf lines (e.g. a bridge `connection` section for the benchmark). */
  extra?: string[];
  /** TLS listener: PEM file paths. */
  tls?: { cert: string; key: string };
}

export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  readonly running: boolean;
  logs(): string;
  /** SIGTERM (it saves its persistence file) and wait for the exit. */
  stop(): Promise<void>;
  /** Start again on the same port with the same persistence. */
  start(): Promise<void>;
  freeze(): void;
  thaw(): void;
  /** Stop and remove its files. */
  dispose(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), "gannet-mosquitto-"));
  // Started as root, Mosquitto drops to the `mosquitto` user, which must be able to save its database here.
  chmodSync(dir, 0o777);
  const port = await freePort();
  const lines = [
    `listener ${port} 127.0.0.1`,
    `persistence true`,
    `persistence_location ${dir}/`,
    `log_dest stderr`, // unbuffered: tests read it as it happens
    `log_type all`,
    `max_queued_messages 1000000`,
    `max_inflight_messages 100`,
  ];
  if (options.tls) lines.push(`certfile ${options.tls.cert}`, `keyfile ${options.tls.key}`);
  if (options.users) {
    const plain = Object.entries(options.users).map(([u, p]) => `${u}:${p}`).join("\n") + "\n";
    writeFileSync(join(dir, "passwd"), plain, { mode: 0o644 });
    // mosquitto_passwd -U hashes the plain passwords in place.
    const hashed = spawn("mosquitto_passwd", ["-U", join(dir, "passwd")]);
    await new Promise((resolve) => hashed.on("exit", resolve));
    lines.push(`allow_anonymous false`, `password_file ${join(dir, "passwd")}`);
  } else {
    lines.push(`allow_anonymous true`);
  }
  lines.push(...(options.extra ?? []));
  writeFileSync(join(dir, "mosquitto.conf"), lines.join("\n") + "\n");

  let child: ChildProcess | null = null;
  let output = "";
  const launch = async () => {
    const c = spawn("/usr/sbin/mosquitto", ["-c", join(dir, "mosquitto.conf")], { stdio: ["ignore", "pipe", "pipe"] });
    live.add(c);
    c.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    c.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    c.on("exit", () => live.delete(c));
    child = c;
    for (let i = 0; i < 100; i++) {
      if (c.exitCode !== null) throw new Error(`mosquitto exited at start:\n${output.slice(-3000)}`);
      if (await canConnect(port)) return;
      await sleep(50);
    }
    throw new Error(`mosquitto did not listen on ${port} within 5 s:\n${output.slice(-3000)}`);
  };
  const waitExit = (c: ChildProcess) =>
    c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => c.once("exit", () => resolve()));
  await launch();
  const m: Mosquitto = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? 0;
    },
    get running() {
      return child !== null && child.exitCode === null && child.signalCode === null;
    },
    logs: () => output,
    stop: async () => {
      if (!child || !m.running) return;
      const c = child;
      c.kill("SIGCONT");
      c.kill("SIGTERM");
      await waitExit(c);
    },
    start: async () => {
      if (m.running) return;
      await launch();
    },
    freeze: () => child?.kill("SIGSTOP"),
    thaw: () => child?.kill("SIGCONT"),
    dispose: async () => {
      if (child && m.running) {
        child.kill("SIGCONT");
        child.kill("SIGKILL");
        await waitExit(child);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return m;
}

/** The upstream as a connect target for the mqtt.js helpers in clients.ts. */
export function target(m: Mosquitto): { host: "127.0.0.1"; port: number; wsPort: number } {
  return { host: "127.0.0.1", port: m.port, wsPort: 0 };
}

/** A gannet.yaml with these bridges (YAML text of the list), in a temp directory; returns its path. */
export function bridgeConfigFile(bridgesYaml: string, extra = ""): string {
  const dir = mkdtempSync(join(tmpdir(), "gannet-bridge-"));
  const path = join(dir, "gannet.yaml");
  writeFileSync(path, `mqtt:\n  allowAnonymous: true\nbridges:\n${bridgesYaml}${extra}`);
  return path;
}
