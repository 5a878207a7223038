/**
 * Log lines an operator reads when something goes wrong, from the real broker (Bun and Deno): a
 * taken port, a store that cannot open, refused logins (who and why, never the password), the ACL
 * rule behind a denial, and, at debug level, what each client subscribes to and publishes.
 */
import { describe, expect, test } from "bun:test";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, REPO_ROOT, RUNTIMES } from "../helpers/broker.ts";
import { closeAll, connectClient, publish, subscribe, unsubscribe } from "../helpers/clients.ts";
import { connectOutcome, publishOutcome, startWithConfig } from "../helpers/security.ts";
import { gannet, gannetCommand } from "./cli-helpers.ts";

const TIMEOUT = 30_000;
const ROOT = process.getuid?.() === 0;

/** Runs the broker until it exits (it is expected to fail at start); its code and output. */
function failedStart(command: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(command[0]!, command.slice(1), { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (output += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (output += c));
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000); // it should have exited long before
  return new Promise((resolve) => child.once("close", (code) => (clearTimeout(timer), resolve({ code, output }))));
}

/** Runs the broker until its output matches `re`, then stops it (SIGTERM); its output. */
function runUntil(command: string[], re: RegExp): Promise<string> {
  const child = spawn(command[0]!, command.slice(1), { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const seen = (c: string) => {
    output += c;
    if (re.test(output)) child.kill("SIGTERM");
  };
  child.stdout.setEncoding("utf8").on("data", seen);
  child.stderr.setEncoding("utf8").on("data", seen);
  return new Promise((resolve) => child.once("close", () => (clearTimeout(timer), resolve(output))));
}

function holdPort(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

const memory = ["--set", "persistence.store=memory"];

/**
 * An empty configuration file: without --config, gannet reads /etc/gannet/gannet.yaml when it
 * exists, and a package test on the same machine may have installed one.
 */
function noConfig(): string[] {
  const dir = mkdtempSync(join(tmpdir(), "gannet-empty-"));
  chmodSync(dir, 0o755); // readable by the unprivileged user too
  const path = join(dir, "gannet.yaml");
  writeFileSync(path, "", { mode: 0o644 });
  return ["--config", path];
}

for (const runtime of RUNTIMES) {
  describe(`operator log lines (${runtime})`, () => {
    test("a taken port says so and names the likely culprit, for TCP and WebSocket; exit 1", async () => {
      const port = await freePort();
      const holder = await holdPort(port);
      try {
        const tcp = await failedStart(gannetCommand(runtime, [
          "--host", "127.0.0.1", "--port", String(port), "--ws-port", "off", "--admin-port", "off", ...memory, ...noConfig(),
        ]));
        expect(tcp.code).toBe(1);
        expect(tcp.output).toContain(`cannot start listener tcp 127.0.0.1:${port}: port ${port} is already in use (another MQTT broker?)`);
        const ws = await failedStart(gannetCommand(runtime, [
          "--host", "127.0.0.1", "--port", "off", "--ws-port", String(port), "--admin-port", "off", ...memory, ...noConfig(),
        ]));
        expect(ws.code).toBe(1);
        expect(ws.output).toContain(`port ${port} is already in use (another MQTT broker or web server?)`);
      } finally {
        holder.close();
      }
    }, TIMEOUT);

    test("a store that cannot open says why: directory missing, permission denied for the user it runs as; root in the service user's directory is warned", async () => {
      const base = ["--host", "127.0.0.1", "--port", "0", "--ws-port", "off", "--admin-port", "off", ...noConfig()];
      const missing = await failedStart(gannetCommand(runtime, [...base, "--set", "persistence.path=/nonexistent/dir/gannet.db"]));
      expect(missing.code).toBe(1);
      expect(missing.output).toContain("cannot open the store: the directory /nonexistent/dir of the database /nonexistent/dir/gannet.db does not exist");

      const dir = mkdtempSync(join(tmpdir(), "gannet-store-"));
      chmodSync(dir, 0o755);
      const data = join(dir, "data");
      mkdirSync(data, { mode: 0o755 });
      if (!ROOT) chmodSync(data, 0o555);
      const user = ROOT ? "65534" : undefined;
      const denied = await failedStart(gannetCommand(runtime, [...base, "--set", `persistence.path=${data}/gannet.db`], user));
      expect(denied.code).toBe(1);
      expect(denied.output).toMatch(/cannot open the store: cannot create the database in \S+: permission denied for user \S+/);
      if (ROOT) {
        expect(denied.output).toContain("permission denied for user nobody (owned by root, mode 0755)");
        // Root in the service user's directory starts, with a warning that it should not be root.
        chownSync(data, 65534, 65534);
        const asRoot = await runUntil(gannetCommand(runtime, [...base, "--set", `persistence.path=${data}/gannet.db`]), /ready/);
        expect(asRoot).toContain(`running as root in ${data}, which belongs to nobody: run the broker as nobody`);
      }
    }, TIMEOUT);

    // Mounting needs root; the same message is checked with a fake file system in test/config/database.test.ts.
    if (ROOT) {
      test("a read-only file system is named as such, for the broker and the CLI", async () => {
        const mnt = mkdtempSync(join(tmpdir(), "gannet-ro-"));
        execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m", "none", mnt]);
        try {
          const db = join(mnt, "gannet.db");
          const none = noConfig();
          const seeded = await gannet(runtime, ["user", "add", "a", "--password", "p", "--set", `persistence.path=${db}`, ...none]);
          expect([seeded.code, seeded.stderr]).toEqual([0, ""]);
          execFileSync("mount", ["-o", "remount,ro", mnt]);
          const cli = await gannet(runtime, ["user", "add", "b", "--password", "p", "--set", `persistence.path=${db}`, ...none]);
          expect(cli.code).toBe(1);
          expect(cli.stderr).toContain(`${db}: read-only file system (remount it read-write, or set persistence.path to a writable place)`);
          const broker = await failedStart(gannetCommand(runtime, [
            "--host", "127.0.0.1", "--port", "0", "--ws-port", "off", "--admin-port", "off", "--set", `persistence.path=${db}`, ...none,
          ]));
          expect(broker.code).toBe(1);
          expect(broker.output).toContain(`cannot open the store: cannot open ${db}: read-only file system`);
        } finally {
          execFileSync("umount", [mnt]);
        }
      }, TIMEOUT);
    }

    test("refused logins name the user and why (unknown user, wrong password), never the password", async () => {
      const b = await startWithConfig(
        runtime,
        "mqtt:\n  allowAnonymous: false\nauth:\n  users:\n    - { username: alice, password: right-password }\n",
      );
      try {
        expect(await connectOutcome(b, { protocolVersion: 5, username: "mallory", password: "guess-one" })).toBe(0x86);
        expect(await connectOutcome(b, { protocolVersion: 5, username: "alice", password: "guess-two" })).toBe(0x86);
        expect(await connectOutcome(b, { protocolVersion: 4, username: "alice" })).toBe(5);
        const unknown = JSON.parse(await b.waitForLog(/"msg":"login refused".*"username":"mallory"/));
        expect(unknown).toMatchObject({ level: "info", username: "mallory", reason: "unknown user" });
        const wrong = JSON.parse(await b.waitForLog(/"msg":"login refused".*"reason":"wrong password"/));
        expect(wrong).toMatchObject({ username: "alice", user: "auth.users in the configuration file" });
        await b.waitForLog(/"msg":"login refused".*"reason":"no password given"/);
        expect(b.logs()).not.toContain("guess-one");
        expect(b.logs()).not.toContain("guess-two");
      } finally {
        await b.stop();
      }
    }, TIMEOUT);

    test("a denied publish or subscription names the ACL rule, or the default, that decided", async () => {
      const b = await startWithConfig(
        runtime,
        "mqtt:\n  allowAnonymous: true\nacl:\n  default: deny\n  rules:\n" +
          "    - { topic: 'secret/#', permission: deny }\n    - { topic: 'open/#', permission: allow, maxQos: 0 }\n",
      );
      const c = await connectClient(b, { protocolVersion: 5, clientId: "acl-logs" });
      try {
        expect(await publishOutcome(c, "secret/x", { qos: 1 })).toBe(0x87);
        expect(await publishOutcome(c, "open/x", { qos: 1 })).toBe(0x87);
        const granted = await subscribe(c, "other/#", { qos: 1 }).catch((e: { packet?: { granted?: number[] } }) => e.packet?.granted);
        expect(JSON.stringify(granted)).toContain("135");
        const byRule = JSON.parse(await b.waitForLog(/"msg":"publish denied by the ACL".*"topic":"secret\/x"/));
        expect(byRule).toMatchObject({ clientId: "acl-logs", rule: "acl.rules[0] in the configuration file: deny both everyone secret/#" });
        const byQos = JSON.parse(await b.waitForLog(/"msg":"publish denied by the ACL".*"topic":"open\/x"/));
        expect(byQos.rule).toBe("acl.rules[1] in the configuration file: allow both everyone open/# maxQos=0 (QoS above 0)");
        const byDefault = JSON.parse(await b.waitForLog(/"msg":"subscription denied by the ACL"/));
        expect(byDefault).toMatchObject({ filter: "other/#", rule: "acl.default: deny (no rule matched)" });
      } finally {
        await closeAll(c);
        await b.stop();
      }
    }, TIMEOUT);

    test("logging.level debug: subscribes, unsubscribes and publishes with topic, QoS and size, never the payload", async () => {
      const b = await startWithConfig(runtime, "mqtt:\n  allowAnonymous: true\nlogging:\n  level: debug\n  format: json\n");
      const c = await connectClient(b, { protocolVersion: 5, clientId: "field-device" });
      try {
        await subscribe(c, "plant/+/temp", { qos: 1 });
        await publish(c, "plant/7/temp", "payload-21.5C", { qos: 1 });
        await unsubscribe(c, "plant/+/temp");
        expect(JSON.parse(await b.waitForLog(/"msg":"subscribed"/))).toMatchObject({ clientId: "field-device", filter: "plant/+/temp", qos: 1 });
        expect(JSON.parse(await b.waitForLog(/"msg":"published"/))).toMatchObject({
          clientId: "field-device",
          topic: "plant/7/temp",
          qos: 1,
          bytes: "payload-21.5C".length,
        });
        expect(JSON.parse(await b.waitForLog(/"msg":"unsubscribed"/))).toMatchObject({ filter: "plant/+/temp" });
        expect(b.logs()).not.toContain("payload-21.5C");
      } finally {
        await closeAll(c);
        await b.stop();
      }
    }, TIMEOUT);
  });
}
