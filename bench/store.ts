/**
 * Store throughput (not a test): saveDelivery + commit rates for the memory store, SQLite through
 * bun:sqlite and libSQL through @libsql/client (file), on this machine.
 *
 *   bun bench/store.ts [messages=20000] [payloadBytes=64]
 *
 * Scenarios (QoS 1 deliveries to offline persistent sessions, 64-byte payloads by default):
 *   serial     one publisher: save, await commit, next (latency-bound: one fsync per message)
 *   window     1000 acks outstanding at once, as with many publishers: group commit at work
 *   fan-out    each message to 100 sessions, one commit per message (the payload is stored once)
 *   drain      window, then each delivery deleted (acked) once committed: queue in, queue out
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { openStore } from "../adapters/bun/sqlite.ts";
import { libsqlExecutor, MemoryStore, type Message, SqliteStore, type Store } from "../src/mod.ts";

const messages = Number(process.argv[2] ?? 20_000);
const payloadBytes = Number(process.argv[3] ?? 64);
const sessions = 100;

function newMessage(i: number): Message {
  return {
    topic: `bench/${i % 10}`,
    payload: new Uint8Array(payloadBytes).fill(i & 0xff),
    qos: 1,
    retain: false,
    properties: {},
  };
}

async function prepare(store: Store): Promise<void> {
  await store.load();
  for (let s = 0; s < sessions; s++) store.saveSession({ clientId: `s${s}`, expiryInterval: 3600, disconnectedAt: 0 });
  await store.commit();
}

let nextId = 1;

async function serial(store: Store, n: number): Promise<number> {
  for (let i = 0; i < n; i++) {
    store.saveDelivery(`s${i % sessions}`, { id: nextId++, message: newMessage(i), qos: 1, retain: false });
    await store.commit();
  }
  return n;
}

async function windowed(store: Store, n: number, drain: boolean): Promise<number> {
  const window = 1000;
  const outstanding = new Set<Promise<void>>();
  for (let i = 0; i < n; i++) {
    const clientId = `s${i % sessions}`;
    const id = nextId++;
    store.saveDelivery(clientId, { id, message: newMessage(i), qos: 1, retain: false });
    const done: Promise<void> = store.commit().then(() => {
      outstanding.delete(done);
      if (drain) store.deleteDelivery(clientId, id);
    });
    outstanding.add(done);
    if (outstanding.size >= window) await Promise.race(outstanding);
  }
  await Promise.all(outstanding);
  await store.commit();
  return n;
}

async function fanOut(store: Store, n: number): Promise<number> {
  for (let i = 0; i < n; i++) {
    const message = newMessage(i);
    for (let s = 0; s < sessions; s++) store.saveDelivery(`s${s}`, { id: nextId++, message, qos: 1, retain: false });
    await store.commit();
  }
  return n * sessions;
}

interface Target {
  name: string;
  open(dir: string): Promise<Store>;
}

const targets: Target[] = [
  { name: "memory", open: () => Promise.resolve(new MemoryStore()) },
  { name: "sqlite (bun:sqlite)", open: (dir) => openStore(join(dir, "bench.db")) },
  {
    name: "libsql file (@libsql/client)",
    open: (dir) => {
      const file = join(dir, "bench.db");
      return SqliteStore.open(libsqlExecutor(createClient({ url: `file:${file}`, concurrency: 1 }), "file", file));
    },
  },
];

const scenarios: Array<[string, (store: Store) => Promise<number>]> = [
  ["serial", (store) => serial(store, Math.min(messages, 2000))],
  ["window", (store) => windowed(store, messages, false)],
  ["fan-out x100", (store) => fanOut(store, Math.max(1, Math.floor(messages / sessions)))],
  ["drain", (store) => windowed(store, messages, true)],
];

const results: Record<string, Record<string, number>> = {};
console.log(
  `store bench: ${messages} messages, ${payloadBytes}-byte payloads, ${sessions} sessions, Bun ${process.versions.bun}`,
);
for (const [scenario, run] of scenarios) {
  for (const target of targets) {
    const dir = mkdtempSync(join(tmpdir(), "gannet-store-bench-"));
    try {
      const store = await target.open(dir);
      await prepare(store);
      const started = performance.now();
      const count = await run(store);
      const seconds = (performance.now() - started) / 1000;
      await store.close();
      const rate = Math.round(count / seconds);
      (results[scenario] ??= {})[target.name] = rate;
      console.log(`${scenario.padEnd(13)} ${target.name.padEnd(30)} ${String(rate).padStart(9)} deliveries/s`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
console.log("\nratios to memory:");
for (const [scenario, rates] of Object.entries(results)) {
  const base = rates.memory ?? 1;
  const parts = Object.entries(rates).filter(([name]) => name !== "memory").map(([name, r]) =>
    `${name} ${(r / base).toFixed(3)}`
  );
  console.log(`  ${scenario.padEnd(13)} ${parts.join(", ")}`);
}
