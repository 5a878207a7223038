/**
 * The configuration loader: YAML problems carry file:line:column, the key path, what was expected
 * and what was found; unknown keys suggest the known one; env and --set override the file.
 */
import { describe, expect, test } from "bun:test";
import { parseArgs } from "../../src/config/cli.ts";
import { exampleYaml, jsonSchema, maskSecrets } from "../../src/config/describe.ts";
import { loadConfig, type LoadOptions } from "../../src/config/load.ts";
import { defaultConfig } from "../../src/config/schema.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const file = (text: string) => ({ path: "/etc/gannet/gannet.yaml", text });

function problems(options: LoadOptions): string[] {
  const result = loadConfig(options);
  if (result.ok) throw new Error("expected the configuration to be invalid");
  return result.problems;
}

function config(options: LoadOptions) {
  const result = loadConfig(options);
  if (!result.ok) throw new Error(result.problems.join("\n"));
  return result.config;
}

function serveOptions(argv: string[]) {
  const cli = parseArgs(argv);
  if (cli.kind !== "serve") throw new Error(`expected serve, got ${JSON.stringify(cli)}`);
  return cli.options;
}

describe("YAML file", () => {
  test("an empty file gives the built-in defaults: loopback listeners, no anonymous access", () => {
    // A relative persistence.path (the default gannet.db) is relative to the file's directory.
    const defaults = defaultConfig();
    const beside = { ...defaults, persistence: { ...defaults.persistence, path: "/etc/gannet/gannet.db" } };
    expect(config({ file: file("") })).toEqual(beside);
    expect(defaultConfig().mqtt.allowAnonymous).toBe(false);
    expect(defaultConfig().listeners.map((l) => l.host)).toEqual(["127.0.0.1", "127.0.0.1"]);
    expect(defaultConfig().admin.host).toBe("127.0.0.1");
    expect(config({ file: file("# only a comment\n") })).toEqual(beside);
  });

  test("values from the file override the defaults, the rest stays default", () => {
    const c = config({ file: file("mqtt:\n  maxPacketSize: 65536\nadmin:\n  port: 28083\n") });
    expect(c.mqtt.maxPacketSize).toBe(65536);
    expect(c.mqtt.maxInflight).toBe(defaultConfig().mqtt.maxInflight);
    expect(c.admin).toEqual({ enabled: true, host: "127.0.0.1", port: 28083, sessionTimeout: 28800 });
  });

  test("a wrong type names file, line:column, key path, expected and found", () => {
    const [p] = problems({ file: file("mqtt:\n  maxInflight: 10\n  maxPacketSize: lots\n") });
    expect(p).toBe('/etc/gannet/gannet.yaml:3:18: mqtt.maxPacketSize: expected an integer, found "lots"');
  });

  test("out of range and enum values say what is allowed", () => {
    const found = problems({ file: file("listeners:\n  - kind: udp\n    port: 70000\nlogging:\n  level: loud\n") });
    expect(found).toEqual([
      '/etc/gannet/gannet.yaml:2:11: listeners[0].kind: expected one of "tcp", "ws", "tls", "wss", found "udp"',
      "/etc/gannet/gannet.yaml:3:11: listeners[0].port: expected a number <= 65535, found 70000",
      '/etc/gannet/gannet.yaml:5:10: logging.level: expected one of "debug", "info", "warn", "error", found "loud"',
    ]);
  });

  test("a missing required key points at its parent", () => {
    const [p] = problems({ file: file("listeners:\n  - kind: tcp\n    host: 127.0.0.1\n") });
    expect(p).toBe("/etc/gannet/gannet.yaml:2:5: listeners[0].port: required, expected an integer");
  });

  test("an unknown key is an error at the key, with a did-you-mean suggestion", () => {
    expect(problems({ file: file("mqtt:\n  maxPacketSze: 10\n") })).toEqual([
      '/etc/gannet/gannet.yaml:2:3: mqtt.maxPacketSze: unknown key "maxPacketSze" in mqtt; did you mean "maxPacketSize"?',
    ]);
    expect(problems({ file: file("loging:\n  level: debug\n") })).toEqual([
      '/etc/gannet/gannet.yaml:1:1: loging: unknown key "loging" at the top level; did you mean "logging"?',
    ]);
  });

  test("an unknown key with no close match lists the known keys", () => {
    const [p] = problems({ file: file("sys:\n  zzzzzz: 1\n") });
    expect(p).toContain("known keys: interval");
  });

  test("YAML syntax errors carry line:column", () => {
    const [p] = problems({ file: file("mqtt:\n  maxQos: [1,\n") });
    expect(p).toMatch(/^\/etc\/gannet\/gannet\.yaml:\d+:\d+: YAML: /);
    const [dup] = problems({ file: file("mqtt: {}\nmqtt: {}\n") });
    expect(dup).toMatch(/^\/etc\/gannet\/gannet\.yaml:2:1: YAML: the key "mqtt" appears twice in one mapping/);
  });

  test("every problem in the file is reported at once, in file order", () => {
    const found = problems({ file: file("mqtt:\n  maxQos: 3\n  queueQos0: yes please\nadmn: {}\n") });
    expect(found.map((p) => p.split(":").slice(1, 3).join(":"))).toEqual(["2:11", "3:14", "4:1"]);
  });

  test("tls and wss listeners need cert and key; client certificates need a CA", () => {
    expect(problems({ file: file("listeners:\n  - kind: tls\n    port: 8883\n") })).toEqual([
      "/etc/gannet/gannet.yaml:2:5: listeners[0].cert: tls listeners need cert and key",
    ]);
    expect(problems({ file: file("listeners:\n  - kind: wss\n    port: 8084\n    cert: c.pem\n    key: k.pem\n    clientCertificate: require\n") }))
      .toEqual(["/etc/gannet/gannet.yaml:2:5: listeners[0].ca: clientCertificate needs ca (the CAs that sign client certificates)"]);
    expect(problems({ file: file("listeners:\n  - kind: tcp\n    port: 1883\n    cert: c.pem\n") }))
      .toEqual(["/etc/gannet/gannet.yaml:2:11: listeners[0].kind: cert, key, ca and client certificates need kind tls or wss"]);
  });

  test("without a configuration file, loopback listeners allow anonymous clients; others do not", () => {
    const local = config({});
    expect(local.listeners.map((l) => l.mqtt?.allowAnonymous)).toEqual([true, true]);
    const open = serveOptions(["--host", "0.0.0.0"]);
    expect(config({ flags: open.flags }).listeners.map((l) => l.mqtt?.allowAnonymous)).toEqual([undefined, undefined]);
    const explicit = serveOptions(["--set", "mqtt.allowAnonymous=false"]);
    expect(config({ overrides: explicit.overrides }).listeners.map((l) => l.mqtt?.allowAnonymous)).toEqual([undefined, undefined]);
  });
});

