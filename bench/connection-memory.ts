/**
 * JavaScript heap per idle MQTT connection, without sockets: the broker core in this process, N
 * fake transports that CONNECT (3.1.1, clean session, keepalive 60) and stay idle. Separates what the
 * core keeps per connection from what the runtime's socket costs (bench/idle.ts measures both).
 *
 *   bun bench/connection-memory.ts [--connections 10000] [--types]
 *   node_modules/deno/deno run -A --v8-flags=--expose-gc bench/connection-memory.ts [--connections 10000]
 *
 * --types (Bun): where the bytes go, from a heap snapshot before and after: objects and bytes per
 * connection by class (Connection, Session, Map, ...). Take it with a few thousand connections: a
 * snapshot of 10,000 takes a while.
 */
import { createBroker, defaultConfig, type Transport } from "../src/mod.ts";
import { createReloadableLogger } from "../src/app/reloadable-logger.ts";

const argv = typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2);
const i = argv.indexOf("--connections");
const N = i >= 0 ? Number(argv[i + 1]) : 10_000;

declare const Deno: { args: string[] } | undefined;
declare const Bun: { gc(force: boolean): void; generateHeapSnapshot(): HeapSnapshot } | undefined;
const types = argv.includes("--types") && typeof Bun !== "undefined";

/** Bun's (JSC's) snapshot: nodes are [id, size, class index, flags] in a row. */
interface HeapSnapshot {
  nodes: number[];
  nodeClassNames: string[];
}
/** Objects and bytes by class name. */
function byClass(): Map<string, { count: number; bytes: number }> {
  const snapshot = Bun!.generateHeapSnapshot();
  const out = new Map<string, { count: number; bytes: number }>();
  for (let n = 0; n < snapshot.nodes.length; n += 4) {
    const name = snapshot.nodeClassNames[snapshot.nodes[n + 2]];
    const entry = out.get(name) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snapshot.nodes[n + 1];
    out.set(name, entry);
  }
  return out;
}
const gc = () => {
  if (typeof Bun !== "undefined") Bun.gc(true);
  else (globalThis as unknown as { gc?: () => void }).gc?.();
};
const heap = () => {
  gc();
  return process.memoryUsage().heapUsed;
};

const connect = (id: string) => {
  const idBytes = new TextEncoder().encode(id);
  const body = [0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, idBytes.length >> 8, idBytes.length & 255, ...idBytes];
  return Uint8Array.from([0x10, body.length, ...body]);
};

/** A transport that takes every write: a class, so the bench adds no closures per connection of its own. */
class FakeTransport implements Transport {
  readonly remote: Transport["remote"];
  constructor(port: number) {
    this.remote = { address: "127.0.0.1", port, kind: "tcp" };
  }
  write(bytes: Uint8Array): boolean {
    // CONNACK, return code 0 (accepted)
    if (bytes[0] >> 4 === 2) {
      connacks++;
      if (bytes[3] === 0) accepted++;
    }
    return true;
  }
  pauseReading(): void {}
  resumeReading(): void {}
  close(): void {}
}

const { logger } = createReloadableLogger({ level: "warn", format: "json", write: () => {} });
// Anonymous clients allowed (as on a loopback listener): with the default config every CONNECT
// was refused, and the bench measured refused connections.
const config = defaultConfig();
config.mqtt.allowAnonymous = true;
const broker = createBroker(config, { logger });
await broker.start();
const keep: unknown[] = [];
let connacks = 0;
let accepted = 0;
// One connection first: what the first CONNECT builds once (codec caches) is not per connection.
idle("warm-up");
const before = heap();
const classesBefore = types ? byClass() : null;
function idle(id: string, port = 9) {
  const transport = new FakeTransport(port);
  const events = broker.accept(transport);
  events.onData(connect(id));
  keep.push(events); // the connection holds its transport
}
for (let n = 0; n < N; n++) idle(`idle-${n}`, 10_000 + (n % 50_000));
await new Promise((r) => setTimeout(r, 200));
const after = heap();
if (classesBefore) {
  gc();
  const rows: [string, number, number][] = [];
  for (const [name, { count, bytes }] of byClass()) {
    const was = classesBefore.get(name) ?? { count: 0, bytes: 0 };
    const perCount = (count - was.count) / N;
    const perBytes = (bytes - was.bytes) / N;
    if (Math.abs(perCount) >= 0.05 || Math.abs(perBytes) >= 4) rows.push([name, perCount, perBytes]);
  }
  rows.sort((a, b) => b[2] - a[2]);
  console.log("class                              objects/conn  bytes/conn");
  for (const [name, count, bytes] of rows) console.log(`${name.padEnd(34)} ${count.toFixed(2).padStart(12)} ${bytes.toFixed(0).padStart(11)}`);
  console.log(`${"total".padEnd(34)} ${"".padStart(12)} ${rows.reduce((s, r) => s + r[2], 0).toFixed(0).padStart(11)}`);
}
console.log(JSON.stringify({
  runtime: typeof Bun !== "undefined" ? "bun" : "deno",
  connections: N,
  connacks: connacks - 1,
  accepted: accepted - 1,
  heapBytesPerConnection: Math.round((after - before) / N),
}));
process.exit(0);
