/**
 * The command line as an operator meets it: exit codes and messages of `gannet config ...`,
 * `--version`, `--help`, usage errors, a bad file refusing to start, and SIGHUP reloading the
 * log level (Bun and Deno).
 */
import { describe, expect, test } from "bun:test";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { freePort, REPO_ROOT, RUNTIMES } from "../helpers/broker.ts";

const dir = mkdtempSync(join(tmpdir(), "gannet-cli-"));
const BUN = join(REPO_ROOT, "node_modules", ".bin", "bun");
/** The real Deno binary: the npm wrapper in .bin does not pass signals on. */
const DENO = join(REPO_ROOT, "node_modules", "deno", "deno");

function command(runtime: "bun" | "deno", args: string[]): [string, string[]] {
  return runtime === "bun"
    ? [BUN, ["adapters/bun/main.ts", ...args]]
    : [DENO, ["run", "-A", "adapters/deno/main.ts", ...args]];
}

function gannet(args: string[], env: Record<string, string> = {}) {
  const [cmd, full] = command("bun", args);
  const r = spawnSync(cmd, full, { cwd: REPO_ROOT, encoding: "utf8", env: { ...process.env, ...env }, timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function writeFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("gannet config", () => {
  test("check: a valid file exits 0", () => {
    const r = gannet(["config", "check", writeFile("ok.yaml", "mqtt:\n  maxQos: 1\n")]);
    expect(r).toMatchObject({ code: 0, stdout: expect.stringContaining(": ok") });
  });

  test("check: an invalid file exits 2 with file:line:column and a suggestion", () => {
    const path = writeFile("bad.yaml", "mqtt:\n  maxQos: 1\n  recieveMaximum: 5\n");
    const r = gannet(["config", "check", path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path}:3:3: mqtt.recieveMaximum: unknown key "recieveMaximum" in mqtt; did you mean "receiveMaximum"?`);
  });

  test("check: a missing file exits 2", () => {
    const r = gannet(["config", "check", join(dir, "nope.yaml")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no such file");
  });

  test("print: the effective configuration with file, environment and flags, exit 0", () => {
    const path = writeFile("print.yaml", "admin:\n  port: 28083\nmqtt:\n  maxQos: 1\n");
    const r = gannet(["config", "print", "--config", path, "--set", "mqtt.maxQos=0"], { GANNET_SYS__INTERVAL: "3" });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("port: 28083");
    expect(r.stdout).toContain("maxQos: 0");
    expect(r.stdout).toContain("interval: 3");
  });

  test("print: an invalid environment variable exits 2", () => {
    const r = gannet(["config", "print"], { GANNET_MQTT__MAX_QOS: "7" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("environment variable GANNET_MQTT__MAX_QOS: mqtt.maxQos: expected one of 0, 1, 2, found 7");
  });

  test("schema: JSON Schema on stdout, exit 0", () => {
    const r = gannet(["config", "schema"]);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { type: string; additionalProperties: boolean };
    expect(schema).toMatchObject({ type: "object", additionalProperties: false });
  });

  test("unknown subcommand and extra arguments exit 2", () => {
    expect(gannet(["config", "lint"]).code).toBe(2);
    expect(gannet(["config", "schema", "x"]).code).toBe(2);
  });
});

describe("gannet", () => {
  test("--version and --help exit 0", () => {
    expect(gannet(["--version"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^gannet \d+\.\d+\.\d+ \(bun /) });
    const help = gannet(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("gannet config check FILE");
  });

  test("usage errors exit 2 with a message", () => {
    const r = gannet(["--port", "x"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--port expects a port number");
    expect(gannet(["--nope"]).code).toBe(2);
  });

  test("a bad configuration file: exit 2, nothing started", () => {
    const path = writeFile("bad-serve.yaml", "listeners:\n  - kind: tcp\n    port: 1883\n    hots: 127.0.0.1\n");
    const r = gannet(["--config", path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path}:4:5: listeners[0].hots: unknown key "hots" in listeners[0]; did you mean "host"?`);
    expect(r.stdout).not.toContain("listening");
  });

  test("a wss listener without cert and key: exit 2, says what is missing", () => {
    const path = writeFile("tls.yaml", "listeners:\n  - kind: wss\n    port: 8884\n");
    const r = gannet(["--config", path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("listeners[0].cert: wss listeners need cert and key");
  });
});

function waitFor(child: ChildProcess, output: () => string, re: RegExp, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output:\n${output()}`)), timeoutMs);
    const check = () => {
      if (re.test(output())) {
        clearTimeout(timer);
        child.stdout?.off("data", check);
        child.stderr?.off("data", check);
        resolve();
      }
    };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    check();
  });
}

for (const runtime of RUNTIMES) {
  describe(`SIGHUP (${runtime})`, () => {
    test("reloads the log level live, reports what needs a restart, keeps running on a bad file", async () => {
      const [port, admin] = [await freePort(), await freePort()];
      const base = `sys:\n  interval: 0\npersistence:\n  path: ${join(dir, `hup-${runtime}.db`)}\n`;
      const path = writeFile(`hup-${runtime}.yaml`, `${base}logging:\n  level: info\n  format: json\nmqtt:\n  allowAnonymous: true\n`);
      const [cmd, args] = command(runtime, [
        "--config", path, "--host", "127.0.0.1", "--port", String(port), "--ws-port", "off", "--admin-port", String(admin),
      ]);
      const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
      child.stderr.setEncoding("utf8").on("data", (c: string) => (out += c));
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      try {
        await waitFor(child, () => out, /"msg":"ready"/);
        writeFileSync(path, `${base.replace("interval: 0", "interval: 5")}logging:\n  level: debug\n  format: json\nmqtt:\n  allowAnonymous: true\n  maxQos: 1\n`);
        child.kill("SIGHUP");
        await waitFor(child, () => out, /"msg":"needs restart".*"sys\.interval"/);
        const reloaded = out.split("\n").find((line) => line.includes('"msg":"configuration reloaded"')) ?? "";
        expect((JSON.parse(reloaded) as { applied: string }).applied.split(", ").sort()).toEqual(["logging.level", "mqtt.maxQos"]);
        // The new limit holds for a connection made after the reload: CONNACK says Maximum QoS 1.
        const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0 });
        const connack = await new Promise<{ properties?: { maximumQoS?: number } }>((resolve, reject) => {
          client.once("connect", resolve);
          client.once("error", reject);
        });
        client.end(true);
        expect(connack.properties?.maximumQoS).toBe(1);
        writeFileSync(path, "logging:\n  level: [debug\n");
        child.kill("SIGHUP");
        await waitFor(child, () => out, /"msg":"reload failed.*hup-\w+\.yaml:\d+:\d+: YAML/);
        const health = await fetch(`http://127.0.0.1:${admin}/healthz`);
        expect(health.status).toBe(200);
      } finally {
        child.kill("SIGTERM");
      }
      expect(await exited).toBe(0);
    }, 30_000);
  });
}
