/**
 * Release artefacts from the executables compile.ts built (called by `compile.ts --release`):
 *
 *   gannet-<version>-<target>.tar.gz   a directory gannet-<version>-<target>/ with the executable
 *                                      (`gannet`), gannet.example.yaml, gannet.service, README.md (the
 *                                      README's install section) and SHA256SUMS of those four files
 *   gannet_<version>_<arch>.deb        built with Debian's dpkg-deb: /usr/bin/gannet, the unit in
 *                                      /lib/systemd/system, /etc/gannet/gannet.yaml as a conffile;
 *                                      the maintainer scripts (packaging/debian/) create the `gannet`
 *                                      system user and /var/lib/gannet, and enable the unit
 *
 * amd64 gets the x64-baseline executable: Debian's amd64 promises no AVX2, nor do many gateway CPUs.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/** Which executable goes into the .deb of each Debian architecture. */
export const DEB_TARGETS = { amd64: "linux-x64-baseline", arm64: "linux-arm64" } as const;
export type DebArch = keyof typeof DEB_TARGETS;

/** No mailing list yet; lintian refuses localhost. GANNET_DEB_MAINTAINER overrides it. */
const MAINTAINER = process.env.GANNET_DEB_MAINTAINER ?? "Gannet developers <gannet@example.org>";

function fail(message: string): never {
  throw new Error(`packaging/release.ts: ${message}`);
}

function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  if (r.status !== 0) fail(`${cmd} ${args.join(" ")} failed (exit ${String(r.status ?? r.signal)}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

export function packageVersion(root: string): string {
  const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version?: string };
  return version ?? fail("package.json has no version");
}

/** The README's "Install on a gateway" section, which the tarball and the .deb carry. */
export function readmeExcerpt(root: string): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const start = readme.indexOf("\n## Install on a gateway\n");
  if (start < 0) fail('README.md has no "## Install on a gateway" section');
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start + 1, end < 0 ? undefined : end).trim();
  return `# Gannet ${packageVersion(root)}\n\nFrom the project's README.\n\n${section}\n`;
}

/** The unit as installed by the .deb: the executable is /usr/bin/gannet (not /usr/local/bin). */
export function debUnit(root: string): string {
  const unit = readFileSync(join(root, "packaging", "systemd", "gannet.service"), "utf8");
  if (!unit.includes("/usr/local/bin/gannet ")) fail("gannet.service no longer names /usr/local/bin/gannet");
  return unit.replaceAll("/usr/local/bin/gannet", "/usr/bin/gannet");
}

/** The example configuration as the .deb installs it: the database at an absolute path in /var/lib/gannet. */
export function debConfig(root: string): string {
  const example = readFileSync(join(root, "packaging", "gannet.example.yaml"), "utf8");
  const line = /^ {2}path: (\S+)$/m;
  const path = line.exec(example)?.[1];
  if (path === "/var/lib/gannet/gannet.db") return example;
  // A relative path would resolve against /etc/gannet, where the service may not write.
  if (path === "gannet.db") return example.replace(line, "  path: /var/lib/gannet/gannet.db");
  fail(`gannet.example.yaml: expected persistence.path gannet.db or /var/lib/gannet/gannet.db, found ${path ?? "none"}`);
}

/**
 * "release": gzip -6 tarballs and xz .debs (dpkg-deb's default), about 4 min for everything on two
 * busy cores. "quick" (tests): gzip -1 and uncompressed .debs, the same files in seconds.
 */
export type Compression = "release" | "quick";

