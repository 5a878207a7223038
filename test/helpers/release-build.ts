/**
 * One `compile.ts --release --quick-packages` per test process, shared by the test files that need
 * executables or packages (test/executable/, test/packaging/): all six executables, their
 * tarballs and both .deb files, built into one temporary directory (about 1 GB, removed at exit).
 * The first caller builds; later callers (in this file or another) get the same directory.
 * test/preload.ts removes it after the last test file (bun test fires no process "exit" event); a
 * directory left by a run that was killed is removed by the next run.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./broker.ts";

/** Keyed by the test process: files of one `bun test` run share it, concurrent runs do not. */
const PREFIX = "gannet-release-";
const OUT = join(tmpdir(), `${PREFIX}${process.pid}`);
const DONE = join(OUT, ".complete");

let building: Promise<string> | undefined;

export function releaseBuild(): Promise<string> {
  building ??= new Promise<string>((resolve, reject) => {
    if (existsSync(DONE)) return resolve(OUT);
    removeStaleBuilds();
    mkdirSync(OUT, { recursive: true });
    const started = performance.now();
    const r = spawnSync(
      join(REPO_ROOT, "node_modules", ".bin", "bun"),
      ["compile.ts", "--release", "--quick-packages", "--outdir", OUT],
      { cwd: REPO_ROOT, encoding: "utf8", timeout: 600_000 },
    );
    if (r.status !== 0) return reject(new Error(`compile.ts --release failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`));
    writeFileSync(DONE, `${Math.round(performance.now() - started)} ms\n`);
    console.log(`compile.ts --release --quick-packages: ${Math.round(performance.now() - started)} ms`);
    resolve(OUT);
  });
  return building;
}

/** The Bun runtime compile.ts embedded for `target` (from .cache/bun-runtimes/, filled by the build). */
export function runtimeOf(npmPackage: string): string {
  const version = spawnSync(join(REPO_ROOT, "node_modules", ".bin", "bun"), ["--version"], { encoding: "utf8" }).stdout.trim();
  return join(REPO_ROOT, ".cache", "bun-runtimes", `${npmPackage.replace("@oven/", "")}-${version}`, "package", "bin", "bun");
}

/** After the last test: the build of this run goes (about 1 GB). */
export function removeReleaseBuild(): void {
  rmSync(OUT, { recursive: true, force: true });
}

/** Builds of runs whose process is gone (killed before its cleanup). */
function removeStaleBuilds(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length));
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return (e as { code?: string }).code === "EPERM";
  }
}
