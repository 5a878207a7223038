/**
 * JavaScript heap per idle MQTT connection, without sockets: the broker core in this process, N
 * fake transports that CONNECT (3.1.1, clean session, keepalive 60) and stay idle. Separates what the
 * core keeps per connection from what the runtime's socket costs (bench/idle.ts measures both).
 *
 *   bun bench/connection-memory.ts [--connections 10000]
 *   node_modules/deno/deno run -A --v8-flags=--expose-gc bench/connection-memory.ts [--connections 10000]
 */
import { createBroker, defaultConfig, type Transport } from "../src/mod.ts";
import { createReloadableLogger } from "../src/app/reloadable-logger.ts";

const argv = typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2);
const i = argv.indexOf("--connections");
const N = i >= 0 ? Number(argv[i + 1]) : 10_000;

declare const Deno: { args: string[] } | undefined;
declare const Bun: { gc(force: boolean): void } | undefined;
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
function idle(id: string, port = 9) {
  const transport: Transport = {
    remote: { address: "127.0.0.1", port, kind: "tcp" },
    write: (bytes) => {
      // CONNACK, return code 0 (accepted)
      if (bytes[0] >> 4 === 2) {
        connacks++;
        if (bytes[3] === 0) accepted++;
      }
      return true;
    },
    pauseReading() {},
    resumeReading() {},
    close() {},
  };
  const events = broker.accept(transport);
  events.onData(connect(id));
  keep.push(transport, events);
}
for (let n = 0; n < N; n++) idle(`idle-${n}`, 10_000 + (n % 50_000));
await new Promise((r) => setTimeout(r, 200));
const after = heap();
console.log(JSON.stringify({
  runtime: typeof Bun !== "undefined" ? "bun" : "deno",
  connections: N,
  connacks: connacks - 1,
  accepted: accepted - 1,
  heapBytesPerConnection: Math.round((after - before) / N),
}));
process.exit(0);
