/**
 * Builds the single executables and, with --release, the release artefacts: `bun run compile [-- options]`.
 *
 *   dist/gannet-linux-x64             glibc 2.17+, x86-64 CPU with AVX2 (Haswell, 2013, or later)
 *   dist/gannet-linux-x64-baseline    glibc 2.17+, any x86-64 CPU since Nehalem (2008): Atom, Celeron...
 *   dist/gannet-linux-arm64           glibc 2.17+, ARMv8-A (64-bit)
 *   dist/gannet-linux-x64-musl        musl (Alpine), with libstdc++ and libgcc installed (README: which executable)
 *   dist/gannet-linux-x64-musl-baseline
 *   dist/gannet-linux-arm64-musl
 *   dist/SHA256SUMS                   every file above (and the release artefacts below)
 * With --release (packaging/release.ts):
 *   dist/gannet-<version>-<target>.tar.gz   executable, example config, systemd unit, README excerpt, SHA256SUMS
 *   dist/gannet_<version>_amd64.deb         the x64-baseline executable (Debian's amd64 baseline has no AVX2)
 *   dist/gannet_<version>_arm64.deb
 *
 * Each executable is `Bun.build` with `compile` (the API form of `bun build --compile --minify --bytecode
 * --format=esm`) of adapters/bun/main.ts with the console (web/dist, built first by scripts/build-web.ts)
 * embedded as assets (read back through Bun.embeddedFiles), and the plugin scripts/lean-executable.ts,
 * which keeps mqtt-packet's unused `debug` and readable-stream out of the executable.
 *
 * Three build options keep the idle executable small (bench/executable-rss.ts, README "Idle memory of
 * the executable"):
 * - `jitPolicy` (START_JIT_POLICY): JavaScriptCore's tier-up thresholds are raised while the broker
 *   starts, so run-once start-up code (schemas, migrations) does not page in the JIT compilers;
 *   adapters/bun/main.ts restores the normal policy at the first connection (in or out).
 * - `splitting`: dynamically imported code (the admin app, the CLI's security commands, hash-wasm,
 *   the remote libSQL client) is a chunk of its own, read only when imported.
 * - `bytecodeOrder`: before the real builds, a probe build of the host's target is started twice in an
 *   empty directory (the second start, with the database present, is every later boot of a gateway)
 *   with BUN_BYTECODE_ORDER_OUT; the recorded profile puts the bytecode a start uses together, so
 *   fewer pages of the embedded bundle are read. One profile fits every target; it changes only the
 *   layout, never what runs. --no-bytecode-order skips it.
 *
 * Bun never downloads a runtime here: every target gets --compile-executable-path, the runtime from the
 * npm package @oven/bun-linux-<target> at exactly this Bun's version, fetched once with `npm pack` into
 * .cache/bun-runtimes/ (npm checks its integrity; npm would refuse to *install* a foreign-CPU
 * package without --force, `npm pack` does not care). Not this Bun itself, even for the host's
 * target: which build the `bun` npm package installed (it may pick -baseline) must not change the result.
 *
 * Options:
 *   --target LIST                        comma-separated targets, or all (default all)
 *   --release                            also the tarballs and .deb packages (needs dpkg-deb)
 *   --quick-packages                     with --release: gzip -1 tarballs, uncompressed .debs (tests)
 *   --no-bytecode                        skip --bytecode (slower start, see --measure)
 *   --no-bytecode-order                  skip recording the start-up profile (bytecodeOrder)
 *   --outdir DIR                         default dist
 *   --measure                            also build x64 without bytecode and print start-up times,
 *                                        sizes and idle RSS of both (x64 host only)
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { arch, tmpdir } from "node:os";
import { basename, join, relative, resolve } from "node:path";
import { buildRelease } from "./packaging/release.ts";
import { buildWeb } from "./scripts/build-web.ts";
import { leanExecutable } from "./scripts/lean-executable.ts";

const ROOT = import.meta.dir;
const ENTRY = "adapters/bun/main.ts";

export const TARGETS = {
  "linux-x64": { bunTarget: "bun-linux-x64", npmPackage: "@oven/bun-linux-x64" },
  "linux-x64-baseline": { bunTarget: "bun-linux-x64-baseline", npmPackage: "@oven/bun-linux-x64-baseline" },
  "linux-arm64": { bunTarget: "bun-linux-arm64", npmPackage: "@oven/bun-linux-aarch64" },
  "linux-x64-musl": { bunTarget: "bun-linux-x64-musl", npmPackage: "@oven/bun-linux-x64-musl" },
  "linux-x64-musl-baseline": { bunTarget: "bun-linux-x64-musl-baseline", npmPackage: "@oven/bun-linux-x64-musl-baseline" },
  "linux-arm64-musl": { bunTarget: "bun-linux-arm64-musl", npmPackage: "@oven/bun-linux-aarch64-musl" },
} as const;
export type Target = keyof typeof TARGETS;
const ALL_TARGETS = Object.keys(TARGETS) as Target[];
const isTarget = (name: string): name is Target => Object.hasOwn(TARGETS, name);

interface Options {
  targets: Target[];
  bytecode: boolean;
  bytecodeOrder: boolean;
  outdir: string;
  measure: boolean;
  release: boolean;
  quickPackages: boolean;
}

function fail(message: string): never {
  console.error(`compile.ts: ${message}`);
  process.exit(1);
}

function parseOptions(argv: string[]): Options {
  const options: Options = { targets: ALL_TARGETS, bytecode: true, bytecodeOrder: true, outdir: "dist", measure: false, release: false, quickPackages: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--no-bytecode") options.bytecode = false;
    else if (arg === "--no-bytecode-order") options.bytecodeOrder = false;
    else if (arg === "--measure") options.measure = true;
    else if (arg === "--release") options.release = true;
    else if (arg === "--quick-packages") options.quickPackages = true;
    else if (arg === "--outdir") options.outdir = argv[++i] ?? fail("--outdir needs a directory");
    else if (arg === "--target") {
      const list = argv[++i] ?? fail("--target needs a list of targets or all");
      if (list === "all") options.targets = ALL_TARGETS;
      else {
        options.targets = list.split(",").map((t) =>
          isTarget(t) ? t : fail(`--target: unknown target ${JSON.stringify(t)}; expected all or a list of ${ALL_TARGETS.join(", ")}`)
        );
      }
    } else fail(`unknown option ${JSON.stringify(arg)}`);
  }
  return options;
}

function run(cmd: string, args: string[], cwd = ROOT): void {
  const result = spawnSync(cmd, args, { cwd, stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) fail(`${cmd} ${args.join(" ")} failed (exit ${String(result.status ?? result.signal)})`);
}

/** The Bun runtime for `target` at this Bun's version (never downloaded by Bun itself). */
export function runtimeFor(target: Target): string {
  const { npmPackage } = TARGETS[target];
  const version = Bun.version;
  const dir = join(ROOT, ".cache", "bun-runtimes", `${basename(npmPackage)}-${version}`);
  const bin = join(dir, "package", "bin", "bun");
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  console.log(`fetching ${npmPackage}@${version} (the ${target} Bun runtime) with npm pack ...`);
  run("npm", ["pack", `${npmPackage}@${version}`, "--pack-destination", dir, "--silent"]);
  const tarball = readdirSync(dir).find((name) => name.endsWith(".tgz")) ?? fail(`npm pack left no tarball in ${dir}`);
  run("tar", ["-xzf", join(dir, tarball), "-C", dir]);
  rmSync(join(dir, tarball));
  if (!existsSync(bin)) fail(`${npmPackage}@${version} has no package/bin/bun`);
  chmodSync(bin, 0o755);
  return bin;
}

