/** SSE streams (overview, logs, topic viewer), the time series and log routes, over the in-process broker. */
import { describe, expect, test } from "bun:test";
import { apiSetup } from "./api-helpers.ts";

interface SseEvent {
  event: string;
  data: string;
}

/** Reads events from an SSE response until `until` says stop; then cancels the stream (the browser going away). */
async function readEvents(res: Response, until: (events: SseEvent[]) => boolean): Promise<SseEvent[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buffer = "";
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = block.startsWith(":") ? "comment" : /^event: ?(.*)$/m.exec(block)?.[1] ?? "message";
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.replace(/^data: ?/, "")).join("\n");
      events.push({ event, data });
    }
  }
  await reader.cancel();
  return events;
}

describe("admin API streams", () => {
  test("overview stream sends the numbers as JSON events", async () => {
    const { login } = await apiSetup();
    const root = await login("root", "root-password");
    const res = await root.as("/overview/stream");
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    const [first] = await readEvents(res, (e) => e.length >= 1);
    expect(first!.event).toBe("overview");
    expect(JSON.parse(first!.data)).toMatchObject({ version: "9.9.9", clientsConnected: 0, process: { platform: "test" } });
  });

  test("topic viewer: subscribes in-process while the stream lasts, sends messages (base64), ends its session after", async () => {
    const { login, broker } = await apiSetup();
    const viewer = await login("watcher", "watcher-password");
    const res = await viewer.as("/topics/stream?filter=plant/%23");
    expect(res.status).toBe(200);
    const reading = readEvents(res, (e) => e.some((x) => x.event === "message"));
    // Publish once the viewer's session is subscribed (the ready event comes after subscribe).
    for (let i = 0; i < 50 && broker.listSessions({ search: "$console-" }).total === 0; i++) await new Promise((r) => setTimeout(r, 0));
    expect(broker.publish({ topic: "plant/line1/temp", payload: "21.5" })).toBe(1);
    const events = await reading;
    const message = JSON.parse(events.find((e) => e.event === "message")!.data);
    expect(message).toMatchObject({ topic: "plant/line1/temp", qos: 0, size: 4, payload: btoa("21.5"), truncated: false });
    for (let i = 0; i < 50 && broker.listSessions({ search: "$console-" }).total > 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(broker.listSessions({ search: "$console-" }).total).toBe(0);
  });

  test("an idle stream sends a keep-alive comment every 5 s (Bun closes responses idle for 10 s)", async () => {
    const { login, clock } = await apiSetup();
    const root = await login("root", "root-password");
    const res = await root.as("/topics/stream?filter=quiet/%23");
    let advanced = false;
    const events = await readEvents(res, (e) => {
      if (!advanced && e.some((x) => x.event === "ready")) {
        clock.advance(5000);
        advanced = true;
      }
      return e.some((x) => x.event === "comment");
    });
    expect(events.map((e) => e.event)).toEqual(["ready", "comment"]);
  });

  test("topic viewer: a bad filter is 400; the named user's ACL applies (403)", async () => {
    const { login, store, config } = await apiSetup();
    config.acl.default = "deny";
    await store.security.addAclRule({ topic: "public/#", action: "subscribe", permission: "allow", username: "guest" });
    const root = await login("root", "root-password");
    expect((await root.as("/topics/stream?filter=a/%23/b")).status).toBe(400);
    const denied = await root.as("/topics/stream?filter=secret/%23&username=guest");
    expect(denied.status).toBe(403);
    expect((await denied.json()).error.message).toContain("may not subscribe");
    const allowed = await root.as("/topics/stream?filter=public/%23&username=guest");
    expect(allowed.status).toBe(200);
    await allowed.body!.cancel();
  });

  test("logs: recent lines with a level filter, and a live stream", async () => {
    const { login, logs } = await apiSetup();
    logs.push("info", "hello", 1);
    logs.push("warn", "careful", 2);
    const root = await login("root", "root-password");
    const warn = await (await root.as("/logs?level=warn")).json() as { items: Array<{ line: string }> };
    expect(warn.items.map((e) => e.line)).toEqual(["careful"]);
    const res = await root.as("/logs/stream?level=error");
    const reading = readEvents(res, (e) => e.length >= 1);
    logs.push("info", "not this one", 3);
    logs.push("error", "broken", 4);
    const [event] = await reading;
    expect(JSON.parse(event!.data)).toMatchObject({ level: "error", line: "broken" });
  });

  test("time series route: columns per resolution", async () => {
    const { login, series, broker, clock } = await apiSetup();
    series.sample(broker.stats, clock.now());
    clock.advance(1000);
    series.sample(broker.stats, clock.now());
    const root = await login("root", "root-password");
    const columns = await (await root.as("/overview/series?resolution=1s")).json() as Record<string, number[]>;
    expect(columns.t).toEqual([clock.now()]);
    expect(columns.connections).toEqual([0]);
    expect(Object.keys(columns)).toContain("messagesInPerSecond");
    expect((await root.as("/overview/series?resolution=5m")).status).toBe(400);
  });
});
