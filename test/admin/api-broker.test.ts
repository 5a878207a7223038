/** Admin API routes over the broker's management seam (a real broker on the memory store, in-process sessions). */
import { describe, expect, test } from "bun:test";
import { apiSetup } from "./api-helpers.ts";

describe("admin API over the management seam", () => {
  test("the broker's own sessions (a bridge's queue, a console viewer) are marked internal in the session list", async () => {
    const { login, broker } = await apiSetup();
    const root = await login("root", "root-password");
    for (const clientId of ["bridge:cloud", "$console-k3x9"]) {
      broker.openLocalSession({ clientId, cleanStart: true, sessionExpiryInterval: 0, maxInflight: 1 }, () => {}).resume();
    }
    const page = await (await root.as("/sessions")).json() as { items: Array<{ clientId: string; internal?: string }> };
    expect(page.items.map((s) => [s.clientId, s.internal])).toEqual([["$console-k3x9", "console"], ["bridge:cloud", "bridge"]]);

    // While their owner holds them they are neither kicked nor deleted (the bridge would stop unknowingly).
    const kick = await root.as(`/sessions/${encodeURIComponent("bridge:cloud")}/disconnect`, "POST");
    expect(kick.status).toBe(409);
    expect(await kick.text()).toContain('queue of bridge \\"cloud\\": remove the bridge from the configuration');
    expect((await root.as(`/sessions/${encodeURIComponent("bridge:cloud")}`, "DELETE")).status).toBe(409);
    expect((await root.as(`/sessions/${encodeURIComponent("$console-k3x9")}`, "DELETE")).status).toBe(409);
    // A removed bridge's left-over queue (its session detached, not expired) can be deleted.
    const old = broker.openLocalSession({ clientId: "bridge:old", cleanStart: true, sessionExpiryInterval: 3600, maxInflight: 1 }, () => {});
    old.close();
    expect((await root.as(`/sessions/${encodeURIComponent("bridge:old")}`, "DELETE")).status).toBe(204);
  });

  test("publish (text and base64, retained), retained list/one/delete, sessions, subscriptions, session delete", async () => {
    const { login, broker } = await apiSetup();
    const root = await login("root", "root-password");
    const received: string[] = [];
    const local = broker.openLocalSession({ clientId: "plant-bridge", cleanStart: true, sessionExpiryInterval: 3600, maxInflight: 10 }, (d) => {
      received.push(`${d.topic}=${new TextDecoder().decode(d.payload)}`);
      if (d.packetId) local.acknowledge(d.packetId);
    });
    local.subscribe("plant/#", { qos: 1 });
    local.resume();

    const sent = await root.as("/publish", "POST", { topic: "plant/line1/temp", payload: "21.5", qos: 1, retain: true, properties: { contentType: "text/plain" } });
    expect(await sent.json()).toEqual({ deliveredTo: 1 });
    await root.as("/publish", "POST", { topic: "plant/line1/raw", payload: btoa("\u0000\u00ff"), encoding: "base64", retain: true });
    for (let i = 0; i < 10 && received.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 0)); // journal writes resolve first
    expect(received).toEqual(["plant/line1/temp=21.5", expect.stringMatching(/^plant\/line1\/raw=/)]);
    expect((await root.as("/publish", "POST", { topic: "plant/+/x", payload: "" })).status).toBe(400);

    const page = await (await root.as("/retained?filter=plant/%23")).json() as { total: number; items: Array<Record<string, unknown>> };
    expect(page.total).toBe(2);
    const raw = page.items.find((i) => i.topic === "plant/line1/raw")!;
    expect(raw).toMatchObject({ payload: btoa("\u0000\u00ff"), size: 2, qos: 0 });
    expect(raw.text).toBeUndefined(); // not valid UTF-8
    const temp = await (await root.as(`/retained/${encodeURIComponent("plant/line1/temp")}`)).json();
    expect(temp).toMatchObject({ topic: "plant/line1/temp", text: "21.5", qos: 1, properties: { contentType: "text/plain" } });
    expect((await root.as("/retained?filter=a/%23/b")).status).toBe(400);
    expect((await root.as(`/retained/${encodeURIComponent("plant/line1/temp")}`, "DELETE")).status).toBe(204);
    expect((await root.as(`/retained/${encodeURIComponent("plant/line1/temp")}`)).status).toBe(404);

    const sessions = await (await root.as("/sessions?search=bridge")).json() as { total: number; items: Array<Record<string, unknown>> };
    expect(sessions.total).toBe(1);
    expect(sessions.items[0]).toMatchObject({ clientId: "plant-bridge", subscriptions: 1, expiryInterval: 3600 });
    expect(sessions.items[0]!.internal).toBeUndefined(); // any client id but the reserved prefixes
    expect(await (await root.as("/sessions?search=nothing-like-it")).json()).toMatchObject({ total: 0, items: [] });
    expect((await root.as("/sessions?sort=bogus")).status).toBe(400);
    const detail = await (await root.as("/sessions/plant-bridge")).json() as { subscriptionList: unknown[] };
    expect(detail.subscriptionList).toEqual([expect.objectContaining({ clientId: "plant-bridge", filter: "plant/#", qos: 1 })]);
    const subs = await (await root.as("/subscriptions?filter=plant/line9/x")).json() as { total: number };
    expect(subs.total).toBe(1);

    expect((await root.as("/sessions/nobody/disconnect", "POST")).status).toBe(404);
    expect((await root.as("/sessions/plant-bridge", "DELETE")).status).toBe(204);
    expect((await root.as("/sessions/plant-bridge")).status).toBe(404);
  });

  test("a viewer lists but cannot publish, delete retained messages or sessions", async () => {
    const { login } = await apiSetup();
    const viewer = await login("watcher", "watcher-password");
    expect((await viewer.as("/sessions")).status).toBe(200);
    expect((await viewer.as("/retained")).status).toBe(200);
    for (const [path, method, body] of [["/publish", "POST", { topic: "a", payload: "b" }], ["/retained/a", "DELETE", undefined], ["/sessions/x", "DELETE", undefined], ["/sessions/x/disconnect", "POST", undefined]] as const) {
      expect({ path, status: (await viewer.as(path, method, body)).status }).toEqual({ path, status: 403 });
    }
  });
});

