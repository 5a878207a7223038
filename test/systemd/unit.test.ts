/**
 * packaging/systemd/gannet.service as systemd reads it, offline (no systemd needs to run):
 * `systemd-analyze verify` accepts it, and `systemd-analyze security` rates its exposure 1.4 or
 * better (it was 3.0 before SystemCallFilter, DevicePolicy, PrivateMounts, RemoveIPC, UMask=0077).
 */
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/broker.ts";

const UNIT = join(REPO_ROOT, "packaging", "systemd", "gannet.service");
const dir = mkdtempSync(join(tmpdir(), "gannet-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("systemd-analyze verify accepts the unit (with an executable where it expects /usr/local/bin/gannet)", () => {
  // verify also checks that ExecStart= exists: point it at any executable.
  const unit = join(dir, "gannet.service");
  writeFileSync(unit, readFileSync(UNIT, "utf8").replaceAll("/usr/local/bin/gannet", "/bin/true"));
  const r = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
  expect(`${r.stdout}${r.stderr}`.trim()).toBe("");
  expect(r.status).toBe(0);
});

test("systemd-analyze security --offline: exposure 1.4 or better", () => {
  const r = spawnSync("systemd-analyze", ["security", "--offline=yes", "--no-pager", UNIT], { encoding: "utf8" });
  const overall = /Overall exposure level for gannet\.service: (\d+\.\d)/.exec(r.stdout)?.[1];
  expect(Number(overall)).toBeLessThanOrEqual(1.4);
  const threshold = spawnSync("systemd-analyze", ["security", "--offline=yes", "--threshold=14", UNIT], { encoding: "utf8" });
  expect(threshold.status).toBe(0);
});

test("the unit waits for READY=1 and checks the file before a reload", () => {
  const lines = readFileSync(UNIT, "utf8").split("\n");
  expect(lines).toContain("Type=notify");
  expect(lines).toContain("NotifyAccess=all");
  expect(lines.filter((l) => l.startsWith("ExecReload="))).toEqual([
    "ExecReload=/usr/local/bin/gannet config check /etc/gannet/gannet.yaml",
    "ExecReload=/bin/kill -HUP $MAINPID",
  ]);
});
