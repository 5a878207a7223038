/**
 * `npx bun run start` is how the README starts Gannet from source. npm runs the script through
 * `sh -c`, and on SIGTERM npm and that shell exit without passing the signal on; the broker must
 * still stop (gracefully) rather than keep serving with nobody to stop it. Ctrl-C on a terminal
 * signals every process of the group: the broker must stop once, not take it as a second signal.
 */
import { describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, REPO_ROOT } from "../helpers/broker.ts";

function waitFor(read: () => string, re: RegExp, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (re.test(read()) || Date.now() - started > ms) {
        clearInterval(poll);
        resolve(re.test(read()));
      }
    }, 50);
  });
}

/** An empty configuration file (else /etc/gannet/gannet.yaml is read when a package test left one). */
function emptyConfig(): string {
  const path = join(mkdtempSync(join(tmpdir(), "gannet-empty-")), "gannet.yaml");
  writeFileSync(path, "");
  return path;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

describe("npx bun run start", () => {
  test("SIGTERM to npx stops the broker gracefully", async () => {
    const port = await freePort();
    const child = spawn("npx", [
      "bun", "run", "start", "--", "--host", "127.0.0.1", "--port", String(port), "--ws-port", "off", "--admin-port", "off",
      "--set", "persistence.store=memory", "--config", emptyConfig(),
    ], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true }); // its own process group, for the cleanup
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (out += c));
    try {
      expect(await waitFor(() => out, /INFO\s+ready/, 20_000)).toBe(true);
      child.kill("SIGTERM"); // npx only, as a supervisor or `kill PID` would
      expect(await waitFor(() => out, /INFO\s+stopped/, 10_000)).toBe(true);
      expect(out).toContain("shutting down signal=SIGTERM");
      expect(await accepts(port)).toBe(false);
    } finally {
      try {
        process.kill(-child.pid!, "SIGKILL"); // whatever is left of the group (nothing, when the test passes)
      } catch {
        // the group is gone
      }
    }
  }, 40_000);

  test("Ctrl-C on a terminal stops it gracefully, once", async () => {
    const port = await freePort();
    const line = `npx bun run start -- --host 127.0.0.1 --port ${port} --ws-port off --admin-port off --set persistence.store=memory --config ${emptyConfig()}`;
    // util-linux script gives it a terminal; ^C there signals the whole foreground process group.
    const child = spawn("script", ["-qfec", line, "/dev/null"], { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "pipe"], detached: true });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    try {
      expect(await waitFor(() => out, /INFO\s+ready/, 20_000)).toBe(true);
      child.stdin.write("\x03");
      expect(await waitFor(() => out, /INFO\s+stopped/, 10_000)).toBe(true);
      expect(out).toContain("shutting down signal=SIGINT");
      expect(out).not.toContain("second signal");
      expect(await accepts(port)).toBe(false);
    } finally {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // the group is gone
      }
    }
  }, 40_000);
});
