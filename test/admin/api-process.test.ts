/**
 * The admin API of a running broker (Bun and Deno) over its real HTTP port: log in as the first
 * admin, see a connected MQTT client in the overview, add an MQTT user and an ACL rule that the
 * broker applies at once (a publish is refused), and the audit entry with the requester's address.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import mqtt from "mqtt";
import { freePort, RUNTIMES, type RunningBroker, startBroker } from "../helpers/broker.ts";

for (const runtime of RUNTIMES) {
  describe(`admin API in the process (${runtime})`, () => {
    let broker: RunningBroker | undefined;
    let base = "";
    let cookie = "";
    let csrf = "";
    beforeAll(async () => {
      const port = await freePort();
      broker = await startBroker({ runtime, args: ["--admin-port", String(port)], set: { "admin.initialPassword": "first-admin-pw" } });
      base = `http://127.0.0.1:${port}/api/v1`;
    }, 30_000);
    afterAll(async () => {
      await broker?.stop();
    }, 10_000);

    const call = (path: string, method = "GET", body?: unknown) =>
      fetch(base + path, {
        method,
        headers: { cookie, "x-csrf-token": csrf, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    test("log in as admin, overview counts a connected client", async () => {
      const res = await fetch(`${base}/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "admin", password: "first-admin-pw" }),
      });
      const body = await res.json() as { csrfToken: string };
      expect({ status: res.status, body }).toMatchObject({ status: 200, body: { account: "admin" } });
      cookie = res.headers.get("set-cookie")!.split(";")[0]!;
      csrf = body.csrfToken;
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker!.port}`, { clientId: "api-seen", reconnectPeriod: 0 });
      try {
        const overview = await (await call("/overview")).json() as { clientsConnected: number; runtime: string };
        expect(overview).toMatchObject({ clientsConnected: 1, runtime: expect.stringContaining(runtime) });
      } finally {
        await client.endAsync();
      }
    });

    test("find a client by search and kick it: the client gets DISCONNECT 0x98", async () => {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker!.port}`, { clientId: "kick-me-1", protocolVersion: 5, reconnectPeriod: 0 });
      const disconnected = new Promise<number | undefined>((resolve) => client.on("disconnect", (p) => resolve(p.reasonCode)));
      const found = await (await call("/sessions?search=kick-me&state=connected")).json() as { items: Array<{ clientId: string; connected: boolean }> };
      expect(found.items).toEqual([expect.objectContaining({ clientId: "kick-me-1", connected: true })]);
      expect((await call("/sessions/kick-me-1/disconnect", "POST")).status).toBe(204);
      expect(await disconnected).toBe(0x98);
      await client.endAsync(true);
    });

    test("an ACL rule added through the API refuses a publish at once; the audit names the address", async () => {
      expect((await call("/users", "POST", { username: "sensor", password: "sensor-pw" })).status).toBe(201);
      expect((await call("/acl", "POST", { rule: { topic: "forbidden/#", action: "publish", permission: "deny", username: "sensor" } })).status).toBe(201);
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker!.port}`, {
        clientId: "acl-check",
        username: "sensor",
        password: "sensor-pw",
        protocolVersion: 5,
        reconnectPeriod: 0,
      });
      try {
        // mqtt.js rejects a PUBACK with a failure reason code.
        const refused = await client.publishAsync("forbidden/x", "no", { qos: 1 }).then(() => undefined, (e: { code?: number }) => e.code);
        expect(refused).toBe(0x87);
      } finally {
        await client.endAsync();
      }
      const audit = await (await call("/audit?action=acl.")).json() as { items: Array<{ actor: string; address: string }> };
      expect(audit.items[0]).toMatchObject({ actor: "admin", address: expect.stringMatching(/127\.0\.0\.1/) });
    });

    test("/metrics with process CPU and memory and the store's commit latency histogram; promtool accepts it", async () => {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker!.port}`, { clientId: "metrics-writer", clean: false, reconnectPeriod: 0 });
      await client.subscribeAsync("m/#", { qos: 1 }); // a persistent session: its subscription is committed to SQLite
      await client.endAsync();
      const text = await (await fetch(base.replace("/api/v1", "") + "/metrics", { headers: { cookie } })).text();
      expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
      expect(text).toMatch(/^gannet_store_commit_seconds_count [1-9]\d*$/m);
      const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      expect({ status: check.status, output: check.stdout + check.stderr }).toEqual({ status: 0, output: "" });
    });
  });
}