describe("environment and command-line overrides", () => {
  test("GANNET_SECTION__KEY sets an option (snake case maps to the camelCase key)", () => {
    const c = config({ env: { GANNET_ADMIN__PORT: "18084", GANNET_MQTT__MAX_PACKET_SIZE: "65536" } });
    expect(c.admin.port).toBe(18084);
    expect(c.mqtt.maxPacketSize).toBe(65536);
  });

  test("environment beats the file; --set beats the environment", () => {
    const options = serveOptions(["--set", "admin.port=18086"]);
    const c = config({
      file: file("admin:\n  port: 18085\nmqtt:\n  maxQos: 1\n"),
      env: { GANNET_ADMIN__PORT: "18084", GANNET_MQTT__MAX_QOS: "0" },
      overrides: options.overrides,
    });
    expect(c.admin.port).toBe(18086);
    expect(c.mqtt.maxQos).toBe(0);
  });

  test("variables without a double underscore are not options (GANNET_TEST_RUNTIMES)", () => {
    expect(config({ env: { GANNET_TEST_RUNTIMES: "bun", GANNET: "x" } })).toEqual(config({}));
  });

  test("an unknown variable is an error with a suggestion; a bad value names the variable", () => {
    expect(problems({ env: { GANNET_ADMIN__PROT: "1" } })).toEqual([
      'environment variable GANNET_ADMIN__PROT: unknown key "PROT" in admin; did you mean "port"?',
    ]);
    expect(problems({ env: { GANNET_ADMIN__PORT: "abc" } })).toEqual([
      'environment variable GANNET_ADMIN__PORT: admin.port: expected an integer, found "abc"',
    ]);
  });

  test("--set reaches list entries and parses JSON", () => {
    const c = config({ overrides: serveOptions(["--set", "listeners[1].path=/ws", "--set=sys.interval=0"]).overrides });
    expect(c.listeners[1].path).toBe("/ws");
    expect(c.sys.interval).toBe(0);
    const list = config({ overrides: serveOptions(["--set", 'listeners=[{"kind":"tcp","port":1884}]']).overrides });
    expect(list.listeners).toMatchObject([{ kind: "tcp", host: "0.0.0.0", port: 1884, path: "/mqtt", maxConnections: 0 }]);
  });

  test("an unknown --set key is a usage error with a suggestion", () => {
    expect(parseArgs(["--set", "mqtt.maxQOS=1"])).toEqual({
      kind: "error",
      message: '--set mqtt.maxQOS: unknown key "maxQOS" in mqtt; did you mean "maxQos"?',
    });
  });

  test("a bad --set value names the flag", () => {
    expect(problems({ overrides: serveOptions(["--set", "mqtt.maxQos=5"]).overrides })).toEqual([
      "--set mqtt.maxQos=5: mqtt.maxQos: expected one of 0, 1, 2, found 5",
    ]);
  });

  test("--host, --port, --ws-port and --admin-port edit listeners and the admin port", () => {
    const options = serveOptions(["--host", "127.0.0.1", "--port", "1884", "--ws-port", "off", "--admin-port", "0"]);
    const c = config({ overrides: options.overrides, flags: options.flags });
    expect(c.listeners).toMatchObject([{ kind: "tcp", host: "127.0.0.1", port: 1884, path: "/mqtt", maxConnections: 0 }]);
    expect(c.admin).toEqual({ enabled: true, host: "127.0.0.1", port: 0, sessionTimeout: 28800 });
    const off = serveOptions(["--admin-port", "off"]);
    expect(config({ flags: off.flags }).admin.enabled).toBe(false);
  });

  test("usage errors", () => {
    expect(parseArgs(["--port", "http"])).toMatchObject({ kind: "error", message: expect.stringContaining("--port") });
    expect(parseArgs(["--frobnicate"])).toMatchObject({ kind: "error" });
    expect(parseArgs(["config"])).toMatchObject({ kind: "error" });
    expect(parseArgs(["config", "check"])).toEqual({ kind: "error", message: "usage: gannet config check FILE" });
    expect(parseArgs(["--config"])).toMatchObject({ kind: "error" });
  });
});

