/**
 * The amd64 .deb on this machine, for real: lintian, `dpkg -i` of an older build, an operator's
 * change to /etc/gannet/gannet.yaml, an upgrade that keeps it, the service started the way its
 * unit says (no systemd runs here: the test plays systemd's part: ExecStartPre, then ExecStart as
 * User=/Group= in WorkingDirectory= with UMask= and a $NOTIFY_SOCKET, ExecReload=), `dpkg -r`
 * keeping the data, `dpkg -P`. While it serves, strace records every system call it makes: each
 * must pass the unit's SystemCallFilter (as `systemd-analyze syscall-filter` expands it).
 *
 * Needs root (CI runs as root) and a machine where no gannet package is installed and systemd
 * does not run (postinst would start the real service). Debian packages: test/prepare.sh.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { buildDeb } from "../../packaging/release.ts";
import { freePort, REPO_ROOT } from "../helpers/broker.ts";
import { type NotifySocket, openNotifySocket } from "../helpers/notify-socket.ts";
import { releaseBuild } from "../helpers/release-build.ts";

const UNIT = "/lib/systemd/system/gannet.service";
const CONFIG = "/etc/gannet/gannet.yaml";
const DATA = "/var/lib/gannet";
const OLDER = "0.0.9";
const MARKER = "# changed by the operator";

/** Leaves the machine as it was: the package, its data, the user. */
function removeEverything(): void {
  sh("dpkg", ["--purge", "gannet"]);
  rmSync(DATA, { recursive: true, force: true });
  rmSync("/etc/gannet", { recursive: true, force: true });
  sh("deluser", ["--system", "--quiet", "gannet"]);
  sh("delgroup", ["--system", "--quiet", "gannet"]);
}

