/**
 * In-process session owners (broker.openLocalSession, src/core/local-session.ts): what a bridge
 * builds on. Its queue is the session's queue and journal, so what it was handed survives a
 * restart; deliveries keep their order; the window, pause/resume and QoS 2 state behave as for
 * a client connection.
 */
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunSqliteExecutor } from "../../adapters/bun/sqlite.ts";
import type { LocalDelivery, LocalSessionOptions } from "../../src/mod.ts";
import { SqliteStore } from "../../src/store/sqlite/store.ts";
import { type InProcessBroker, inProcessBroker } from "../helpers/in-process.ts";

let b: InProcessBroker;
const dirs: string[] = [];
afterEach(async () => {
  await b.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function sqlite(dir: string): Promise<SqliteStore> {
  return SqliteStore.open(bunSqliteExecutor(new Database(join(dir, "gannet.db"), { create: true, strict: true })));
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "gannet-local-"));
  dirs.push(dir);
  return dir;
}

const options = (o: Partial<LocalSessionOptions> = {}): LocalSessionOptions => ({
  clientId: "bridge:cloud",
  cleanStart: false,
  sessionExpiryInterval: 0xffffffff,
  maxInflight: 10,
  ...o,
});

const text = (d: LocalDelivery) => new TextDecoder().decode(d.payload);