describe("schema, example and masking", () => {
  test("the JSON Schema is generated from the zod schema", () => {
    const schema = jsonSchema() as { properties: Record<string, { properties?: Record<string, unknown> }> };
    expect(Object.keys(schema.properties)).toEqual(Object.keys(defaultConfig()));
    expect(schema.properties.admin.properties?.port).toMatchObject({ default: 18083, type: "integer" });
  });

  test("packaging/gannet.example.yaml is the generated example and is valid", () => {
    const text = readFileSync(join(import.meta.dir, "..", "..", "packaging", "gannet.example.yaml"), "utf8");
    expect(text).toBe(exampleYaml());
    // The defaults, but the database where the packaged service keeps it.
    const defaults = defaultConfig();
    expect(config({ file: file(text) })).toEqual({
      ...defaults,
      persistence: { ...defaults.persistence, path: "/var/lib/gannet/gannet.db" },
    });
  });

  test("the example mentions every option", () => {
    const text = exampleYaml();
    const defaults = defaultConfig() as unknown as Record<string, Record<string, unknown>>;
    for (const [section, values] of Object.entries(defaults)) {
      expect(text).toContain(`${section}:`);
      if (!Array.isArray(values)) for (const key of Object.keys(values)) expect(text).toContain(`  ${key}:`);
    }
  });

  test("secrets are masked", () => {
    expect(maskSecrets({ persistence: { url: "libsql://user:pw@db.example", authToken: "abc" }, admin: { port: 1 } }))
      .toEqual({ persistence: { url: "libsql://user:********@db.example", authToken: "********" }, admin: { port: 1 } });
  });
});

describe("isSet", () => {
  test("tells options the user chose from defaults", () => {
    const check = (options: LoadOptions) => {
      const result = loadConfig(options);
      if (!result.ok) throw new Error(result.problems.join("\n"));
      return result.isSet(["admin", "port"]);
    };
    expect(check({})).toBe(false);
    expect(check({ file: file("mqtt:\n  maxQos: 1\n") })).toBe(false);
    expect(check({ file: file("admin:\n  port: 1\n") })).toBe(true);
    expect(check({ env: { GANNET_ADMIN__PORT: "1" } })).toBe(true);
    expect(check({ flags: { adminPort: 1 } })).toBe(true);
  });
});
