/// <reference lib="dom" />
/**
 * The console in a real browser (playwright-core driving Debian's chromium, headless) against a
 * broker started from source: log in; the dashboard numbers follow a client that connects and
 * publishes; find that client and kick it (it sees the disconnect); create an MQTT user and an ACL
 * rule and see its publish refused; delete a retained message; watch a message arrive in the live
 * viewer and the topic tree; a viewer account changes nothing. Screenshots of every page go to
 * test/browser/screenshots/ (ignored by git). Needs web/dist (bun scripts/build-web.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import type { Browser, Locator, Page } from "playwright-core";
import { freePort, RUNTIMES, type RunningBroker, startBroker } from "../helpers/broker.ts";
import { launch, logIn, SHOTS, stat, waitForStat } from "./helpers.ts";

const TIMEOUT = 60_000;


/** Publishes every 250 ms until `shown` is visible (a live page subscribes shortly after it renders). */
async function publishUntil(client: mqtt.MqttClient, topic: string, payload: string, shown: Locator): Promise<void> {
  for (let i = 0; i < 80; i++) {
    await client.publishAsync(topic, payload);
    if (await shown.first().isVisible()) return; // several may show by then
    await new Promise((r) => setTimeout(r, 250));
  }
  await shown.first().waitFor({ timeout: 1 });
}

