/** Parsing of the security commands (src/config/security-cli.ts through parseArgs): shapes and usage errors. */
import { expect, test } from "bun:test";
import { parseArgs } from "../../src/config/cli.ts";

const command = (...argv: string[]) => {
  const result = parseArgs(argv);
  if (result.kind !== "security") throw new Error(`expected a security command, got ${JSON.stringify(result)}`);
  return result.command;
};
const problem = (...argv: string[]) => {
  const result = parseArgs(argv);
  if (result.kind !== "error") throw new Error(`expected a usage error, got ${JSON.stringify(result)}`);
  return result.message;
};

test("user commands and password sources", () => {
  expect(command("user", "add", "alice")).toEqual({ kind: "user-add", username: "alice", password: "stdin" });
  expect(command("user", "add", "alice", "--password-file", "f")).toMatchObject({ password: { file: "f" } });
  expect(command("user", "passwd", "alice", "--password=p w")).toMatchObject({
    kind: "user-passwd",
    password: { value: "p w" },
  });
  expect(command("user", "delete", "alice")).toEqual({ kind: "user-delete", username: "alice" });
  expect(command("user", "list")).toEqual({ kind: "user-list" });
  expect(command("user", "hash")).toEqual({ kind: "user-hash", password: "stdin" });
  expect(problem("user", "add")).toContain("missing user name");
  expect(problem("user", "add", "a", "b")).toContain("unexpected argument");
  expect(problem("user", "list", "x")).toContain("unexpected argument");
  expect(problem("user")).toContain("missing user subcommand");
});

test("--config and --set reach the configuration options", () => {
  const result = parseArgs(["ban", "list", "--config", "g.yaml", "--set", "persistence.path=/tmp/x.db"]);
  expect(result).toMatchObject({
    kind: "security",
    options: { configPath: "g.yaml", overrides: [{ path: ["persistence", "path"] }] },
  });
  expect(problem("ban", "list", "--set", "persistence.nope=1")).toBeTruthy();
});

test("acl add builds the rule; --position is 1-based", () => {
  expect(
    command("acl", "add", "--topic", "a/%u/#", "--allow", "--username", "u", "--max-qos", "1", "--retain", "false"),
  )
    .toEqual({
      kind: "acl-add",
      rule: { topic: "a/%u/#", action: "both", permission: "allow", username: "u", maxQos: 1, retain: false },
      position: undefined,
    });
  expect(command("acl", "add", "--topic", "#", "--deny", "--anonymous", "--action", "subscribe", "--position", "3"))
    .toEqual({
      kind: "acl-add",
      rule: { topic: "#", action: "subscribe", permission: "deny", anonymous: true },
      position: 3,
    });
  expect(command("acl", "delete", "2")).toEqual({ kind: "acl-delete", number: 2 });
  expect(problem("acl", "delete", "0")).toContain("whole number");
  expect(problem("acl", "add", "--topic", "a", "--allow", "--topic", "b")).toContain("given twice");
});

test("ban add / lift: exactly one target, addresses canonical, whole-second durations", () => {
  expect(command("ban", "add", "--address", "10.9.9.9/8", "--duration", "60", "--reason", "r")).toEqual({
    kind: "ban-add",
    ban: { kind: "address", value: "10.0.0.0/8" },
    durationSeconds: 60,
    reason: "r",
  });
  expect(command("ban", "lift", "--client-id", "c")).toEqual({
    kind: "ban-lift",
    ban: { kind: "clientId", value: "c" },
  });
  expect(problem("ban", "add", "--duration", "1.5", "--username", "u")).toContain("--duration");
  expect(problem("ban", "add", "--username", "")).toContain("missing username");
});

test("import mosquitto", () => {
  expect(command("import", "mosquitto", "--passwd", "p", "--replace-acl")).toEqual({
    kind: "import-mosquitto",
    passwd: "p",
    acl: undefined,
    replaceAcl: true,
  });
  expect(problem("import", "mosquitto")).toContain("--passwd");
  expect(problem("import", "mqtt")).toContain("expected mosquitto");
});

test("--help after a security command prints the usage", () => {
  expect(parseArgs(["user", "add", "--help"])).toEqual({ kind: "help" });
  expect(parseArgs(["ban", "--help"])).toEqual({ kind: "help" });
});
