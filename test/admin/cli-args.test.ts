/** Parsing of `gannet admin ...` (no store involved). */
import { describe, expect, test } from "bun:test";
import { parseArgs } from "../../src/config/cli.ts";

const command = (argv: string[]) => {
  const r = parseArgs(argv);
  return r.kind === "security" ? r.command : r;
};

describe("gannet admin arguments", () => {
  test("add / passwd / delete / list", () => {
    expect(command(["admin", "add", "ops"])).toEqual({ kind: "admin-add", name: "ops", role: "admin", password: "stdin" });
    expect(command(["admin", "add", "v", "--role", "viewer", "--password-file", "/p"])).toEqual({ kind: "admin-add", name: "v", role: "viewer", password: { file: "/p" } });
    expect(command(["admin", "passwd", "ops", "--password", "x"])).toEqual({ kind: "admin-passwd", name: "ops", password: { value: "x" } });
    expect(command(["admin", "delete", "ops"])).toEqual({ kind: "admin-delete", name: "ops" });
    expect(command(["admin", "list"])).toEqual({ kind: "admin-list" });
  });

  test("key create / list / revoke", () => {
    expect(command(["admin", "key", "create", "--account", "ops", "--label", "ci", "--role", "viewer"])).toEqual({
      kind: "admin-key-create",
      account: "ops",
      label: "ci",
      role: "viewer",
    });
    expect(command(["admin", "key", "list"])).toEqual({ kind: "admin-key-list" });
    expect(command(["admin", "key", "revoke", "0123456789ab"])).toEqual({ kind: "admin-key-revoke", id: "0123456789ab" });
  });

  test("usage errors say what is wrong", () => {
    expect(parseArgs(["admin", "add"])).toEqual({ kind: "error", message: "missing account name: gannet admin add NAME" });
    expect(parseArgs(["admin", "add", "x", "--role", "root"])).toEqual({ kind: "error", message: '--role expects admin or viewer, got "root"' });
    expect(parseArgs(["admin", "key", "create"])).toEqual({ kind: "error", message: "admin key create needs --account NAME (the key acts as that account)" });
    expect(parseArgs(["admin", "key", "revoke"])).toEqual({ kind: "error", message: "missing key id: gannet admin key revoke ID (see admin key list)" });
    expect(parseArgs(["admin", "nope"])).toMatchObject({ kind: "error", message: expect.stringContaining("expected add, passwd, delete, list, key create, key list or key revoke") });
    expect(parseArgs(["admin", "list", "extra"])).toEqual({ kind: "error", message: 'unexpected argument "extra"' });
  });
});
