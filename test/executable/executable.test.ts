/**
 * The single executables, built once per test run by compile.ts (test/helpers/release-build.ts),
 * each run where this machine can:
 *   linux-x64                natively
 *   linux-x64-baseline       under qemu-x86_64-static -cpu Nehalem (a CPU model without AVX/AVX2)
 *   linux-arm64              under qemu-aarch64-static with Debian's arm64 glibc (libc6-arm64-cross)
 *   linux-x64-musl           with Debian's musl loader (test/helpers/musl-compat.ts for libstdc++)
 *   linux-x64-musl-baseline  the same, under qemu-x86_64-static -cpu Nehalem
 *   linux-arm64-musl         not run (no arm64 musl here): its ELF header and embedded runtime are checked
 * Each one that runs starts from a directory without node_modules with a YAML file, and must: do an
 * MQTT publish/subscribe round trip, answer /healthz, /readyz and the console page on the admin
 * port, create its SQLite file, add a user with the CLI that can then log in, and stop with exit 0 on
 * SIGTERM. Every executable embeds the Bun runtime of its npm package (same GNU build ID), and the
 * glibc ones need nothing newer than glibc 2.17 (what the README and the .deb's Depends promise).
 *
 * qemu-user 7.2 does not fault on AVX2 instructions even with -cpu Nehalem, so the baseline runs
 * show the executables start and serve under that CPU model, not that they never use AVX2; that
 * rests on the build ID check (the runtime is Bun's -baseline build).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import mqtt from "mqtt";
import { migrations } from "../../src/store/sqlite/migrations.ts";
import { freePort, REPO_ROOT } from "../helpers/broker.ts";
import { muslLibraryPath } from "../helpers/musl-compat.ts";
import { releaseBuild, runtimeOf } from "../helpers/release-build.ts";

const QEMU_ARM64 = "/usr/bin/qemu-aarch64-static";
const QEMU_X64 = "/usr/bin/qemu-x86_64-static";
const ARM64_SYSROOT = "/usr/aarch64-linux-gnu";
let out = "";
let muslLibs = "";

beforeAll(async () => {
  out = await releaseBuild();
  muslLibs = muslLibraryPath();
}, 620_000);

afterAll(() => rmSync(muslLibs, { recursive: true, force: true }));

const ALL = [
  "gannet-linux-arm64",
  "gannet-linux-arm64-musl",
  "gannet-linux-x64",
  "gannet-linux-x64-baseline",
  "gannet-linux-x64-musl",
  "gannet-linux-x64-musl-baseline",
];

test("SHA256SUMS lists every executable and release artefact with its digest", () => {
  const lines = readFileSync(join(out, "SHA256SUMS"), "utf8").trim().split("\n");
  const names = lines.map((l) => l.split(/\s+/)[1]);
  for (const name of ALL) expect(names).toContain(name);
  for (const name of ALL.map((n) => n.replace("gannet-", "gannet-0.1.0-") + ".tar.gz")) expect(names).toContain(name);
  expect(names).toContain("gannet_0.1.0_amd64.deb");
  expect(names).toContain("gannet_0.1.0_arm64.deb");
  for (const line of lines) {
    const [digest, name] = line.split(/\s+/);
    expect(createHash("sha256").update(readFileSync(join(out, name))).digest("hex")).toBe(digest);
  }
});

// Two tarballs unpacked (each is ~100 MB; the others are built by the same code and listed in SHA256SUMS).
test("a tarball holds the executable, example config, unit, README excerpt and their SHA256SUMS", () => {
  for (const name of ["gannet-linux-x64-baseline", "gannet-linux-arm64-musl"]) {
    const target = name.replace("gannet-", "");
    const dir = mkdtempSync(join(tmpdir(), "gannet-tarball-"));
    try {
      const r = spawnSync("tar", ["-xzf", join(out, `gannet-0.1.0-${target}.tar.gz`), "-C", dir], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      const top = join(dir, `gannet-0.1.0-${target}`);
      const check = spawnSync("sha256sum", ["--check", "--strict", "SHA256SUMS"], { cwd: top, encoding: "utf8" });
      expect(check.stdout.trim().split("\n").sort()).toEqual(
        ["README.md: OK", "gannet.example.yaml: OK", "gannet.service: OK", "gannet: OK"],
      );
      expect(readFileSync(join(top, "gannet")).equals(readFileSync(join(out, name)))).toBe(true);
      expect(readFileSync(join(top, "gannet.example.yaml"), "utf8")).toBe(readFileSync(join(REPO_ROOT, "packaging", "gannet.example.yaml"), "utf8"));
      expect(readFileSync(join(top, "gannet.service"), "utf8")).toBe(readFileSync(join(REPO_ROOT, "packaging", "systemd", "gannet.service"), "utf8"));
      const readme = readFileSync(join(top, "README.md"), "utf8");
      expect(readme).toStartWith("# Gannet 0.1.0");
      expect(readme).toContain("## Install on a gateway");
      expect(readme).not.toContain("## Benchmarks");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}, 120_000);

const readelf = (args: string[], file: string) => {
  const r = spawnSync("readelf", [...args, file], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`readelf ${args.join(" ")} ${file} failed: ${r.stderr} (binutils: test/prepare.sh)`);
  return r.stdout;
};
const buildId = (file: string) => /Build ID: ([0-9a-f]+)/.exec(readelf(["-n"], file))?.[1];

const RUNTIME_PACKAGES: Record<string, string> = {
  "gannet-linux-x64": "@oven/bun-linux-x64",
  "gannet-linux-x64-baseline": "@oven/bun-linux-x64-baseline",
  "gannet-linux-arm64": "@oven/bun-linux-aarch64",
  "gannet-linux-x64-musl": "@oven/bun-linux-x64-musl",
  "gannet-linux-x64-musl-baseline": "@oven/bun-linux-x64-musl-baseline",
  "gannet-linux-arm64-musl": "@oven/bun-linux-aarch64-musl",
};

describe("what each executable is built on", () => {
  for (const name of ALL) {
    test(`${name} embeds the runtime of ${RUNTIME_PACKAGES[name]} (same build ID), for the right CPU and C library`, () => {
      const file = join(out, name);
      expect(buildId(file)).toBe(buildId(runtimeOf(RUNTIME_PACKAGES[name]))!);
      const header = readelf(["-h", "-l"], file);
      expect(header).toContain(name.includes("arm64") ? "AArch64" : "Advanced Micro Devices X86-64");
      const interpreter = /program interpreter: ([^\]]+)\]/.exec(header)?.[1];
      if (name.endsWith("musl") || name.endsWith("musl-baseline")) {
        expect(interpreter).toBe(name.includes("arm64") ? "/lib/ld-musl-aarch64.so.1" : "/lib/ld-musl-x86_64.so.1");
      } else {
        expect(interpreter).toBe(name.includes("arm64") ? "/lib/ld-linux-aarch64.so.1" : "/lib64/ld-linux-x86-64.so.2");
        const versions = [...readelf(["--dyn-syms", "-W"], file).matchAll(/@GLIBC_(\d+)\.(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
        expect(versions.length).toBeGreaterThan(0);
        const newest = versions.reduce((a, b) => (a[0] * 1000 + a[1] >= b[0] * 1000 + b[1] ? a : b));
        expect(`glibc ${newest.join(".")}`).toBe("glibc 2.17");
      }
    });
  }
});

interface Started {
  child: ChildProcess;
  logs: () => string;
  exited: Promise<number | null>;
}

function start(cmd: string, args: string[], cwd: string, env: Record<string, string>): Started {
  const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env });
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

// The musl executables run directly: their ELF interpreter is Debian's musl loader (under qemu too).
// x64-musl-baseline: Bun 1.4.5's -musl-baseline runtime is byte for byte its -musl one (tested in
// full natively), so under qemu it gets the short run (no CLI: argon2id under emulation takes ~20 s).
const targets = [
  { name: "gannet-linux-x64", runner: [] as string[], musl: false, full: true, startMs: 15_000 },
  { name: "gannet-linux-x64-baseline", runner: [QEMU_X64, "-cpu", "Nehalem"], musl: false, full: true, startMs: 60_000 },
  { name: "gannet-linux-arm64", runner: [QEMU_ARM64, "-L", ARM64_SYSROOT], musl: false, full: true, startMs: 60_000 },
  { name: "gannet-linux-x64-musl", runner: [] as string[], musl: true, full: true, startMs: 15_000 },
  { name: "gannet-linux-x64-musl-baseline", runner: [QEMU_X64, "-cpu", "Nehalem"], musl: true, full: false, startMs: 60_000 },
];

for (const target of targets) {
  describe(`${target.name}${target.runner.length ? ` under ${target.runner.join(" ")}` : ""}`, () => {
    const work = mkdtempSync(join(tmpdir(), "gannet-exe-run-"));
    const binary = () => join(out, target.name);
    const cmd = (args: string[]): [string, string[]] =>
      target.runner.length ? [target.runner[0], [...target.runner.slice(1), binary(), ...args]] : [binary(), args];
    const env = (): Record<string, string> => ({ PATH: "/usr/bin:/bin", ...(target.musl ? { LD_LIBRARY_PATH: muslLibs } : {}) });
    let running: Started | undefined;
    const ports = { tcp: 0, ws: 0, admin: 0 };

    beforeAll(async () => {
      for (const needed of [...target.runner.slice(0, 1), ...(target.runner.includes(ARM64_SYSROOT) ? [ARM64_SYSROOT] : [])]) {
        if (!existsSync(needed)) throw new Error(`${needed} is missing: run test/prepare.sh (qemu-user-static, libc6-arm64-cross)`);
      }
      // Other jobs on the machine may take a free port before the (slow, emulated) start binds it: retry.
      for (let attempt = 1; ; attempt++) {
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
        running = start(...cmd(["--config", join(work, "gannet.yaml")]), work, env());
        try {
          await waitForLog(running, /"msg":"ready"/, target.startMs);
          return;
        } catch (e: unknown) {
          const taken = /Failed to listen|in use/i.test(running.logs());
          if (!taken || attempt === 3) throw e;
        }
      }
    }, 3 * target.startMs + 5_000);

    afterAll(() => {
      if (running && running.child.exitCode === null) running.child.kill("SIGKILL");
      rmSync(work, { recursive: true, force: true });
    });

    test("--version", () => {
      const [c, a] = cmd(["--version"]);
      const r = spawnSync(c, a, { encoding: "utf8", cwd: work, timeout: 30_000, env: env() });
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
      expect(await page.text()).toBe(readFileSync(join(REPO_ROOT, "web", "dist", "index.html"), "utf8"));
    }, 20_000);

    test("the SQLite file is created", () => {
      expect(existsSync(join(work, "gannet.db"))).toBe(true);
    });

    if (target.full) test("`gannet user add` (argon2id inside the executable) writes to the running broker's database; the user logs in", async () => {
      const [c, a] = cmd(["user", "add", "exe-user", "--config", join(work, "gannet.yaml")]);
      const r = spawnSync(c, a, { encoding: "utf8", cwd: work, input: "exe-password\n", timeout: 60_000, env: env() });
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

    if (target.name === "gannet-linux-x64") {
      test("a database written by a newer Gannet: refused, exit 1, with the way back (the copy made before migrating)", async () => {
        const db = join(work, "gannet.db");
        const raw = new Database(db);
        raw.run("INSERT INTO gannet_migrations (id, applied_at) VALUES ('9999_from_a_newer_gannet', 1)");
        raw.close();
        const again = start(...cmd(["--config", join(work, "gannet.yaml")]), work, env());
        expect(await again.exited).toBe(1);
        const newest = migrations.at(-1)!.id;
        expect(again.logs()).toContain("9999_from_a_newer_gannet");
        expect(again.logs()).toContain(`move ${db}.${newest}.bak over ${db}, delete ${db}-wal and ${db}-shm`);
      }, 30_000);
    }
  });
}
