/**
 * The single executables, built once by compile.ts into a temporary directory: the x86-64 one runs
 * natively and the ARM64 one under qemu-aarch64-static (Debian's qemu-user-static and
 * libc6-arm64-cross, installed by test/prepare.sh). Each starts from a directory without
 * node_modules with a YAML file, and must: do an MQTT publish/subscribe round trip, answer
 * /healthz, /readyz and the console page on the admin port, create its SQLite file, add a user
 * with the CLI that can then log in, and stop with exit 0 on SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { freePort, REPO_ROOT } from "../helpers/broker.ts";

const QEMU = "/usr/bin/qemu-aarch64-static";
const ARM64_SYSROOT = "/usr/aarch64-linux-gnu";
const out = mkdtempSync(join(tmpdir(), "gannet-exe-"));

beforeAll(() => {
  const r = spawnSync(join(REPO_ROOT, "node_modules", ".bin", "bun"), ["compile.ts", "--outdir", out], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    timeout: 240_000,
  });
  if (r.status !== 0) throw new Error(`compile.ts failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}, 250_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

test("SHA256SUMS lists both executables with their digests", () => {
  const lines = readFileSync(join(out, "SHA256SUMS"), "utf8").trim().split("\n");
  expect(lines.map((l) => l.split(/\s+/)[1]).sort()).toEqual(["gannet-linux-arm64", "gannet-linux-x64"]);
  for (const line of lines) {
    const [digest, name] = line.split(/\s+/);
    expect(createHash("sha256").update(readFileSync(join(out, name))).digest("hex")).toBe(digest);
  }
});

interface Started {
  child: ChildProcess;
  logs: () => string;
  exited: Promise<number | null>;
}

function start(cmd: string, args: string[], cwd: string): Started {
  const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { PATH: "/usr/bin:/bin" } });
  let text = "";
  child.stdout?.setEncoding("utf8").on("data", (c: string) => (text += c));
  child.stderr?.setEncoding("utf8").on("data", (c: string) => (text += c));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, logs: () => text, exited };
}

async function waitForLog(s: Started, re: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!re.test(s.logs())) {
    if (s.child.exitCode !== null) {
      await new Promise((r) => setTimeout(r, 200)); // let the last output arrive
      throw new Error(`exited (${s.child.exitCode}) before ${re}:\n${s.logs()}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}:\n${s.logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function roundTrip(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10_000, protocolVersion: 5 });
    const timer = setTimeout(() => {
      client.end(true);
      reject(new Error(`no round trip through ${url}`));
    }, 20_000);
    client.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    client.on("message", (_topic, payload) => {
      clearTimeout(timer);
      client.end();
      resolve(payload.toString());
    });
    client.on("connect", () => {
      client.subscribe("exe/test", { qos: 1 }, (err) => {
        if (err) reject(err);
        else client.publish("exe/test", "hello from the executable", { qos: 1 });
      });
    });
  });
}

const targets = [
  { name: "gannet-linux-x64", runner: [] as string[], startMs: 15_000 },
  { name: "gannet-linux-arm64", runner: [QEMU, "-L", ARM64_SYSROOT], startMs: 60_000 },
];

for (const target of targets) {
  describe(`${target.name}${target.runner.length ? " under qemu" : ""}`, () => {
    const work = mkdtempSync(join(tmpdir(), "gannet-exe-run-"));
    const binary = join(out, target.name);
    const cmd = (args: string[]): [string, string[]] =>
      target.runner.length ? [target.runner[0], [...target.runner.slice(1), binary, ...args]] : [binary, args];
    let running: Started | undefined;
    const ports = { tcp: 0, ws: 0, admin: 0 };

    beforeAll(async () => {
      if (target.runner.length && (!existsSync(QEMU) || !existsSync(ARM64_SYSROOT))) {
        throw new Error(`${QEMU} or ${ARM64_SYSROOT} is missing: run test/prepare.sh (qemu-user-static, libc6-arm64-cross)`);
      }
      ports.tcp = await freePort();
      ports.ws = await freePort();
      ports.admin = await freePort();
      writeFileSync(
        join(work, "gannet.yaml"),
        [
          "listeners:",
          `  - { kind: tcp, host: 127.0.0.1, port: ${ports.tcp} }`,
          `  - { kind: ws, host: 127.0.0.1, port: ${ports.ws}, path: /mqtt }`,
          "admin:",
          "  host: 127.0.0.1",
          `  port: ${ports.admin}`,
          "persistence:",
          `  path: ${join(work, "gannet.db")}`,
          "logging:",
          "  format: json",
          "mqtt:",
          "  allowAnonymous: true",
          "",
        ].join("\n"),
      );
      running = start(...cmd(["--config", join(work, "gannet.yaml")]), work);
      await waitForLog(running, /"msg":"ready"/, target.startMs);
    }, target.startMs + 5_000);

    afterAll(async () => {
      if (running && running.child.exitCode === null) running.child.kill("SIGKILL");
      rmSync(work, { recursive: true, force: true });
    });

    test("--version", () => {
      const [c, a] = cmd(["--version"]);
      const r = spawnSync(c, a, { encoding: "utf8", cwd: work, timeout: 30_000 });
      expect(r.stdout).toMatch(/^gannet \d+\.\d+\.\d+ \(bun \d/);
    }, 35_000);

    test("MQTT publish/subscribe round trip over TCP and WebSocket", async () => {
      expect(await roundTrip(`mqtt://127.0.0.1:${ports.tcp}`)).toBe("hello from the executable");
      expect(await roundTrip(`ws://127.0.0.1:${ports.ws}/mqtt`)).toBe("hello from the executable");
    }, 45_000);

    test("/healthz, /readyz and the console page (embedded in the executable)", async () => {
      const base = `http://127.0.0.1:${ports.admin}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: "ready" });
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toBe(readFileSync(join(REPO_ROOT, "web", "index.html"), "utf8"));
    }, 20_000);

    test("the SQLite file is created", () => {
      expect(existsSync(join(work, "gannet.db"))).toBe(true);
    });

    test("`gannet user add` (argon2id inside the executable) writes to the running broker's database; the user logs in", async () => {
      const [c, a] = cmd(["user", "add", "exe-user", "--config", join(work, "gannet.yaml")]);
      const r = spawnSync(c, a, { encoding: "utf8", cwd: work, input: "exe-password\n", timeout: 60_000 });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const outcome = (password: string) =>
        new Promise<number>((resolve) => {
          const client = mqtt.connect(`mqtt://127.0.0.1:${ports.tcp}`, {
            protocolVersion: 5, username: "exe-user", password, reconnectPeriod: 0, connectTimeout: 20_000,
          });
          client.once("connect", () => (client.end(true), resolve(0)));
          client.once("error", (e) => (client.end(true), resolve((e as { code?: number }).code ?? -1)));
        });
      expect(await outcome("exe-password")).toBe(0);
      expect(await outcome("wrong")).toBe(0x86);
    }, 90_000);

    test("SIGTERM: graceful stop, exit 0", async () => {
      running!.child.kill("SIGTERM");
      expect(await running!.exited).toBe(0);
      expect(running!.logs()).toContain('"msg":"stopped"');
    }, 30_000);
  });
}