describe("in-process sessions", () => {
  test("a subscribed local session gets QoS 1 deliveries with packet ids, in order; acknowledge completes them", async () => {
    b = await inProcessBroker();
    const got: LocalDelivery[] = [];
    const local = b.broker.openLocalSession(options(), (d) => got.push(d));
    expect(local.sessionPresent).toBe(false);
    local.subscribe("plant/#", { qos: 1 });
    local.resume();
    const { client } = await b.connect({ version: 5, clientId: "plc" });
    for (let i = 0; i < 3; i++) await client.publish(`plant/${i}`, `m${i}`, { qos: 1 });
    await b.settle();
    expect(got.map((d) => [d.topic, text(d), d.qos, d.state, d.origin])).toEqual([
      ["plant/0", "m0", 1, "new", "plc"],
      ["plant/1", "m1", 1, "new", "plc"],
      ["plant/2", "m2", 1, "new", "plc"],
    ]);
    expect(new Set(got.map((d) => d.packetId)).size).toBe(3);
    expect(local.stats.inflight).toBe(3);
    for (const d of got) local.acknowledge(d.packetId);
    expect(local.stats).toMatchObject({ inflight: 0, queued: 0 });
    expect(b.broker.session("bridge:cloud")).toMatchObject({ connected: true, address: "in-process", messagesOut: 3 });
  });

  test("maxInflight bounds what is handed out; the rest waits in the session queue and follows each acknowledgement, in order", async () => {
    b = await inProcessBroker();
    const got: LocalDelivery[] = [];
    const local = b.broker.openLocalSession(options({ maxInflight: 2 }), (d) => got.push(d));
    local.subscribe("t", { qos: 1 });
    local.resume();
    for (let i = 0; i < 5; i++) b.broker.publish({ topic: "t", payload: `${i}`, qos: 1 });
    await b.settle();
    expect(got.map(text)).toEqual(["0", "1"]);
    expect(local.stats).toMatchObject({ inflight: 2, queued: 3 });
    local.acknowledge(got[0].packetId);
    await b.settle();
    expect(got.map(text)).toEqual(["0", "1", "2"]);
    for (const d of got.slice(1)) local.acknowledge(d.packetId);
    await b.settle();
    local.acknowledge(got[3].packetId);
    await b.settle();
    expect(got.map(text)).toEqual(["0", "1", "2", "3", "4"]);
  });

  test("pause queues (QoS 0 is dropped unless queueQos0); resume hands out the unacknowledged ones again (resend, awaitingComp after received), then the queue", async () => {
    b = await inProcessBroker();
    const got: LocalDelivery[] = [];
    const local = b.broker.openLocalSession(options(), (d) => got.push(d));
    local.subscribe("t", { qos: 2 });
    local.resume();
    b.broker.publish({ topic: "t", payload: "a", qos: 1 });
    b.broker.publish({ topic: "t", payload: "b", qos: 2 });
    await b.settle();
    local.received(got[1].packetId); // the upstream's PUBREC for the QoS 2 one
    local.pause();
    b.broker.publish({ topic: "t", payload: "c", qos: 1 });
    b.broker.publish({ topic: "t", payload: "zero", qos: 0 });
    await b.settle();
    expect(got).toHaveLength(2);
    expect(local.stats).toMatchObject({ inflight: 2, queued: 1 });
    got.length = 0;
    local.resume();
    await b.settle();
    expect(got.map((d) => [text(d), d.state])).toEqual([["a", "resend"], ["b", "awaitingComp"], ["c", "new"]]);
  });

  test("queue bounds of its own (queue.maxMessages): drops are counted in stats.dropped", async () => {
    b = await inProcessBroker();
    const local = b.broker.openLocalSession(options({ queue: { maxMessages: 2 } }), () => {});
    local.subscribe("t", { qos: 1 });
    for (let i = 0; i < 5; i++) b.broker.publish({ topic: "t", payload: `${i}`, qos: 1 });
    await b.settle();
    expect(local.stats).toMatchObject({ queued: 2, dropped: 3 });
    expect(b.logs.some((l) => l.msg === "session queue: dropping messages" && l.fields.clientId === "bridge:cloud")).toBe(true);
  });

  test("an attached local session counts its own queue drops by reason in the broker's stats: dropOldest as queueFull, age as maxAge", async () => {
    b = await inProcessBroker();
    const local = b.broker.openLocalSession(
      options({ queue: { maxMessages: 2, maxAgeMs: 60_000, whenFull: "dropOldest" } }),
      () => {},
    );
    local.subscribe("t", { qos: 1 });
    for (let i = 0; i < 5; i++) b.broker.publish({ topic: "t", payload: `${i}`, qos: 1 });
    await b.settle();
    expect(b.broker.stats.droppedBy).toMatchObject({ queueFull: 3, maxAge: 0 });
    await b.advance(61_000);
    b.broker.publish({ topic: "t", payload: "fresh", qos: 1 });
    await b.settle();
    expect(b.broker.stats.droppedBy).toMatchObject({ queueFull: 3, maxAge: 2 });
    expect(local.stats).toMatchObject({ queued: 1, dropped: 5 });
  });

  test("a detached local session's queue policy still counts in the broker's stats (dropOldest as queueFull, age as maxAge)", async () => {
    b = await inProcessBroker();
    const queue = { maxMessages: 2, maxAgeMs: 60_000, whenFull: "dropOldest" as const };
    const first = b.broker.openLocalSession(options({ queue }), () => {});
    first.subscribe("t", { qos: 1 });
    first.close();
    for (let i = 0; i < 5; i++) b.broker.publish({ topic: "t", payload: `${i}`, qos: 1 });
    expect(b.broker.stats.droppedBy).toMatchObject({ queueFull: 3, maxAge: 0 });
    await b.advance(61_000);
    b.broker.publish({ topic: "t", payload: "fresh", qos: 1 });
    expect(b.broker.stats.droppedBy).toMatchObject({ queueFull: 3, maxAge: 2 });
    const got: LocalDelivery[] = [];
    const second = b.broker.openLocalSession(options({ queue }), (d) => got.push(d));
    second.resume();
    await b.settle();
    expect(got.map(text)).toEqual(["fresh"]);
  });

  test("No Local: what the local session publishes does not come back to it; other subscribers get it", async () => {
    b = await inProcessBroker();
    const got: LocalDelivery[] = [];
    const local = b.broker.openLocalSession(options(), (d) => got.push(d));
    local.subscribe("cmd/#", { qos: 1, noLocal: true });
    local.resume();
    const { client } = await b.connect({ version: 5, clientId: "dev" });
    await client.subscribe("cmd/#", { qos: 1 });
    expect(local.publish({ topic: "cmd/1", payload: new TextEncoder().encode("go"), qos: 1, retain: false })).toBe(1);
    const p = await client.expectPacket("publish");
    expect([p.topic, String(p.payload)]).toEqual(["cmd/1", "go"]);
    await b.settle();
    expect(got).toEqual([]);
  });

  test("close detaches: messages queue in the session while no owner is attached and are handed out to the next one (sessionPresent)", async () => {
    b = await inProcessBroker();
    const first = b.broker.openLocalSession(options(), () => {});
    first.subscribe("t", { qos: 1 });
    first.close();
    b.broker.publish({ topic: "t", payload: "while away", qos: 1 });
    expect(b.broker.session("bridge:cloud")).toMatchObject({ connected: false, queued: 1 });
    const got: LocalDelivery[] = [];
    const second = b.broker.openLocalSession(options(), (d) => got.push(d));
    expect(second.sessionPresent).toBe(true);
    second.resume();
    await b.settle();
    expect(got.map(text)).toEqual(["while away"]);
  });

  test("a client connecting with the same client id takes the session over; the local owner stops getting messages", async () => {
    b = await inProcessBroker();
    const got: LocalDelivery[] = [];
    const local = b.broker.openLocalSession(options({ clientId: "shared-id" }), (d) => got.push(d));
    local.subscribe("t", { qos: 1 });
    local.resume();
    const { client, connack } = await b.connect({ version: 4, clientId: "shared-id", clean: false });
    expect(connack.sessionPresent).toBe(true);
    b.broker.publish({ topic: "t", payload: "x", qos: 1 });
    expect(String((await client.expectPacket("publish")).payload)).toBe("x");
    await b.settle();
    expect(got).toEqual([]);
    expect(b.logs.some((l) => l.msg === "in-process session taken over")).toBe(true);
  });

  test("durable: a QoS 1 publisher's PUBACK waits for the journal; after a restart the same packet ids come back (resend) before the queue, in order", async () => {
    const dir = tempDir();
    b = await inProcessBroker({ store: await sqlite(dir) });
    const got: LocalDelivery[] = [];
    const local = b.broker.openLocalSession(options({ maxInflight: 2 }), (d) => got.push(d));
    local.subscribe("plant/#", { qos: 1 });
    local.resume();
    const { client } = await b.connect({ version: 4, clientId: "plc" });
    for (let i = 0; i < 4; i++) expect((await client.publish(`plant/${i}`, `m${i}`, { qos: 1 }))?.cmd).toBe("puback");
    await b.settle();
    expect(got.map(text)).toEqual(["m0", "m1"]);
    local.acknowledge(got[0].packetId); // m0 done; m2 is handed out, m3 waits
    await b.settle();
    const inflight = got.slice(1).map((d) => [text(d), d.packetId]);
    await b.close();

    b = await inProcessBroker({ store: await sqlite(dir) });
    const after: LocalDelivery[] = [];
    const again = b.broker.openLocalSession(options({ maxInflight: 2 }), (d) => after.push(d));
    expect(again.sessionPresent).toBe(true);
    again.resume();
    await b.settle();
    expect(after.map((d) => [text(d), d.packetId])).toEqual(inflight);
    expect(after.map((d) => d.state)).toEqual(["resend", "resend"]);
    for (const d of after) again.acknowledge(d.packetId);
    await b.settle();
    expect(after.slice(2).map((d) => [text(d), d.state])).toEqual([["m3", "new"]]);
  });

  test("upstream QoS 2 ids: stored in the same commit as the message, kept across a restart until released; forgetReleases clears them", async () => {
    const dir = tempDir();
    b = await inProcessBroker({ store: await sqlite(dir) });
    const { client } = await b.connect({ version: 4, clientId: "sub", clean: false });
    await client.subscribe("cmd/#", { qos: 2 });
    const local = b.broker.openLocalSession(options(), () => {});
    const message = { topic: "cmd/1", payload: new TextEncoder().encode("go"), qos: 2 as const, retain: false };
    expect(await local.publishDurable(message, 17)).toBe(1);
    await local.publishDurable({ ...message, topic: "cmd/2" }, 18);
    expect([local.isAwaitingRelease(17), local.isAwaitingRelease(18), local.isAwaitingRelease(19)]).toEqual([true, true, false]);
    await local.release(18);
    await b.close();

    b = await inProcessBroker({ store: await sqlite(dir) });
    const again = b.broker.openLocalSession(options(), () => {});
    // 17 survived the restart: a resent upstream PUBLISH 17 is recognised and not published twice.
    expect([again.isAwaitingRelease(17), again.isAwaitingRelease(18)]).toEqual([true, false]);
    again.forgetReleases();
    expect(again.isAwaitingRelease(17)).toBe(false);
  });
});
