/**
 * `gannet config check` refuses what would stop the start, as the unit's ExecStartPre runs it:
 * certificate and key files missing, unreadable for the user who checks, not matching; listeners
 * on one port; a database directory that is missing. Exit 2 with every problem listed.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RUNTIMES } from "../helpers/broker.ts";
import { makeTestCertificates } from "../helpers/certificates.ts";
import { gannet } from "../security/cli-helpers.ts";

const TIMEOUT = 60_000;
const ROOT = process.getuid?.() === 0;

/** A directory every user can read, with the test certificates copied in (key mode 0600). */
function setup() {
  const certs = makeTestCertificates();
  const dir = mkdtempSync(join(tmpdir(), "gannet-check-"));
  chmodSync(dir, 0o755);
  const tls = join(dir, "tls");
  mkdirSync(tls, { mode: 0o755 });
  const file = (name: string, from: string, mode: number) => {
    const path = join(tls, name);
    copyFileSync(from, path);
    chmodSync(path, mode);
    return path;
  };
  return {
    dir,
    cert: file("server.crt", certs.server.cert, 0o644),
    key: file("server.key", certs.server.key, 0o600),
    otherKey: file("client.key", certs.client.key, 0o644),
    config: (text: string) => {
      const path = join(dir, "gannet.yaml");
      writeFileSync(path, text);
      chmodSync(path, 0o644);
      return path;
    },
  };
}

for (const runtime of RUNTIMES) {
  describe(`gannet config check (${runtime})`, () => {
    test("missing, mismatched and non-PEM TLS files: exit 2, every problem listed (a missing database directory is a note)", async () => {
      const s = setup();
      const notPem = join(s.dir, "tls", "notes.txt");
      writeFileSync(notPem, "not a certificate\n");
      const path = s.config(
        "listeners:\n" +
          "  - { kind: tls, host: 0.0.0.0, port: 8883, cert: tls/server.crt, key: tls/client.key }\n" +
          "  - { kind: wss, host: 0.0.0.0, port: 8884, cert: tls/missing.crt, key: tls/server.key }\n" +
          "  - { kind: tls, host: 0.0.0.0, port: 8885, cert: tls/notes.txt, key: tls/server.key }\n" +
          "persistence:\n  path: no-such-dir/gannet.db\n",
      );
      const r = await gannet(runtime, ["config", "check", path], { cwd: tmpdir() });
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toEqual([
        `gannet: listeners[0] (tls 0.0.0.0:8883): cert ${s.cert} and key ${s.otherKey}: the key does not belong to the certificate`,
        `gannet: listeners[1] (wss 0.0.0.0:8884): cert ${join(s.dir, "tls", "missing.crt")}: no such file`,
        `gannet: listeners[2] (tls 0.0.0.0:8885): cert ${notPem}: not a PEM file`,
        `gannet: note: the database directory ${join(s.dir, "no-such-dir")} does not exist yet: the broker cannot start ` +
        "until it does (the systemd unit's StateDirectory= creates /var/lib/gannet)",
        expect.stringMatching(/^gannet: note: files checked as user \S+; the service opens them as the user it runs as/),
        `gannet: ${path} would not start (3 problems)`,
      ]);
    }, TIMEOUT);

    test("before the first start (no database directory yet): ok, with a note; a directory the user cannot write: exit 2", async () => {
      const s = setup();
      const path = s.config("persistence:\n  path: state/gannet.db\n");
      const early = await gannet(runtime, ["config", "check", path], { cwd: tmpdir() });
      expect(early.code).toBe(0);
      expect(early.stderr).toContain(`note: the database directory ${join(s.dir, "state")} does not exist yet`);
      mkdirSync(join(s.dir, "state"), { mode: 0o755 });
      if (!ROOT) chmodSync(join(s.dir, "state"), 0o555);
      const denied = await gannet(runtime, ["config", "check", path], { cwd: tmpdir(), user: ROOT ? "65534" : undefined });
      expect(denied.code).toBe(2);
      expect(denied.stderr).toMatch(/persistence\.path: cannot create the database in \S+\/state: permission denied for user \S+/);
    }, TIMEOUT);

    test("a key the checking user cannot read: the message names that user", async () => {
      const s = setup();
      const path = s.config(
        `listeners:\n  - { kind: tls, host: 0.0.0.0, port: 8883, cert: tls/server.crt, key: tls/server.key }\n` +
          `persistence:\n  store: memory\n`,
      );
      if (!ROOT) chmodSync(s.key, 0o000);
      const user = ROOT ? "65534" : undefined;
      const r = await gannet(runtime, ["config", "check", path], { cwd: tmpdir(), user });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`key ${s.key}: cannot read it as user ${ROOT ? "nobody" : "\\S+"} \\(permission denied\\)`));
      // As root the same file is fine (and the note says whose view that was).
      if (ROOT) {
        const asRoot = await gannet(runtime, ["config", "check", path], { cwd: tmpdir() });
        expect(asRoot).toMatchObject({ code: 0, stdout: `${path}: ok (files checked as user root; the service opens them as the user it runs as (User= in its unit))\n` });
      }
    }, TIMEOUT);

    test("two listeners on one port and the admin port on a listener's: exit 2 (and the broker refuses to start, exit 2)", async () => {
      const s = setup();
      const path = s.config(
        "listeners:\n  - { kind: tcp, host: 0.0.0.0, port: 1883 }\n  - { kind: ws, host: 127.0.0.1, port: 1883 }\n" +
          "admin:\n  port: 1883\n",
      );
      const r = await gannet(runtime, ["config", "check", path]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${path}:3:40: listeners[1].port: listeners[1] (ws 127.0.0.1:1883) uses the same port as listeners[0]`);
      expect(r.stderr).toContain(`${path}:5:9: admin.port: the admin HTTP port 127.0.0.1:1883 is also the port of listeners[0]`);
      const start = await gannet(runtime, ["--config", path]);
      expect(start.code).toBe(2);
      expect(start.stderr).toContain("not started: the configuration is invalid");
    }, TIMEOUT);
  });
}