function tarball(root: string, outdir: string, target: string, version: string, compression: Compression): string {
  const name = `gannet-${version}-${target}`;
  const stage = mkdtempSync(join(tmpdir(), "gannet-tar-"));
  try {
    const dir = join(stage, name);
    mkdirSync(dir);
    copyFileSync(join(outdir, `gannet-${target}`), join(dir, "gannet"));
    chmodSync(join(dir, "gannet"), 0o755);
    copyFileSync(join(root, "packaging", "gannet.example.yaml"), join(dir, "gannet.example.yaml"));
    copyFileSync(join(root, "packaging", "systemd", "gannet.service"), join(dir, "gannet.service"));
    writeFileSync(join(dir, "README.md"), readmeExcerpt(root));
    const files = ["README.md", "gannet", "gannet.example.yaml", "gannet.service"];
    writeFileSync(join(dir, "SHA256SUMS"), files.map((f) => `${sha256(join(dir, f))}  ${f}\n`).join(""));
    const file = `${name}.tar.gz`;
    const gzip = compression === "quick" ? "gzip -1" : "gzip -6";
    run("tar", ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-I", gzip, "-cf", join(outdir, file), "-C", stage, name]);
    return file;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

export interface DebOptions {
  root: string;
  /** The executable to package as /usr/bin/gannet. */
  executable: string;
  arch: DebArch;
  /** Debian version (default: package.json's). Tests build an older one to upgrade from. */
  version?: string;
  outdir: string;
  compression?: Compression;
}

/** Builds gannet_<version>_<arch>.deb with dpkg-deb; returns its file name. */
export function buildDeb(options: DebOptions): string {
  const { root, executable, arch, outdir } = options;
  const version = options.version ?? packageVersion(root);
  const stage = mkdtempSync(join(tmpdir(), "gannet-deb-"));
  const put = (path: string, content: string | Uint8Array, mode: number) => {
    const full = join(stage, path);
    mkdirSync(join(full, ".."), { recursive: true });
    writeFileSync(full, content);
    chmodSync(full, mode);
  };
  try {
    mkdirSync(join(stage, "usr", "bin"), { recursive: true });
    copyFileSync(executable, join(stage, "usr", "bin", "gannet"));
    chmodSync(join(stage, "usr", "bin", "gannet"), 0o755);
    // 0644 in the archive: postinst's statoverride makes it root:gannet 0640 (it holds no secret before).
    put("etc/gannet/gannet.yaml", debConfig(root), 0o644);
    put("lib/systemd/system/gannet.service", debUnit(root), 0o644);
    const doc = "usr/share/doc/gannet";
    put(`${doc}/README.md.gz`, gzipSync(readmeExcerpt(root), { level: 9 }), 0o644);
    put(`${doc}/copyright`, readFileSync(join(root, "packaging", "debian", "copyright"), "utf8"), 0o644);
    put(`${doc}/changelog.gz`, gzipSync(changelog(version), { level: 9 }), 0o644);
    put("usr/share/lintian/overrides/gannet", readFileSync(join(root, "packaging", "debian", "lintian-overrides"), "utf8"), 0o644);
    for (const script of ["postinst", "prerm", "postrm"]) {
      put(`DEBIAN/${script}`, readFileSync(join(root, "packaging", "debian", script), "utf8"), 0o755);
    }
    put("DEBIAN/conffiles", "/etc/gannet/gannet.yaml\n", 0o644);
    const installedKiB = Math.ceil(statSync(executable).size / 1024) + 64;
    put("DEBIAN/control", control(version, arch, installedKiB), 0o644);
    const file = `gannet_${version}_${arch}.deb`;
    // --root-owner-group: every file root:root whoever builds (no fakeroot needed).
    const compress = options.compression === "quick" ? "-Znone" : "-Zxz";
    run("dpkg-deb", ["--root-owner-group", compress, "--build", stage, join(outdir, file)]);
    return file;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

function control(version: string, arch: DebArch, installedKiB: number): string {
  return [
    "Package: gannet",
    `Version: ${version}`,
    `Architecture: ${arch}`,
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${installedKiB}`,
    // glibc 2.17: the newest symbol version Bun's runtime references (the executable test checks it).
    "Depends: libc6 (>= 2.17), adduser, init-system-helpers (>= 1.54)",
    "Section: net",
    "Priority: optional",
    "Description: MQTT 3.1.1 and 5.0 broker for industrial edge gateways",
    " Gannet is an MQTT broker shipped as one executable: the broker, its SQLite",
    " store of sessions, queued and retained messages, users, ACL rules and bans,",
    " and an admin HTTP port with health and readiness probes.",
    " .",
    " This package runs it as the systemd service gannet, as the system user",
    " gannet, configured by /etc/gannet/gannet.yaml, with its data in",
    " /var/lib/gannet.",
    "",
  ].join("\n");
}

function changelog(version: string): string {
  const date = new Date(Number(process.env.SOURCE_DATE_EPOCH ?? Date.now() / 1000) * 1000).toUTCString().replace("GMT", "+0000");
  return `gannet (${version}) unstable; urgency=medium\n\n  * Release ${version}; see the project's README.\n\n -- ${MAINTAINER}  ${date}\n`;
}

/** Tarballs for every target built, and a .deb for each Debian architecture whose target was built. */
export function buildRelease(root: string, outdir: string, targets: readonly string[], compression: Compression): string[] {
  const version = packageVersion(root);
  const made: string[] = [];
  for (const target of targets) {
    const started = performance.now();
    made.push(tarball(root, outdir, target, version, compression));
    console.log(`built ${made.at(-1)} in ${Math.round(performance.now() - started)} ms`);
  }
  for (const [arch, target] of Object.entries(DEB_TARGETS) as Array<[DebArch, string]>) {
    if (!targets.includes(target)) continue;
    const executable = join(outdir, `gannet-${target}`);
    if (!existsSync(executable)) fail(`${executable} is missing`);
    const started = performance.now();
    made.push(buildDeb({ root, executable, arch, outdir, compression }));
    console.log(`built ${made.at(-1)} in ${Math.round(performance.now() - started)} ms`);
  }
  return made;
}
