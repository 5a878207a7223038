/// <reference lib="dom" />
/**
 * The Bridges page in a real browser (playwright-core driving Debian's chromium) against a broker
 * bridged to a real upstream (Debian's Mosquitto): the bridge shows connected and counts what it
 * forwards; with the upstream stopped it shows the reconnect state, the last error and the messages
 * queued for it; when the upstream is back the queue drains and the page follows. Needs web/dist.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import mqtt from "mqtt";
import type { Browser, Page } from "playwright-core";
import { freePort, RUNTIMES, type RunningBroker, startBroker } from "../helpers/broker.ts";
import { bridgeConfigFile, type Mosquitto, startMosquitto } from "../helpers/mosquitto.ts";
import { launch, logIn, SHOTS } from "./helpers.ts";

const TIMEOUT = 60_000;

for (const runtime of RUNTIMES) describe(`bridges page in chromium (broker on ${runtime})`, () => {
  let upstream: Mosquitto;
  let broker: RunningBroker;
  let browser: Browser;
  let page: Page;
  let local: mqtt.MqttClient;
  let base = "";
  const errors: string[] = [];

  beforeAll(async () => {
    upstream = await startMosquitto();
    const config = bridgeConfigFile(`  - name: cloud
    url: ${upstream.url}
    clientId: gw-console
    keepalive: 5
    out:
      - { local: "plant/#", remote: "site/plant/#", qos: 1 }
`);
    const port = await freePort();
    broker = await startBroker({
      runtime,
      args: ["--config", config, "--admin-port", String(port)],
      set: { "admin.initialPassword": "bridge-page-pw" },
    });
    await broker.waitForLog(/bridge connected/, 10_000);
    base = `http://127.0.0.1:${port}`;
    local = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: "plc", reconnectPeriod: 0 });
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await logIn(page, base, "admin", "bridge-page-pw");
    errors.length = 0; // the 401 of "who am I" before logging in was expected
  }, TIMEOUT);
  afterAll(async () => {
    await local?.endAsync();
    await browser?.close();
    await broker?.stop();
    await upstream?.dispose();
  }, 20_000);

  const row = () => page.locator('tr[data-bridge="cloud"]');
  const state = () => row().locator("[data-state]");
  const cell = (field: string) => row().locator(`[data-field="${field}"]`);
  /** Waits until the row's `field` cell starts with `text` (the page refreshes itself). */
  const waitForCell = (field: string, text: string) =>
    page.waitForFunction(
      ([f, t]) => document.querySelector(`tr[data-bridge="cloud"] [data-field="${f}"]`)?.textContent?.startsWith(t) === true,
      [field, text] as const,
      { timeout: 15_000 },
    );

  test("connected, with its upstream and the messages it forwarded", async () => {
    await page.getByRole("link", { name: "Bridges" }).click();
    await page.getByRole("heading", { name: "Bridges", exact: true }).waitFor();
    await expect(state().getAttribute("data-state")).resolves.toBe("connected");
    await expect(row().locator("code").textContent()).resolves.toBe(upstream.url);
    for (let i = 0; i < 3; i++) await local.publishAsync(`plant/line1/${i}`, `${i}`, { qos: 1 });
    await waitForCell("forwarded", "3");
    await expect(cell("queued").textContent()).resolves.toStartWith("0");
  }, TIMEOUT);

  test("upstream down: the reconnect state, the last error and the queue; back up: the queue drains", async () => {
    await upstream.stop();
    await page.waitForFunction(
      () => document.querySelector('tr[data-bridge="cloud"] [data-state]')?.getAttribute("data-state") !== "connected",
      undefined,
      { timeout: 15_000 },
    );
    await row().getByRole("note").filter({ hasText: "last error" }).waitFor({ timeout: 15_000 });
    for (let i = 0; i < 2; i++) await local.publishAsync(`plant/line2/${i}`, `${i}`, { qos: 1 });
    await waitForCell("queued", "2");
    await page.screenshot({ path: join(SHOTS, `bridges-down${runtime === "bun" ? "" : `-${runtime}`}.png`), fullPage: true });

    await upstream.start();
    await page.waitForFunction(
      () => document.querySelector('tr[data-bridge="cloud"] [data-state]')?.getAttribute("data-state") === "connected",
      undefined,
      { timeout: 30_000 },
    );
    await waitForCell("forwarded", "5");
    await waitForCell("queued", "0");
    await expect(cell("dropped").textContent()).resolves.toBe("0");
    await page.screenshot({ path: join(SHOTS, `bridges${runtime === "bun" ? "" : `-${runtime}`}.png`), fullPage: true });
    expect(errors).toEqual([]);
  }, 60_000);

  test("Sessions page: the bridge's own session is marked as its queue, with no Kick, Ban or Delete", async () => {
    await page.getByRole("link", { name: "Sessions" }).click();
    const bridgeRow = page.locator('tr[data-client="bridge:cloud"]');
    await bridgeRow.waitFor({ timeout: 15_000 });
    await expect(bridgeRow.locator(".badge").first().textContent()).resolves.toBe("bridge queue");
    await expect(bridgeRow.getByRole("button").count()).resolves.toBe(0);
    // A client's row next to it still has its actions.
    await expect(page.locator(`tr[data-client="${local.options.clientId}"]`).getByRole("button", { name: "Kick" }).count()).resolves.toBe(1);
    // Its own page says so too, and offers neither Kick nor Delete session while the bridge holds it.
    await bridgeRow.getByRole("link", { name: "bridge:cloud" }).click();
    await page.getByRole("heading", { name: "Client bridge:cloud" }).waitFor();
    await page.locator(".facts .badge", { hasText: "bridge queue" }).waitFor();
    await expect(page.getByRole("button", { name: /Kick|Delete session/ }).count()).resolves.toBe(0);
    expect(errors).toEqual([]);
  }, TIMEOUT);
});
