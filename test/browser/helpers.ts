/// <reference lib="dom" />
/** Chromium (Debian's, headless) through playwright-core, and the steps the console tests share. */
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { REPO_ROOT } from "../helpers/broker.ts";

export const SHOTS = join(REPO_ROOT, "test", "browser", "screenshots");

export async function launch(): Promise<Browser> {
  return await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless=new", "--no-sandbox"] });
}

export async function logIn(page: Page, base: string, name: string, password: string): Promise<void> {
  await page.goto(base + "/");
  await page.getByLabel("Account").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
}

/** The big number of a dashboard card. */
export const stat = (page: Page, id: string) => page.locator(`[data-stat="${id}"] .card-value`);

/** Waits until the dashboard card `id` shows `value`. */
export async function waitForStat(page: Page, id: string, value: string): Promise<void> {
  await page.waitForFunction(
    ([i, v]) => document.querySelector(`[data-stat="${i}"] .card-value`)?.textContent === v,
    [id, value] as const,
  );
}
