/**
 * The CLI as an operator runs it on a gateway: from another directory than the service's, as root
 * and as an unprivileged user (`runuser -u nobody`), against the database the configuration file
 * names. The broker started with the same file must find what the CLI wrote, and open it.
 */
import { describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { verifyPassword } from "../../src/security/passwords.ts";
import { freePort, REPO_ROOT, RUNTIMES } from "../helpers/broker.ts";
import { gannet, gannetCommand, query } from "./cli-helpers.ts";

const TIMEOUT = 60_000;
const ROOT = process.getuid?.() === 0;
/** The unprivileged user for the "service user" side: nobody when we are root, else ourselves. */
const OTHER = ROOT ? "65534" : undefined;
const NOBODY_UID = 65534;

/** /tmp/x/{etc,data,home}, traversable by every user (mkdtemp makes 0700). */
function layout(): { etc: string; data: string; home: string; config: string } {
  const root = mkdtempSync(join(tmpdir(), "gannet-op-"));
  chmodSync(root, 0o755);
  const [etc, data, home] = ["etc", "data", "home"].map((d) => join(root, d));
  for (const d of [etc, data, home]) mkdirSync(d, { mode: 0o755 });
  return { etc, data, home, config: join(etc, "gannet.yaml") };
}

/** A broker started by hand (the harness pins persistence.path): `cwd`, `--config`, optionally as `user`. */
async function startWithConfig(runtime: "bun" | "deno", config: string, cwd: string, user?: string) {
  const port = await freePort();
  const [cmd, ...args] = gannetCommand(runtime, [
    "--config", config, "--host", "127.0.0.1", "--port", String(port), "--ws-port", "off", "--admin-port", "off",
  ], user);
  const child = spawn(cmd!, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let logs = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (logs += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (logs += c));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => {
      const poll = setInterval(() => {
        if (/\bready\b/.test(logs)) {
          clearInterval(poll);
          resolve(true);
        }
      }, 50);
      void exited.then(() => (clearInterval(poll), resolve(false)));
    }),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20_000)),
  ]);
  return {
    port,
    ready,
    logs: () => logs,
    stop: async () => {
      child.kill("SIGTERM");
      return await exited;
    },
  };
}

function login(port: number, username: string, password: string): Promise<number> {
  return new Promise((resolve) => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, username, password, reconnectPeriod: 0 });
    client.once("connect", () => (client.end(true), resolve(0)));
    client.once("error", (e: Error & { code?: number }) => (client.end(true), resolve(e.code ?? -1)));
  });
}

