/**
 * Where relative paths of the configuration point (the file's directory, else the working
 * directory), listeners that would fight for a port, and YAML syntax errors as one message per
 * mistake at its line.
 */
import { describe, expect, test } from "bun:test";
import { loadConfig, type LoadOptions } from "../../src/config/load.ts";
import { dirname, resolvePath } from "../../src/config/paths.ts";

const file = (text: string, path = "/etc/gannet/gannet.yaml") => ({ path, text });

function config(options: LoadOptions) {
  const result = loadConfig(options);
  if (!result.ok) throw new Error(result.problems.join("\n"));
  return result.config;
}

function problems(options: LoadOptions): string[] {
  const result = loadConfig(options);
  if (result.ok) throw new Error("expected the configuration to be invalid");
  return result.problems;
}

describe("relative paths", () => {
  test("resolvePath and dirname are POSIX", () => {
    expect(resolvePath("/etc/gannet", "gannet.db")).toBe("/etc/gannet/gannet.db");
    expect(resolvePath("/etc/gannet", "../../var/lib/x.db")).toBe("/var/lib/x.db");
    expect(resolvePath("/etc/gannet", "/abs/x.db")).toBe("/abs/x.db");
    expect(resolvePath("conf", "./a/./b")).toBe("conf/a/b");
    expect(dirname("/etc/gannet/gannet.yaml")).toBe("/etc/gannet");
    expect(dirname("gannet.yaml")).toBe(".");
    expect(dirname("/gannet.yaml")).toBe("/");
  });

  test("in the file: persistence.path, cert, key and ca are relative to the file's directory, from any working directory", () => {
    const text = "persistence:\n  path: data/gannet.db\nlisteners:\n" +
      "  - { kind: tls, port: 8883, cert: tls/server.crt, key: /abs/server.key, ca: ../ca.pem, clientCertificate: request }\n";
    for (const cwd of ["/", "/home/operator", "/var/lib/gannet"]) {
      const c = config({ file: file(text, "/etc/gannet/gannet.yaml"), cwd });
      expect(c.persistence.path).toBe("/etc/gannet/data/gannet.db");
      expect(c.listeners[0]).toMatchObject({ cert: "/etc/gannet/tls/server.crt", key: "/abs/server.key", ca: "/etc/ca.pem" });
    }
  });

  test("a file named relatively: its directory is taken from the working directory", () => {
    const c = config({ file: file("persistence:\n  path: gannet.db\n", "conf/gannet.yaml"), cwd: "/srv" });
    expect(c.persistence.path).toBe("/srv/conf/gannet.db");
  });

  test("the default gannet.db follows the file too; absolute paths, file: URLs and :memory: stay as written", () => {
    expect(config({ file: file(""), cwd: "/tmp" }).persistence.path).toBe("/etc/gannet/gannet.db");
    expect(config({ file: file("persistence:\n  path: /var/lib/gannet/gannet.db\n"), cwd: "/tmp" }).persistence.path)
      .toBe("/var/lib/gannet/gannet.db");
    expect(config({ file: file("persistence:\n  path: file:x.db\n"), cwd: "/tmp" }).persistence.path).toBe("file:x.db");
    expect(config({ file: file("persistence:\n  path: ':memory:'\n"), cwd: "/tmp" }).persistence.path).toBe(":memory:");
  });

  test("from the environment or --set, or with no file: relative to the working directory", () => {
    const set = (value: string) => [{ path: ["persistence", "path"], value, origin: `--set persistence.path=${value}` }];
    expect(config({ file: file(""), cwd: "/home/op", overrides: set("mine.db") }).persistence.path).toBe("/home/op/mine.db");
    expect(config({ file: file(""), cwd: "/home/op", env: { GANNET_PERSISTENCE__PATH: "env.db" } }).persistence.path)
      .toBe("/home/op/env.db");
    expect(config({ cwd: "/home/op" }).persistence.path).toBe("/home/op/gannet.db");
  });
});

