/**
 * The console embedded in the compiled x86-64 executable (compile.ts into a temporary directory,
 * started from a directory without node_modules or web/): log in with the first admin's password,
 * see the dashboard count a client, find it and kick it (the client sees the disconnect).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import type { Browser, Page } from "playwright-core";
import { freePort, REPO_ROOT } from "../helpers/broker.ts";
import { launch, logIn, SHOTS, stat, waitForStat } from "./helpers.ts";

const out = mkdtempSync(join(tmpdir(), "gannet-exe-console-"));
const TIMEOUT = 60_000;

describe("console in the compiled executable (linux-x64)", () => {
  let child: ChildProcess | undefined;
  let logs = "";
  let browser: Browser;
  let page: Page;
  let base = "";
  let mqttPort = 0;

  beforeAll(async () => {
    const build = spawnSync(join(REPO_ROOT, "node_modules", ".bin", "bun"), ["compile.ts", "--target", "linux-x64", "--outdir", out], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 240_000,
    });
    if (build.status !== 0) throw new Error(`compile.ts failed (${build.status}):\n${build.stdout}\n${build.stderr}`);
    const adminPort = await freePort();
    mqttPort = await freePort();
    child = spawn(join(out, "gannet-linux-x64"), [
      "--host", "127.0.0.1", "--port", String(mqttPort), "--ws-port", "off", "--admin-port", String(adminPort),
      "--log-format", "json", "--set", `persistence.path=${join(out, "gannet.db")}`,
    ], { cwd: out, stdio: ["ignore", "pipe", "pipe"], env: { PATH: "/usr/bin:/bin" } });
    child.stdout?.setEncoding("utf8").on("data", (c: string) => (logs += c));
    child.stderr?.setEncoding("utf8").on("data", (c: string) => (logs += c));
    const deadline = Date.now() + 20_000;
    while (!/"msg":"ready"/.test(logs)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the executable did not get ready:\n${logs}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    base = `http://127.0.0.1:${adminPort}`;
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    child?.kill("SIGTERM");
    rmSync(out, { recursive: true, force: true });
  }, 20_000);

  test("log in with the password printed once, dashboard counts a client, search and kick it", async () => {
    const line = logs.split("\n").find((l) => l.includes("created the admin account 'admin' with a random password"));
    expect(line).toBeDefined();
    const password = JSON.parse(line!).password as string;
    await logIn(page, base, "admin", password);
    await expect(stat(page, "connections").textContent()).resolves.toBe("0");
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: "exe-kick-me", protocolVersion: 5, reconnectPeriod: 0 });
    const gone = new Promise<number | undefined>((resolve) => client.on("disconnect", (p) => resolve(p.reasonCode)));
    await waitForStat(page, "connections", "1");
    await page.screenshot({ path: join(SHOTS, "executable-dashboard.png"), fullPage: true });
    await page.goto(base + "/#/clients");
    await page.getByLabel("Search clients").fill("exe-kick");
    const row = page.locator('tr[data-client="exe-kick-me"]');
    await row.waitFor();
    page.once("dialog", (d) => d.accept());
    await row.getByRole("button", { name: "Kick" }).click();
    expect(await gone).toBe(0x98);
    await client.endAsync(true);
  }, TIMEOUT);
});