for (const runtime of RUNTIMES) {
  describe(`gannet CLI on a gateway (${runtime})`, () => {
    test("a relative persistence.path: the CLI run elsewhere and the broker use the file beside the configuration", async () => {
      const { etc, data, home, config } = layout();
      writeFileSync(config, "persistence:\n  path: ../data/gannet.db\nmqtt:\n  allowAnonymous: false\n");
      const db = join(data, "gannet.db");
      const added = await gannet(runtime, ["user", "add", "alice", "--config", config], { cwd: home, stdin: "wonderland\n" });
      expect(added.code).toBe(0);
      expect(added.stdout).toContain(`created the database ${db}`);
      expect(added.stdout).toContain(`added user alice to ${db}`);
      expect(existsSync(join(home, "gannet.db"))).toBe(false);
      expect(existsSync(join(etc, "gannet.db"))).toBe(false);

      const broker = await startWithConfig(runtime, config, home);
      try {
        expect([broker.ready, broker.logs()]).toEqual([true, expect.stringContaining(db)]);
        expect(await login(broker.port, "alice", "wonderland")).toBe(0);
        expect(await login(broker.port, "alice", "wrong")).toBe(134); // 0x86 Bad User Name or Password
      } finally {
        expect(await broker.stop()).toBe(0);
      }
    }, TIMEOUT);

    test("root writes a new database in the service user's directory: the files go to that user, who can open them", async () => {
      const { data, home, config } = layout();
      if (ROOT) chownSync(data, NOBODY_UID, NOBODY_UID);
      writeFileSync(config, `persistence:\n  path: ${join(data, "gannet.db")}\nmqtt:\n  allowAnonymous: false\n`);
      const added = await gannet(runtime, ["user", "add", "bob", "--config", config, "--password", "builder"], { cwd: home });
      expect(added.code).toBe(0);
      const db = join(data, "gannet.db");
      if (ROOT) {
        expect(added.stdout).toContain(`gave ${db} to nobody, the owner of its directory`);
        expect(statSync(db).uid).toBe(NOBODY_UID);
      }
      for (const side of ["-wal", "-shm"]) {
        if (existsSync(db + side)) expect(statSync(db + side).uid).toBe(statSync(data).uid);
      }
      const listed = await gannet(runtime, ["user", "list", "--config", config], { cwd: home, user: OTHER });
      expect([listed.code, listed.stderr]).toEqual([0, ""]);
      expect(listed.stdout).toContain(`1 user in the database ${db}`);
      // The service, as the directory's owner, opens what root wrote.
      const broker = await startWithConfig(runtime, config, home, OTHER);
      try {
        expect([broker.ready, broker.logs()]).toEqual([true, expect.stringContaining("ready")]);
        expect(await login(broker.port, "bob", "builder")).toBe(0);
      } finally {
        expect(await broker.stop()).toBe(0);
      }
    }, TIMEOUT);

    test("a listing never creates a database; a missing directory is refused with the command that creates it", async () => {
      const { data, home, config } = layout();
      writeFileSync(config, "persistence:\n  path: ../data/gannet.db\n");
      const listed = await gannet(runtime, ["user", "list", "--config", config], { cwd: home });
      expect(listed.code).toBe(0);
      expect(listed.stderr).toContain(`no database at ${join(data, "gannet.db")} yet (the broker creates it at its first start)`);
      expect(listed.stdout).toContain("0 users in the database");
      expect(existsSync(join(data, "gannet.db"))).toBe(false);

      writeFileSync(config, "persistence:\n  path: ../missing/gannet.db\n");
      const refused = await gannet(runtime, ["user", "add", "x", "--config", config, "--password", "p"], { cwd: home });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("/missing of the database");
      expect(refused.stderr).toContain("does not exist: create it, owned by the user the broker runs as (e.g. sudo install -d");
    }, TIMEOUT);

    test("an unprivileged user who cannot write the database is told who they are and the command to run instead", async () => {
      const { data, home, config } = layout();
      writeFileSync(config, "persistence:\n  path: ../data/gannet.db\n");
      expect((await gannet(runtime, ["user", "add", "carol", "--config", config, "--password", "p"], { cwd: home })).code).toBe(0);
      if (!ROOT) chmodSync(data, 0o555);
      const me = ROOT ? "nobody" : (await import("node:os")).userInfo().username;
      const denied = await gannet(runtime, ["user", "add", "dave", "--config", config, "--password", "secret-pw"], {
        cwd: home,
        user: OTHER,
      });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain(`permission denied for user ${me}`);
      expect(denied.stderr).toContain(`run the command as root: sudo gannet user add dave --config ${config} --password ...`);
      expect(denied.stderr).not.toContain("secret-pw");
      expect(query(join(data, "gannet.db"), "SELECT username FROM users").map((r) => r.username)).toEqual(["carol"]);
    }, TIMEOUT);

    test("a database locked by another process past the busy timeout: says so, and writes nothing", async () => {
      const { home, config, data } = layout();
      writeFileSync(config, "persistence:\n  path: ../data/gannet.db\n");
      expect((await gannet(runtime, ["ban", "add", "--client-id", "seed", "--config", config], { cwd: home })).code).toBe(0);
      const db = join(data, "gannet.db");
      const holder = spawn(join(REPO_ROOT, "node_modules", ".bin", "bun"), [join(REPO_ROOT, "test/security/hold-lock.ts"), db, "9000"]);
      try {
        await new Promise<void>((resolve) => holder.stdout.on("data", (c: Buffer) => String(c).includes("locked") && resolve()));
        const r = await gannet(runtime, ["user", "add", "ivan", "--config", config, "--password", "p"], { cwd: home });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`the database ${db} is locked by another process (another gannet, or a tool holding a write transaction)`);
      } finally {
        holder.kill("SIGKILL");
      }
      expect(query(db, "SELECT username FROM users")).toEqual([]);
    }, TIMEOUT);

    test("a user in the file and in the database: add says the file's one wins, delete of a file user says where it lives", async () => {
      const { home, config } = layout();
      const hash = (await gannet(runtime, ["user", "hash", "--password", "from-file", "--set", "persistence.store=memory"])).stdout.trim();
      writeFileSync(config, `persistence:\n  path: gannet.db\nauth:\n  users:\n    - { username: erin, password: "${hash}" }\n`);
      const passwd = await gannet(runtime, ["user", "passwd", "erin", "--config", config, "--password", "x"], { cwd: home });
      expect(passwd.code).toBe(1);
      expect(passwd.stderr).toContain(`user "erin" is defined in ${config} (auth.users), not in`);
      const del = await gannet(runtime, ["user", "delete", "erin", "--config", config], { cwd: home });
      expect(del.code).toBe(1);
      expect(del.stderr).toContain(`user "erin" lives in ${config} (auth.users)`);
      const add = await gannet(runtime, ["user", "add", "erin", "--config", config, "--password", "from-db"], { cwd: home });
      expect(add.code).toBe(0);
      expect(add.stdout).toContain(`note: ${config} also defines erin (auth.users); the file's one wins`);
      const list = await gannet(runtime, ["user", "list", "--config", config], { cwd: home });
      expect(list.stdout).toContain("(unused: auth.users in the file has this name)");
      const del2 = await gannet(runtime, ["user", "delete", "erin", "--config", config], { cwd: home });
      expect(del2.code).toBe(0);
      expect(del2.stdout).toContain(`note: ${config} still defines erin (auth.users): that user can still log in`);
    }, TIMEOUT);

    test("acl list shows the file's rules (marked), then the database's (numbered), then the default, in the order applied", async () => {
      const { home, config } = layout();
      writeFileSync(
        config,
        "persistence:\n  path: gannet.db\nacl:\n  default: deny\n  rules:\n" +
          "    - { topic: 'secret/#', permission: deny }\n    - { topic: 'public/#', permission: allow, action: subscribe }\n",
      );
      expect((await gannet(runtime, ["acl", "add", "--topic", "sensors/#", "--allow", "--config", config], { cwd: home })).code).toBe(0);
      const list = await gannet(runtime, ["acl", "list", "--config", config], { cwd: home });
      expect(list.code).toBe(0);
      const rows = list.stdout.split("\n").filter((l) => /^(file|\d|default)\s/.test(l)).map((l) => l.split(/\s+/).slice(0, 5).join(" "));
      expect(rows).toEqual([
        "file deny both everyone secret/#",
        "file allow subscribe everyone public/#",
        "1 allow both everyone sensors/#",
        "default deny both everyone #",
      ]);
      expect(list.stdout).toContain(`"file": acl.rules in ${config}`);
    }, TIMEOUT);

    test("from a pipe the password is the first line; on a terminal it is asked twice without echo", async () => {
      const { home, config } = layout();
      writeFileSync(config, "persistence:\n  path: gannet.db\n");
      const piped = await gannet(runtime, ["user", "add", "frank", "--config", config], { cwd: home, stdin: "first line\nsecond\n" });
      expect(piped.code).toBe(0);
      const stored = (name: string) =>
        String(query(config.replace("gannet.yaml", "gannet.db"), `SELECT password_hash FROM users WHERE username = '${name}'`)[0]!.password_hash);
      expect((await verifyPassword("first line", stored("frank"))).ok).toBe(true);

      const typed = await onTerminal(gannetCommand(runtime, ["user", "add", "grace", "--config", config]), home, ["t0p-secret", "t0p-secret"]);
      expect(typed.code).toBe(0);
      expect(typed.output).toContain("Password: ");
      expect(typed.output).toContain("Password again: ");
      expect(typed.output).not.toContain("t0p-secret");
      expect((await verifyPassword("t0p-secret", stored("grace"))).ok).toBe(true);

      const differ = await onTerminal(gannetCommand(runtime, ["user", "add", "heidi", "--config", config]), home, ["one", "two"]);
      expect(differ.code).toBe(2);
      expect(differ.output).toContain("the two passwords differ; nothing changed");
    }, TIMEOUT);
  });
}

/** Runs `command` on a pseudo-terminal (util-linux `script`), typing each answer after its prompt. */
function onTerminal(command: string[], cwd: string, answers: string[]): Promise<{ code: number | null; output: string }> {
  const line = command.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const child = spawn("script", ["-qfec", line, "/dev/null"], { cwd, stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  let prompts = 0;
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
    const seen = (output.match(/Password( again)?: /g) ?? []).length;
    // Type only once the prompt is out: echo is off by then, so anything echoed would be a bug.
    while (prompts < seen && prompts < answers.length) child.stdin.write(answers[prompts++] + "\r");
  });
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, output })));
}