for (const runtime of RUNTIMES) describe(`console in chromium (broker on ${runtime})`, () => {
  let broker: RunningBroker;
  let browser: Browser;
  let page: Page;
  let base = "";
  const errors: string[] = [];
  const mqttUrl = () => `mqtt://127.0.0.1:${broker.port}`;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const port = await freePort();
    broker = await startBroker({ runtime, args: ["--admin-port", String(port)], set: { "admin.initialPassword": "console-test-pw" } });
    base = `http://127.0.0.1:${port}`;
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  }, TIMEOUT);
  afterAll(async () => {
    await browser?.close();
    await broker?.stop();
  }, 20_000);

  // Screenshots of the Bun run keep plain names; the Deno run's get a suffix.
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}${runtime === "bun" ? "" : `-${runtime}`}.png`), fullPage: true });

  test("log in; a wrong password says so", async () => {
    await page.goto(base + "/");
    await page.getByLabel("Account").fill("admin");
    await page.getByLabel("Password").fill("wrong-password");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("alert").filter({ hasText: "wrong account name or password" }).waitFor();
    await shot("login");
    await page.getByLabel("Password").fill("console-test-pw");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    errors.length = 0; // the 401s of "who am I" before logging in and of the wrong password were expected
  }, TIMEOUT);

  test("the dashboard numbers change when a client connects and publishes", async () => {
    await expect(stat(page, "connections").textContent()).resolves.toBe("0");
    const client = await mqtt.connectAsync(mqttUrl(), { clientId: "dash-client", reconnectPeriod: 0 });
    try {
      await waitForStat(page, "connections", "1");
      for (let i = 0; i < 20; i++) await client.publishAsync("dash/t", String(i), { qos: 1 });
      await page.waitForFunction(() => /^[1-9]/.test(document.querySelector('[data-stat="messages-in"] .card-detail')?.textContent ?? ""));
      await page.locator(".chart").first().waitFor(); // the charts fill in after two samples
      await shot("dashboard");
    } finally {
      await client.endAsync();
    }
  }, TIMEOUT);

  test("find a client by search and kick it: the client sees the disconnect", async () => {
    const client = await mqtt.connectAsync(mqttUrl(), { clientId: "kick-target-7", protocolVersion: 5, reconnectPeriod: 0 });
    const gone = new Promise<number | undefined>((resolve) => client.on("disconnect", (p) => resolve(p.reasonCode)));
    await mqtt.connectAsync(mqttUrl(), { clientId: "bystander", reconnectPeriod: 0 }).then((c) => c.endAsync());
    await page.goto(base + "/#/clients");
    await page.getByLabel("Search clients").fill("kick-target");
    const row = page.locator('tr[data-client="kick-target-7"]');
    await row.waitFor();
    await expect(page.locator("tbody tr").count()).resolves.toBe(1);
    await shot("clients");
    page.once("dialog", (d) => d.accept());
    await row.getByRole("button", { name: "Kick" }).click();
    expect(await gone).toBe(0x98);
    await client.endAsync(true);
    await page.goto(base + "/#/sessions");
    await page.getByRole("heading", { name: "Sessions" }).waitFor();
    await shot("sessions");
  }, TIMEOUT);

  test("client detail shows its subscriptions", async () => {
    const client = await mqtt.connectAsync(mqttUrl(), { clientId: "detail-client", protocolVersion: 5, reconnectPeriod: 0 });
    try {
      await client.subscribeAsync("plant/+/temp", { qos: 1 });
      await page.goto(base + "/#/clients/detail-client");
      await page.getByText("plant/+/temp").waitFor();
      await shot("client-detail");
    } finally {
      await client.endAsync();
    }
  }, TIMEOUT);

  test("an MQTT user and an ACL rule made in the console refuse that user's publish", async () => {
    await page.goto(base + "/#/users");
    await page.getByLabel("User name").fill("line-sensor");
    await page.getByLabel("Password", { exact: true }).fill("sensor-secret");
    await page.getByRole("button", { name: "Add user" }).click();
    await page.locator('tr[data-user="line-sensor"]').waitFor();
    await shot("users");

    await page.goto(base + "/#/acl");
    const form = page.getByRole("form", { name: "Add an ACL rule" });
    await form.getByLabel("Permission").selectOption("deny");
    await form.getByLabel("Action").selectOption("publish");
    await form.getByLabel("Who").selectOption("username");
    await form.getByLabel("Name").fill("line-sensor");
    await form.getByLabel("Topic filter").fill("secret/#");
    await form.getByRole("button", { name: "Add rule" }).click();
    await page.locator('tr[data-rule="database-0"]').waitFor();
    const tester = page.getByRole("form", { name: "ACL tester" });
    await tester.getByLabel("User").fill("line-sensor");
    await tester.getByLabel("Topic").fill("secret/x");
    await tester.getByRole("button", { name: "Check" }).click();
    await expect(page.locator("#acl-verdict").textContent()).resolves.toContain("Denied");
    await shot("acl");

    const client = await mqtt.connectAsync(mqttUrl(), { clientId: "sensor-1", username: "line-sensor", password: "sensor-secret", protocolVersion: 5, reconnectPeriod: 0 });
    try {
      const refused = await client.publishAsync("secret/x", "no", { qos: 1 }).then(() => undefined, (e: { code?: number }) => e.code);
      expect(refused).toBe(0x87);
    } finally {
      await client.endAsync();
    }
  }, TIMEOUT);

  test("delete a retained message", async () => {
    const client = await mqtt.connectAsync(mqttUrl(), { clientId: "retainer", reconnectPeriod: 0 });
    await client.publishAsync("plant/line1/setpoint", "42", { qos: 1, retain: true });
    await client.endAsync();
    await page.goto(base + "/#/retained");
    const row = page.locator('tr[data-topic="plant/line1/setpoint"]');
    await row.waitFor();
    await shot("retained");
    page.once("dialog", (d) => d.accept());
    await row.getByRole("button", { name: "Delete" }).click();
    await row.waitFor({ state: "detached" });
    const check = await mqtt.connectAsync(mqttUrl(), { clientId: "retain-check", reconnectPeriod: 0 });
    const got: string[] = [];
    check.on("message", (t) => got.push(t));
    await check.subscribeAsync("plant/line1/setpoint");
    await check.endAsync();
    expect(got).toEqual([]);
  }, TIMEOUT);

  test("the live viewer and the topic tree show a message as it arrives", async () => {
    await page.goto(base + "/#/viewer");
    await page.getByLabel("Topic filter").fill("factory/#");
    await page.getByRole("button", { name: "Subscribe" }).click();
    await page.getByText("Waiting for messages on factory/#").waitFor();
    const client = await mqtt.connectAsync(mqttUrl(), { clientId: "factory-pub", reconnectPeriod: 0 });
    try {
      // The page subscribes when its stream opens, a moment after the button: publish until the message shows.
      await publishUntil(client, "factory/press/pressure", JSON.stringify({ bar: 3.2 }), page.locator('li[data-topic="factory/press/pressure"]'));
      await page.getByLabel("Payload format").selectOption("json");
      await shot("viewer");
      await page.goto(base + "/#/tree");
      await page.getByRole("heading", { name: "Topic tree" }).waitFor();
      const branch = page.locator('li[data-topic="factory"]');
      await publishUntil(client, "factory/press/pressure", JSON.stringify({ bar: 3.3 }), branch);
      await branch.getByRole("button", { name: "expand factory" }).click();
      await page.getByRole("button", { name: "expand factory/press" }).click();
      await page.locator('li[data-topic="factory/press/pressure"] button.link').click();
      await page.getByText('"bar": 3.3').or(page.getByText('{"bar":3.3}')).first().waitFor();
      await shot("tree");
    } finally {
      await client.endAsync();
    }
  }, TIMEOUT);

  test("screenshots of the remaining pages, each without errors", async () => {
    for (const [route, heading] of [
      ["publish", "Publish"],
      ["bans", "Bans"],
      ["config", "Listeners and configuration"],
      ["logs", "Logs"],
      ["accounts", "Admin accounts and API keys"],
      ["audit", "Audit log"],
      ["about", "About"],
    ] as const) {
      await page.goto(`${base}/#/${route}`);
      await page.getByRole("heading", { name: heading, exact: true }).waitFor();
      await page.waitForLoadState("networkidle").catch(() => undefined);
      await shot(route);
    }
    // No bridges configured here: the page says how to add one.
    await page.goto(`${base}/#/bridges`);
    await page.getByRole("heading", { name: "Bridges", exact: true }).waitFor();
    await page.getByText("No bridges are configured").waitFor();
    await shot("bridges-none");
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto(`${base}/#/dashboard`);
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    await shot("dashboard-dark");
    await page.setViewportSize({ width: 800, height: 1100 });
    await shot("dashboard-tablet");
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(errors).toEqual([]);
  }, TIMEOUT);

  test("keyboard: the skip link comes first, the menu works with Enter, focus lands on the new page's heading", async () => {
    await page.goto(base + "/#/dashboard");
    await page.reload(); // a fresh load: the keyboard starts at the top of the document
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    await page.keyboard.press("Tab");
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe("Skip to content");
    await page.getByRole("link", { name: "Retained" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Retained messages" }).waitFor();
    await page.waitForFunction(() => document.activeElement?.id === "page-title");
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe("Retained messages");
  }, TIMEOUT);

  test("a viewer account sees pages but cannot change anything", async () => {
    // The admin makes a viewer account in the console.
    await page.goto(base + "/#/accounts");
    const add = page.getByRole("form", { name: "Add an account" });
    await add.getByLabel("Account name").fill("watcher");
    await add.getByLabel("Password").fill("watcher-password");
    await add.getByLabel("Role").selectOption("viewer");
    await add.getByRole("button", { name: "Add account" }).click();
    await page.locator('tr[data-account="watcher"]').waitFor();

    const context = await browser.newContext();
    const viewer = await context.newPage();
    try {
      await logIn(viewer, base, "watcher", "watcher-password");
      const client = await mqtt.connectAsync(mqttUrl(), { clientId: "viewer-sees-me", reconnectPeriod: 0 });
      try {
        await viewer.goto(base + "/#/clients");
        await viewer.locator('tr[data-client="viewer-sees-me"]').waitFor();
        await expect(viewer.getByRole("button", { name: "Kick" }).count()).resolves.toBe(0);
        await viewer.screenshot({ path: join(SHOTS, `viewer-clients${runtime === "bun" ? "" : `-${runtime}`}.png`), fullPage: true });
      } finally {
        await client.endAsync();
      }
      await viewer.goto(base + "/#/publish");
      await expect(viewer.getByRole("button", { name: "Publish" }).isDisabled()).resolves.toBe(true);
      await viewer.goto(base + "/#/users");
      await viewer.getByRole("heading", { name: "MQTT users" }).waitFor();
      await expect(viewer.getByRole("button", { name: "Add user" }).count()).resolves.toBe(0);
      // And the API itself refuses, whatever the page shows.
      const status = await viewer.evaluate(async () => {
        const me = await (await fetch("/api/v1/auth/me")).json() as { csrfToken: string };
        const res = await fetch("/api/v1/users", {
          method: "POST",
          headers: { "content-type": "application/json", "x-csrf-token": me.csrfToken },
          body: JSON.stringify({ username: "sneaky", password: "x" }),
        });
        return res.status;
      });
      expect(status).toBe(403);
    } finally {
      await context.close();
    }
  }, TIMEOUT);
});
