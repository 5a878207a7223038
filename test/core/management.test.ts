/**
 * The management seam (src/core/management.ts through the Broker interface): snapshot queries
 * over sessions, subscriptions and retained messages, and the commands an administrator has
 * (disconnect, delete a session, delete a retained message). In-process, on fake time.
 */
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunSqliteExecutor } from "../../adapters/bun/sqlite.ts";
import { SqliteStore } from "../../src/store/sqlite/store.ts";
import { type InProcessBroker, inProcessBroker } from "../helpers/in-process.ts";

let b: InProcessBroker;
const dirs: string[] = [];
afterEach(async () => {
  await b.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function sqliteStore(): Promise<{ store: SqliteStore; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "gannet-mgmt-"));
  dirs.push(dir);
  const db = new Database(join(dir, "gannet.db"), { create: true, strict: true });
  return { store: await SqliteStore.open(bunSqliteExecutor(db)), dir };
}

describe("management queries", () => {
  test("listSessions: connected and offline sessions, search by client id, user name or address, paging and sorting", async () => {
    b = await inProcessBroker();
    for (const id of ["plc-1", "plc-2", "hmi-1"]) await b.connect({ version: 5, clientId: id, username: id === "hmi-1" ? "operator" : undefined });
    const { client: gone } = await b.connect({ version: 5, clientId: "offline-1", clean: false, properties: { sessionExpiryInterval: 60 } });
    gone.drop();
    await b.settle();

    const all = b.broker.listSessions();
    expect(all.total).toBe(4);
    expect(all.items.map((s) => s.clientId)).toEqual(["hmi-1", "offline-1", "plc-1", "plc-2"]);
    expect(b.broker.listSessions({ state: "connected" }).items.map((s) => s.clientId)).toEqual(["hmi-1", "plc-1", "plc-2"]);
    const offline = b.broker.listSessions({ state: "offline" }).items;
    expect(offline.map((s) => [s.clientId, s.connected, s.expiryInterval])).toEqual([["offline-1", false, 60]]);
    expect(offline[0].disconnectedAt).toBe(b.clock.now());
    expect(b.broker.listSessions({ search: "PLC" }).items.map((s) => s.clientId)).toEqual(["plc-1", "plc-2"]);
    expect(b.broker.listSessions({ search: "operator" }).items.map((s) => s.clientId)).toEqual(["hmi-1"]);
    expect(b.broker.listSessions({ search: "127.0.0.1:50001" }).items.map((s) => s.clientId)).toEqual(["plc-2"]);
    const page = b.broker.listSessions({ offset: 1, limit: 2, order: "desc" });
    expect(page).toMatchObject({ total: 4, offset: 1, limit: 2 });
    expect(page.items.map((s) => s.clientId)).toEqual(["plc-1", "offline-1"]);
  });

  test("session detail: protocol, address, keepalive, times, subscriptions with v5 options, inflight and queued counts, will and traffic", async () => {
    b = await inProcessBroker();
    const start = b.clock.now();
    const { client } = await b.connect({
      version: 5,
      clientId: "dev",
      keepalive: 30,
      clean: false,
      properties: { sessionExpiryInterval: 300, receiveMaximum: 1 },
      will: { topic: "dev/status", payload: Buffer.from("offline"), qos: 1, retain: true, properties: { willDelayInterval: 5 } },
    });
    await client.subscribe([{ topic: "cmd/#", qos: 1, nl: true, rap: true, rh: 2 }], { properties: { subscriptionIdentifier: 7 } });
    await b.advance(1000);
    const { client: pub } = await b.connect({ version: 5, clientId: "pub" });
    await pub.publish("cmd/a", "1", { qos: 1 });
    await pub.publish("cmd/b", "22", { qos: 1 }); // Receive Maximum 1: waits in the queue

    const detail = b.broker.session("dev")!;
    expect(detail).toMatchObject({
      clientId: "dev",
      connected: true,
      protocolVersion: 5,
      address: "127.0.0.1:50000",
      keepalive: 30,
      cleanStart: false,
      expiryInterval: 300,
      connectedAt: start,
      subscriptions: 1,
      inflight: 1,
      queued: 1,
      queuedBytes: 2,
      dropped: 0,
      will: { topic: "dev/status", qos: 1, retain: true, delayInterval: 5 },
    });
    expect(detail.subscriptionList).toEqual([
      { clientId: "dev", filter: "cmd/#", qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionIdentifier: 7 },
    ]);
    expect(detail.messagesOut).toBe(1);
    expect(detail.bytesIn).toBeGreaterThan(0);
    expect(detail.bytesOut).toBeGreaterThan(0);
    expect(b.broker.session("pub")!.messagesIn).toBe(2);
    expect(b.broker.session("nobody")).toBeUndefined();

    // A snapshot is plain data: changing it changes nothing in the broker.
    detail.subscriptionList.length = 0;
    expect(b.broker.session("dev")!.subscriptionList).toHaveLength(1);

    // Offline with a delayed will: the pending will shows in the detail.
    client.drop();
    await b.settle();
    expect(b.broker.session("dev")).toMatchObject({ connected: false, will: { topic: "dev/status", delayInterval: 5 } });
  });

  test("listSubscriptions: all, by client, by exact filter, and those matching a topic", async () => {
    b = await inProcessBroker();
    const { client: a } = await b.connect({ version: 5, clientId: "a" });
    const { client: c } = await b.connect({ version: 4, clientId: "c" });
    await a.subscribe([{ topic: "plant/+/temp", qos: 1 }, { topic: "$share/g/plant/#", qos: 0 }]);
    await c.subscribe("plant/line1/temp", { qos: 2 });
    expect(b.broker.listSubscriptions().total).toBe(3);
    expect(b.broker.listSubscriptions({ clientId: "c" }).items.map((s) => [s.filter, s.qos])).toEqual([["plant/line1/temp", 2]]);
    expect(b.broker.listSubscriptions({ filter: "$share/g/plant/#" }).items).toEqual([
      { clientId: "a", filter: "$share/g/plant/#", shareName: "g", qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
    ]);
    expect(b.broker.listSubscriptions({ filter: "plant/line1/temp" }).items.map((s) => `${s.clientId} ${s.filter}`)).toEqual([
      "a $share/g/plant/#",
      "a plant/+/temp",
      "c plant/line1/temp",
    ]);
    expect(b.broker.listSubscriptions({ limit: 1, offset: 2 }).items.map((s) => s.filter)).toEqual(["plant/line1/temp"]);
  });

  test("listRetained and retainedMessage: by filter, paged, sorted by topic; $SYS only for a filter that names it; invalid filter is a RangeError", async () => {
    b = await inProcessBroker();
    const { client } = await b.connect({ version: 5, clientId: "p" });
    for (const topic of ["s/3", "s/1", "s/2", "other"]) await client.publish(topic, `v${topic}`, { qos: 1, retain: true, properties: { contentType: "text/plain" } });
    b.broker.publish({ topic: "$SYS/broker/x", payload: "1", retain: true });
    const page = b.broker.listRetained({ filter: "s/+", limit: 2 });
    expect(page.total).toBe(3);
    expect(page.items.map((m) => [m.topic, new TextDecoder().decode(m.payload), m.qos])).toEqual([["s/1", "vs/1", 1], ["s/2", "vs/2", 1]]);
    expect(page.items[0].properties.contentType).toBe("text/plain");
    expect(b.broker.listRetained().items.map((m) => m.topic)).toEqual(["other", "s/1", "s/2", "s/3"]);
    expect(b.broker.listRetained({ filter: "$SYS/#" }).items.map((m) => m.topic)).toEqual(["$SYS/broker/x"]);
    expect(b.broker.retainedMessage("s/2")?.topic).toBe("s/2");
    expect(b.broker.retainedMessage("s/+")).toBeUndefined();
    expect(b.broker.retainedMessage("nothing")).toBeUndefined();
    expect(() => b.broker.listRetained({ filter: "a/#/b" })).toThrow(RangeError);
  });

  test("stats: connections peak and queued messages; listeners; storeSize is undefined for the memory store", async () => {
    b = await inProcessBroker();
    const { client: a } = await b.connect({ version: 4, clientId: "a", clean: false });
    await a.subscribe("q", { qos: 1 });
    const { client: c } = await b.connect({ version: 4, clientId: "c" });
    a.drop();
    c.drop();
    await b.settle();
    const { client: p } = await b.connect({ version: 4, clientId: "p" });
    await p.publish("q", "1", { qos: 1 });
    await p.publish("q", "2", { qos: 1 });
    const stats = b.broker.stats;
    expect(stats.connectionsPeak).toBe(2);
    expect(stats.clientsConnected).toBe(1);
    expect(stats.queued).toBe(2);
    expect(b.broker.listeners()).toEqual([]); // the harness accepts without a named listener
    expect(await b.broker.storeSize()).toBeUndefined();
  });
});

describe("management commands", () => {
  test("[v5 MQTT-3.14.2-1] disconnectClient: DISCONNECT 0x98 Administrative action by default, or the caller's reason code; the session stays per its expiry", async () => {
    b = await inProcessBroker();
    const { client } = await b.connect({ version: 5, clientId: "kick", clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(b.broker.disconnectClient("kick")).toBe(true);
    const disconnect = await client.expectPacket("disconnect");
    expect(disconnect.reasonCode).toBe(0x98);
    expect(client.closed).toBe(true);
    expect(b.broker.session("kick")?.connected).toBe(false);
    expect(b.broker.disconnectClient("kick")).toBe(false); // not connected any more

    const { client: again } = await b.connect({ version: 5, clientId: "kick", clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(b.broker.disconnectClient("kick", 0x89)).toBe(true);
    expect((await again.expectPacket("disconnect")).reasonCode).toBe(0x89);
  });

  test("disconnectClient of a 3.1.1 client closes its connection (no DISCONNECT from a 3.1.1 server); its will is published", async () => {
    b = await inProcessBroker();
    const { client: watcher } = await b.connect({ version: 4, clientId: "w" });
    await watcher.subscribe("status");
    const { client } = await b.connect({ version: 4, clientId: "old", will: { topic: "status", payload: Buffer.from("lost") } });
    expect(b.broker.disconnectClient("old")).toBe(true);
    await client.expectNoPacket();
    expect(client.closed).toBe(true);
    expect(String((await watcher.expectPacket("publish")).payload)).toBe("lost");
  });

  test("deleteSession: a connected client is disconnected (0x98), its will published, its session and subscriptions gone", async () => {
    b = await inProcessBroker();
    const { client: watcher } = await b.connect({ version: 5, clientId: "w" });
    await watcher.subscribe("status");
    const { client } = await b.connect({
      version: 5,
      clientId: "dev",
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      will: { topic: "status", payload: Buffer.from("gone") },
    });
    await client.subscribe("x/#");
    expect(await b.broker.deleteSession("dev")).toBe(true);
    expect((await client.expectPacket("disconnect")).reasonCode).toBe(0x98);
    expect(String((await watcher.expectPacket("publish")).payload)).toBe("gone");
    expect(b.broker.session("dev")).toBeUndefined();
    expect(b.broker.listSubscriptions({ clientId: "dev" }).total).toBe(0);
    expect(await b.broker.deleteSession("dev")).toBe(false);
    const { connack } = await b.connect({ version: 5, clientId: "dev", clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(connack.sessionPresent).toBe(false);
  });

  test("deleteSession and deleteRetained remove persistent state from the store (it is not back after a restart)", async () => {
    const { store, dir } = await sqliteStore();
    b = await inProcessBroker({ store });
    const { client } = await b.connect({ version: 4, clientId: "keep", clean: false });
    await client.subscribe("a", { qos: 1 });
    const { client: other } = await b.connect({ version: 4, clientId: "gone", clean: false });
    await other.subscribe("a", { qos: 1 });
    await client.publish("r/1", "one", { qos: 1, retain: true });
    await client.publish("r/2", "two", { qos: 1, retain: true });
    other.drop();
    await b.settle();
    expect(await b.broker.storeSize()).toBeGreaterThan(0);
    expect(await b.broker.deleteSession("gone")).toBe(true);
    expect(await b.broker.deleteRetained("r/1")).toBe(true);
    expect(await b.broker.deleteRetained("r/1")).toBe(false);
    await b.close();

    const db = new Database(join(dir, "gannet.db"), { strict: true });
    b = await inProcessBroker({ store: await SqliteStore.open(bunSqliteExecutor(db)) });
    expect(b.broker.listSessions().items.map((s) => s.clientId)).toEqual(["keep"]);
    expect(b.broker.listRetained().items.map((m) => m.topic)).toEqual(["r/2"]);
  });
});