describe("listeners that would fight for a port", () => {
  const listeners = (...lines: string[]) => file(`listeners:\n${lines.map((l) => `  - ${l}\n`).join("")}`);

  test("two listeners on one host:port: an error at the second one's port", () => {
    const [p, ...rest] = problems({ file: listeners("{ kind: tcp, host: 0.0.0.0, port: 1883 }", "{ kind: ws, host: 0.0.0.0, port: 1883 }") });
    expect(rest).toEqual([]);
    expect(p).toBe(
      "/etc/gannet/gannet.yaml:3:38: listeners[1].port: listeners[1] (ws 0.0.0.0:1883) uses the same port as " +
        "listeners[0] (tcp 0.0.0.0:1883): only one can listen there",
    );
  });

  test("a wildcard address takes the port on every address; distinct addresses or port 0 do not clash", () => {
    expect(problems({ file: listeners("{ kind: tcp, host: 127.0.0.1, port: 1883 }", "{ kind: tcp, host: 0.0.0.0, port: 1883 }") }))
      .toHaveLength(1);
    expect(problems({ file: listeners("{ kind: tcp, host: '::', port: 1883 }", "{ kind: tcp, host: 10.0.0.1, port: 1883 }") }))
      .toHaveLength(1);
    config({ file: listeners("{ kind: tcp, host: 127.0.0.1, port: 1883 }", "{ kind: tcp, host: 10.0.0.1, port: 1883 }") });
    config({ file: listeners("{ kind: tcp, host: 0.0.0.0, port: 0 }", "{ kind: ws, host: 0.0.0.0, port: 0 }") });
  });

  test("the admin port on a listener's port, unless the admin port is off; flags are checked too", () => {
    const [p] = problems({ file: file("admin:\n  port: 1883\n") });
    expect(p).toContain("admin.port: the admin HTTP port 127.0.0.1:1883 is also the port of listeners[0] (tcp 127.0.0.1:1883)");
    config({ file: file("admin:\n  port: 1883\n  enabled: false\n") });
    expect(problems({ flags: { tcpPort: 1884, wsPort: 1884 } })[0]).toContain("uses the same port as listeners[0]");
  });
});

describe("YAML syntax errors: one message per mistake, at its line", () => {
  const syntax = (text: string) => problems({ file: file(text) });

  test("a key indented too deep: one message at that line, not the parser's two at the line above", () => {
    expect(syntax("mqtt:\n  maxQos: 1\n   maxPacketSize: 2\nlogging:\n  level: debug\n")).toEqual([
      "/etc/gannet/gannet.yaml:3:1: YAML: indented deeper than the key above, which already has a value: line the keys of one mapping up",
    ]);
  });

  test("an unclosed { or [ is reported where it opens", () => {
    expect(syntax("listeners:\n  - { kind: tcp, port: 1883\nmqtt:\n  maxQos: 1\n")).toEqual([
      "/etc/gannet/gannet.yaml:2:1: YAML: a { ... } mapping is not closed: end it with } on this line",
    ]);
    expect(syntax("logging:\n  level: [debug\nmqtt: {}\n")[0]).toMatch(/:2:1: YAML: a \[ \.\.\. \] list is not closed/);
  });

  test("two mistakes: two messages, in file order; tabs and unclosed quotes in words", () => {
    const both = syntax("a: b: c\nlogging:\n  level: [debug\n");
    expect(both).toHaveLength(2);
    expect(both[0]).toMatch(/:1:4: YAML: a second "key: value" on one line/);
    expect(both[1]).toMatch(/:3:1: YAML: a \[ \.\.\. \] list is not closed/);
    expect(syntax("mqtt:\n\tmaxQos: 1\n")).toEqual(["/etc/gannet/gannet.yaml:2:1: YAML: a tab in the indentation: YAML indents with spaces"]);
    expect(syntax('mqtt:\n  x: "abc\n  y: 1\n')).toHaveLength(1);
  });

  test("an unquoted argon2 hash in a { } mapping: one hint to quote it, not unknown keys", () => {
    const hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
    const found = problems({ file: file(`auth:\n  users:\n    - { username: alice, password: ${hash} }\n`) });
    expect(found).toEqual([
      "/etc/gannet/gannet.yaml:3:36: auth.users[0].password: this argon2 hash is cut at its commas: in a { ... } mapping " +
        'a comma ends the value; quote it: password: "$argon2id$v=19$m=19456,t=2,p=1$..."',
    ]);
    const quoted = config({ file: file(`auth:\n  users:\n    - { username: alice, password: "${hash}" }\n`) });
    expect(quoted.auth.users[0]!.password).toBe(hash);
    // In a block mapping a comma does not end the value: no hint needed.
    expect(config({ file: file(`auth:\n  users:\n    - username: alice\n      password: ${hash}\n`) }).auth.users[0]!.password)
      .toBe(hash);
  });
});