function sh(cmd: string, args: string[], options: { input?: string; cwd?: string } = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000, ...options, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  return { status: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}
// stdin is closed (CI has none): dpkg must never prompt, e.g. about a changed conffile.
const ok = (cmd: string, args: string[]) => {
  const r = sh(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.out}`);
  return r.out;
};
const installedVersion = () => sh("dpkg-query", ["-W", "-f=${Status} ${Version}", "gannet"]).out.trim();

/** The unit's settings, the way systemd reads them (one key may repeat: ExecReload, SystemCallFilter). */
function unitSettings(): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of readFileSync(UNIT, "utf8").split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) settings.set(m[1], [...(settings.get(m[1]) ?? []), m[2]]);
  }
  return settings;
}

/**
 * Runs a command line of the unit as User=/Group= with UMask=, in WorkingDirectory=; `wrap` (strace)
 * runs as that user too, so it sees only the service's own system calls.
 */
function asService(settings: Map<string, string[]>, commandLine: string, env: Record<string, string> = {}, wrap: string[] = []) {
  const user = settings.get("User")![0];
  const group = settings.get("Group")![0];
  const umask = settings.get("UMask")![0];
  const argv = commandLine.split(/\s+/);
  const asUser = ["setpriv", `--reuid=${user}`, `--regid=${group}`, "--init-groups", "--", ...wrap, ...argv];
  return spawn("sh", ["-c", `umask ${umask} && exec "$@"`, "sh", ...asUser], {
    cwd: settings.get("WorkingDirectory")![0],
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", ...env },
  });
}

function collect(child: ChildProcess): { text: () => string; exited: Promise<number | null> } {
  let text = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (text += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (text += c));
  return { text: () => text, exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) };
}

/** The system calls the unit allows: the union of its allow-lists less its ~deny-lists, expanded. */
function allowedSyscalls(filters: string[]): Set<string> {
  const groups = new Map<string, string[]>();
  let current = "";
  for (const line of ok("systemd-analyze", ["syscall-filter"]).split("\n")) {
    if (/^@[\w-]+$/.test(line)) groups.set((current = line), []);
    else if (current && /^\s+[@\w-]+$/.test(line)) groups.get(current)!.push(line.trim());
  }
  const expand = (names: string[], seen = new Set<string>()): Set<string> => {
    const out = new Set<string>();
    for (const name of names) {
      if (!name.startsWith("@")) out.add(name);
      else if (!seen.has(name)) {
        seen.add(name);
        for (const s of expand(groups.get(name) ?? [], seen)) out.add(s);
      }
    }
    return out;
  };
  const allow = expand(filters.filter((f) => !f.startsWith("~")).flatMap((f) => f.split(/\s+/)));
  const deny = expand(filters.filter((f) => f.startsWith("~")).flatMap((f) => f.slice(1).split(/\s+/)));
  return new Set([...allow].filter((s) => !deny.has(s)));
}

function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10_000 });
    client.once("connect", () => {
      client.subscribe("deb/test", { qos: 1 }, () => client.publish("deb/test", "from the package", { qos: 1 }));
    });
    client.once("message", (_t, payload) => (client.end(true), resolve(payload.toString())));
    client.once("error", (e) => (client.end(true), resolve(`error: ${e.message}`)));
  });
}

describe("gannet_<version>_amd64.deb installed with dpkg", () => {
  let out = "";
  let work = "";
  let notify: NotifySocket | undefined;
  const port = { tcp: 0, ws: 0, admin: 0 };

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("the .deb test installs a package: run it as root (CI does)");
    if (existsSync("/run/systemd/system")) {
      throw new Error("systemd runs on this machine: postinst would start the real service; run this test in a container or CI");
    }
    if (installedVersion().includes("installed")) {
      // A run killed half-way leaves its package: recognisable by the test's older version or its edit.
      const leftover = installedVersion().endsWith(` ${OLDER}`) || (existsSync(CONFIG) && readFileSync(CONFIG, "utf8").includes(MARKER));
      if (!leftover) throw new Error(`a gannet package is installed here (${installedVersion()}): the test would replace it; remove it first`);
      removeEverything();
    }
    out = await releaseBuild();
    work = mkdtempSync(join(tmpdir(), "gannet-deb-"));
    buildDeb({ root: REPO_ROOT, executable: join(out, "gannet-linux-x64-baseline"), arch: "amd64", version: OLDER, outdir: work, compression: "quick" });
    port.tcp = await freePort();
    port.ws = await freePort();
    port.admin = await freePort();
  }, 620_000);

  afterAll(() => {
    notify?.close();
    removeEverything();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("each .deb carries the right executable: amd64 the x64-baseline one, arm64 the linux-arm64 one", () => {
    for (const [arch, target] of [["amd64", "linux-x64-baseline"], ["arm64", "linux-arm64"]]) {
      const deb = join(out, `gannet_0.1.0_${arch}.deb`);
      expect(ok("dpkg-deb", ["--field", deb, "Architecture"]).trim()).toBe(arch);
      const dir = mkdtempSync(join(tmpdir(), "gannet-deb-x-"));
      try {
        ok("dpkg-deb", ["-x", deb, dir]);
        expect(readFileSync(join(dir, "usr", "bin", "gannet")).equals(readFileSync(join(out, `gannet-${target}`)))).toBe(true);
        expect(readFileSync(join(dir, "lib", "systemd", "system", "gannet.service"), "utf8")).toContain("ExecStart=/usr/bin/gannet --config");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }, 120_000);

  test("lintian finds no error or warning (uncompressed here: the test builds with --quick-packages)", () => {
    const r = sh("lintian", ["--fail-on", "error,warning", "--suppress-tags", "uses-no-compression-for-data-tarball,uses-no-compression-for-control-tarball", join(out, "gannet_0.1.0_amd64.deb")]);
    expect(r.out.split("\n").filter((l) => /^[EW]: /.test(l))).toEqual([]);
    expect(r.status).toBe(0);
  }, 120_000);

  test(`dpkg -i (${OLDER}): the gannet system user, /etc/gannet, /var/lib/gannet with their owners, the unit enabled`, () => {
    const r = sh("dpkg", ["-i", join(work, `gannet_${OLDER}_amd64.deb`)]);
    expect(r.status).toBe(0);
    expect(installedVersion()).toBe(`install ok installed ${OLDER}`);
    const [, , uid, , , home, shell] = ok("getent", ["passwd", "gannet"]).trim().split(":");
    expect(Number(uid)).toBeLessThan(1000); // a system user
    expect(home).toBe(DATA);
    expect(shell).toBe("/usr/sbin/nologin");
    const gid = Number(ok("getent", ["group", "gannet"]).split(":")[2]);
    const data = statSync(DATA);
    expect([data.uid, data.gid, data.mode & 0o777]).toEqual([Number(uid), gid, 0o750]);
    const config = statSync(CONFIG);
    expect([config.uid, config.gid, config.mode & 0o777]).toEqual([0, gid, 0o640]);
    expect(readFileSync(CONFIG, "utf8")).toContain("  path: /var/lib/gannet/gannet.db");
    const wants = "/etc/systemd/system/multi-user.target.wants/gannet.service";
    expect(lstatSync(wants).isSymbolicLink()).toBe(true);
    expect(readlinkSync(wants)).toBe(UNIT);
    expect(ok("/usr/bin/gannet", ["--version"])).toMatch(/^gannet 0\.1\.0 \(bun /);
  }, 120_000);

  test("an operator's change to gannet.yaml survives the upgrade to 0.1.0 (a conffile), without a prompt", () => {
    const changed = readFileSync(CONFIG, "utf8")
      .replace("    port: 1883", `    port: ${port.tcp}`)
      .replace("    port: 8083", `    port: ${port.ws}`)
      .replace("  port: 18083", `  port: ${port.admin}`)
      .replace("  allowAnonymous: false", "  allowAnonymous: true") + `${MARKER}\n`;
    writeFileSync(CONFIG, changed);
    const r = sh("dpkg", ["-i", join(out, "gannet_0.1.0_amd64.deb")], { input: "" });
    expect(r.status).toBe(0);
    expect(installedVersion()).toBe("install ok installed 0.1.0");
    expect(readFileSync(CONFIG, "utf8")).toBe(changed);
    const config = statSync(CONFIG);
    expect(config.mode & 0o777).toBe(0o640);
  }, 120_000);

  test("started as the unit says: ExecStartPre passes, READY=1 once MQTT answers, every system call within SystemCallFilter; reload checks first; STOPPING=1 and exit 0 on SIGTERM", async () => {
    const settings = unitSettings();
    expect(settings.get("Type")).toEqual(["notify"]);
    expect(settings.get("ExecStart")).toEqual([`/usr/bin/gannet --config ${CONFIG}`]);
    const pre = collect(asService(settings, settings.get("ExecStartPre")![0]));
    expect(await pre.exited).toBe(0);

    notify = await openNotifySocket();
    const traceDir = mkdtempSync(join(tmpdir(), "gannet-strace-"));
    chmodSync(traceDir, 0o1777); // strace runs as the service user
    const trace = join(traceDir, "syscalls.txt");
    const service = asService(settings, settings.get("ExecStart")![0], { NOTIFY_SOCKET: notify.path }, [
      "strace", "-f", "-qq", "-c", "-U", "name", "-o", trace,
    ]);
    const logs = collect(service);
    try {
      await notify.waitFor(/^READY=1/, 30_000);
      expect(await connectOutcome(port.tcp)).toBe("from the package");
      const db = statSync(join(DATA, "gannet.db"));
      expect([db.uid, db.mode & 0o777]).toEqual([statSync(DATA).uid, 0o600]);

      // ExecReload: the check, then SIGHUP to the main process. A broken file stops the reload.
      const [check, hup] = settings.get("ExecReload")!;
      expect(check).toBe(`/usr/bin/gannet config check ${CONFIG}`);
      expect(hup).toBe("/bin/kill -HUP $MAINPID");
      const good = readFileSync(CONFIG, "utf8");
      writeFileSync(CONFIG, good.replace("listeners:", "listeners: [\n"));
      const bad = collect(asService(settings, check));
      expect(await bad.exited).toBe(2);
      expect(bad.text()).toContain(CONFIG);
      writeFileSync(CONFIG, good);
      expect(await collect(asService(settings, check)).exited).toBe(0);
      const mainPid = Number(ok("pgrep", ["-u", "gannet", "-f", "^/usr/bin/gannet --config"]).trim());
      ok("/bin/kill", ["-HUP", String(mainPid)]);
      const deadline = Date.now() + 10_000;
      while (!logs.text().includes("configuration reloaded") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(logs.text()).toContain("configuration reloaded");
      ok("/bin/kill", ["-TERM", String(mainPid)]);
      await notify.waitFor(/^STOPPING=1$/, 10_000);
    } finally {
      if (service.exitCode === null) setTimeout(() => service.kill("SIGKILL"), 20_000).unref();
    }
    expect(await logs.exited).toBe(0);

    // strace -c -U name: a header ("syscall"), a ruler, one name per line, "total".
    const used = readFileSync(trace, "utf8").split("\n").map((l) => l.trim().split(/\s+/)[0])
      .filter((name) => /^[a-z_0-9]+$/.test(name) && name !== "total" && name !== "syscall");
    rmSync(traceDir, { recursive: true, force: true });
    expect(used.length).toBeGreaterThan(20);
    const allowed = allowedSyscalls(settings.get("SystemCallFilter")!);
    expect(used.filter((name) => !allowed.has(name))).toEqual([]);
  }, 120_000);

  test("dpkg -r keeps the database and the changed config; dpkg -P removes the config and still keeps the data", () => {
    expect(sh("dpkg", ["-r", "gannet"]).status).toBe(0);
    expect(existsSync("/usr/bin/gannet")).toBe(false);
    expect(existsSync(UNIT)).toBe(false);
    expect(existsSync(join(DATA, "gannet.db"))).toBe(true);
    expect(readFileSync(CONFIG, "utf8")).toContain(MARKER);
    expect(sh("dpkg", ["-P", "gannet"]).status).toBe(0);
    expect(existsSync(CONFIG)).toBe(false);
    expect(existsSync(join(DATA, "gannet.db"))).toBe(true);
    expect(sh("dpkg-statoverride", ["--list", CONFIG]).status).not.toBe(0);
  }, 120_000);
});