describe("/metrics", () => {
  test("Prometheus text that `promtool check metrics` accepts, behind a login or key", async () => {
    const { login, call, app } = await apiSetup();
    const root = await login("root", "root-password");
    expect((await app.request("/metrics")).status).toBe(401);
    const res = await app.request("http://gannet.test/metrics", { headers: { cookie: root.cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    const text = await res.text();
    expect(text).toContain("# TYPE gannet_messages_received_total counter");
    expect(text).toMatch(/^gannet_retained_messages \d+$/m);
    expect(await (await call("/metrics", { headers: { cookie: root.cookie } })).text()).toContain("gannet_sessions 0");
    const { spawnSync } = await import("node:child_process");
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect({ status: check.status, output: check.stdout + check.stderr }).toEqual({ status: 0, output: "" });
  });
});

describe("drops by reason and bridges", () => {
  test("/metrics and /overview count dropped messages by reason; /bridges lists the bridges (none here) for a viewer", async () => {
    const { login, broker } = await apiSetup();
    const root = await login("root", "root-password");
    const local = broker.openLocalSession({ clientId: "full", cleanStart: true, sessionExpiryInterval: 60, maxInflight: 1, queue: { maxMessages: 1 } }, () => {});
    local.subscribe("q", { qos: 1 }); // paused: everything queues, one place only
    for (let i = 0; i < 3; i++) broker.publish({ topic: "q", payload: String(i), qos: 1 });
    const text = await (await root.as("/metrics")).text();
    expect(text).toContain('gannet_messages_dropped_total{reason="queueFull"} 2');
    expect(text).toContain('gannet_messages_dropped_total{reason="notReading"} 0');
    expect(text).not.toContain("gannet_bridge_up"); // no bridge configured
    const overview = await (await root.as("/overview")).json() as { publishDropped: number; droppedBy: Record<string, number> };
    expect(overview.publishDropped).toBe(2);
    expect(overview.droppedBy).toMatchObject({ queueFull: 2, expired: 0, tooLarge: 0 });
    const viewer = await login("watcher", "watcher-password");
    expect(await (await viewer.as("/bridges")).json()).toEqual({ items: [] });
  });
});