/**
 * The executable starts with JavaScriptCore's tier-up thresholds multiplied by this: start-up code
 * runs once and stays in the interpreter instead of paging in the JIT compilers (about 5 MiB of idle
 * RSS, 2026-12-07). adapters/bun/main.ts sets the normal policy (1) at the first connection.
 */
const START_JIT_POLICY = 1000;

async function build(target: Target, outfile: string, bytecode: boolean, bytecodeOrder?: string): Promise<void> {
  const started = performance.now();
  const result = await Bun.build({
    entrypoints: [join(ROOT, ENTRY)],
    root: ROOT,
    minify: true,
    // What is imported dynamically (the admin app, the CLI's security commands, hash-wasm, the remote
    // libSQL client) goes into chunks of its own, loaded when first imported: code that is in the
    // executable's main module costs resident memory even when it never runs.
    splitting: true,
    bytecode,
    format: "esm",
    plugins: [leanExecutable],
    compile: {
      target: TARGETS[target].bunTarget,
      executablePath: runtimeFor(target),
      outfile,
      // A broker on a gateway must not pick up a .env or bunfig.toml from whatever directory it starts in.
      autoloadDotenv: false,
      autoloadBunfig: false,
      assets: [join(ROOT, "web", "dist")],
      jitPolicy: START_JIT_POLICY,
      bytecodeOrder: bytecode && bytecodeOrder,
    },
  });
  if (!result.success) fail(`bun build of ${target} failed:\n${result.logs.map(String).join("\n")}`);
  console.log(`built ${relative(ROOT, outfile)} (${mib(statSync(outfile).size)}) in ${Math.round(performance.now() - started)} ms`);
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const mibNumber = (bytes: number) => Math.round(bytes / 1024 / 1024 * 10) / 10;

function sizes(path: string): { sizeMiB: number; gzipMiB: number } {
  const bytes = readFileSync(path);
  return { sizeMiB: mibNumber(bytes.length), gzipMiB: mibNumber(Bun.gzipSync(bytes, { level: 9 }).length) };
}

export function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/**
 * The bytecode a start of the broker uses, recorded with a probe build of the host's target (see the
 * header): a first start creates the database, the second one (every later boot) is recorded.
 */
async function recordBytecodeOrder(outdir: string): Promise<string> {
  const host = arch() === "x64" ? "linux-x64" : arch() === "arm64" ? "linux-arm64" : undefined;
  if (!host) fail(`recording the start-up profile needs an x86-64 or ARM64 Linux host (this is ${arch()}); use --no-bytecode-order`);
  const dir = join(outdir, ".bytecode-order");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const probe = join(dir, "gannet");
  await build(host, probe, true);
  const profile = join(dir, "start.order");
  await startOnce(probe, dir, 0);
  await startOnce(probe, dir, 1000, { BUN_BYTECODE_ORDER_OUT: profile });
  if (!existsSync(profile)) fail(`the probe build wrote no start-up profile (${relative(ROOT, profile)}); use --no-bytecode-order to build without one`);
  return profile;
}

/** Milliseconds from spawn to the "ready" log line, and the RSS (KiB) after `idleMs` idle. */
function startOnce(binary: string, dir: string, idleMs: number, env: Record<string, string> = {}): Promise<{ readyMs: number; rssKiB: number }> {
  return new Promise<{ readyMs: number; rssKiB: number }>((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(binary, ["--host", "127.0.0.1", "--port", "0", "--ws-port", "0", "--admin-port", "0",
      "--log-format", "json", "--set", "sys.interval=0", "--set", `persistence.path=${join(dir, "gannet.db")}`], {
      stdio: ["ignore", "pipe", "pipe"], // stderr too: the first start's warn line shows the new admin password
      cwd: dir,
      env: { ...process.env, ...env },
    });
    let out = "";
    let readyMs = -1;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => void (out += chunk));
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
      if (readyMs < 0 && out.includes('"msg":"ready"')) {
        readyMs = performance.now() - started;
        setTimeout(() => {
          const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
          const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
          child.kill("SIGTERM");
          child.once("exit", () => resolvePromise({ readyMs, rssKiB }));
        }, idleMs);
      }
    });
    child.once("exit", (code) => readyMs < 0 && reject(new Error(`${binary} exited (${code}) before ready:\n${out}`)));
  });
}

