/** The admin app over a memory store with a movable clock: log in, call with cookie + CSRF, or with a key. */
import { createAdminApp } from "../../src/admin/mod.ts";
import type { Management } from "../../src/admin/mod.ts";
import { defaultConfig } from "../../src/config/schema.ts";
import { addAccount } from "../../src/security/admin-accounts.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { createBroker } from "../../src/core/broker.ts";
import { silentLogger } from "../../src/ports/logger.ts";
import { FakeClock } from "../helpers/fake-clock.ts";
import { LogRing } from "../../src/admin/log-ring.ts";
import { MetricsSeries } from "../../src/admin/series.ts";

export async function apiSetup(options: { started?: boolean } = {}) {
  const store = new MemoryStore();
  const now = 1_000_000;
  let refreshes = 0;
  const config = defaultConfig();
  const series = new MetricsSeries();
  const logs = new LogRing();
  // A real broker over the memory store and a fake clock: the management seam without sockets.
  const clock = new FakeClock(now - 5000);
  const broker = createBroker(config, { store, clock, logger: silentLogger });
  await broker.start();
  clock.advance(5000); // uptime 5 s; the clock reads 1,000,000 when a test begins
  const management: Management = {
    store,
    config: () => config,
    now: () => clock.now(),
    refreshSecurity: () => {
      refreshes++;
      return Promise.resolve();
    },
    reload: () => Promise.resolve({ ok: true, applied: ["logging"], restart: [], problems: [] }),
    broker,
    series,
    logs,
    processStats: () => ({ cpuSeconds: 1.5, residentBytes: 50_000_000, heapBytes: 10_000_000, platform: "test" }),
  };
  let started = options.started ?? true;
  const app = createAdminApp({
    version: "9.9.9",
    runtime: "test",
    readiness: () => ({ ready: true, waitingFor: [] }),
    uptime: () => 5,
    assets: () => Promise.resolve(undefined),
    management: () => (started ? management : undefined),
  });
  await addAccount(store.admin, "root", "root-password", "admin", now);
  await addAccount(store.admin, "watcher", "watcher-password", "viewer", now);

  const call = (path: string, init: RequestInit = {}, address = "10.0.0.1") =>
    app.request(`http://gannet.test/api/v1${path}`, init, { remoteAddress: address });

  /** Logs in; returns a caller that sends the cookie and the CSRF token. */
  async function login(name: string, password: string) {
    const res = await call("/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name, password }),
    });
    if (res.status !== 200) throw new Error(`login ${name}: ${res.status} ${await res.text()}`);
    const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
    const { csrfToken } = await res.json() as { csrfToken: string };
    const as = (path: string, method = "GET", body?: unknown, extra: Record<string, string> = {}) =>
      call(path, {
        method,
        headers: { cookie, "x-csrf-token": csrfToken, ...(body === undefined ? {} : { "content-type": "application/json" }), ...extra },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    return { as, cookie, csrfToken, setCookie: res.headers.get("set-cookie")! };
  }

  const withKey = (key: string) => (path: string, method = "GET", body?: unknown) =>
    call(path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  return {
    app,
    store,
    config,
    call,
    login,
    withKey,
    advance: (ms: number) => clock.advance(ms),
    broker,
    series,
    logs,
    clock,
    refreshes: () => refreshes,
    start: () => (started = true),
  };
}