const median = (values: number[]) => Math.round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]);

/**
 * Median milliseconds to `--version` (load and evaluate the bundle) and to the "ready" line (with an
 * existing SQLite file, after one warm-up start that creates it), and the RSS after 3 s idle.
 */
async function measure(binary: string, runs = 7): Promise<{ versionMs: number; readyMs: number; idleRssMiB: number }> {
  const versions: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    spawnSync(binary, ["--version"], { stdio: "ignore" });
    versions.push(performance.now() - started);
  }
  const dir = mkdtempSync(join(tmpdir(), "gannet-measure-"));
  try {
    await startOnce(binary, dir, 0);
    const ready: number[] = [];
    let rss = 0;
    for (let i = 0; i < runs; i++) {
      const result = await startOnce(binary, dir, i === runs - 1 ? 3000 : 0);
      ready.push(result.readyMs);
      rss = result.rssKiB;
    }
    return { versionMs: median(versions), readyMs: median(ready), idleRssMiB: Math.round(rss / 102.4) / 10 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const outdir = resolve(ROOT, options.outdir);
  try {
    await buildAll(options, outdir);
  } finally {
    rmSync(join(outdir, ".bytecode-order"), { recursive: true, force: true });
  }
}

async function buildAll(options: Options, outdir: string): Promise<void> {
  mkdirSync(outdir, { recursive: true });
  await buildWeb();
  const order = options.bytecode && options.bytecodeOrder ? await recordBytecodeOrder(outdir) : undefined;
  for (const target of options.targets) await build(target, join(outdir, `gannet-${target}`), options.bytecode, order);
  const artefacts = options.release ? buildRelease(ROOT, outdir, options.targets, options.quickPackages ? "quick" : "release") : [];
  // One sums file for everything in the directory (a later single-target build keeps the others).
  const names = readdirSync(outdir)
    .filter((name) => /^gannet-linux-[a-z0-9-]+$/.test(name) || artefacts.includes(name) || /^gannet[-_].*\.(tar\.gz|deb)$/.test(name))
    .sort();
  const sums = names.map((name) => `${sha256(join(outdir, name))}  ${name}\n`).join("");
  writeFileSync(join(outdir, "SHA256SUMS"), sums);
  console.log(`\n${relative(ROOT, join(outdir, "SHA256SUMS"))}:\n${sums}`);

  if (!options.measure) return;
  if (arch() !== "x64") fail("--measure runs the x64 executable: use an x86-64 host");
  const withBytecode = join(outdir, ".measure", "gannet-bytecode");
  const without = join(outdir, ".measure", "gannet-no-bytecode");
  mkdirSync(join(outdir, ".measure"), { recursive: true });
  await build("linux-x64", withBytecode, true, order);
  await build("linux-x64", without, false);
  const results = {
    date: new Date().toISOString(),
    bun: Bun.version,
    bytecode: { ...sizes(withBytecode), ...await measure(withBytecode) },
    noBytecode: { ...sizes(without), ...await measure(without) },
  };
  console.log(JSON.stringify(results, null, 2));
  writeFileSync(join(outdir, "measure.json"), JSON.stringify(results, null, 2) + "\n");
  rmSync(join(outdir, ".measure"), { recursive: true, force: true });
}

if (import.meta.main) await main();
