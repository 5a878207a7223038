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
const broker = createBroker(defaultConfig(), { logger });
await broker.start();
const keep: unknown[] = [];
let connacks = 0;
const before = heap();
for (let n = 0; n < N; n++) {
  const transport: Transport = {
    remote: { address: "127.0.0.1", port: 10_000 + (n % 50_000), kind: "tcp" },
    write: (bytes) => {
      if (bytes[0] >> 4 === 2) connacks++;
      return true;
    },
    pauseReading() {},
    resumeReading() {},
    close() {},
  };
  const events = broker.accept(transport);
  events.onData(connect(`idle-${n}`));
  keep.push(transport, events);
}
await new Promise((r) => setTimeout(r, 200));
const after = heap();
console.log(JSON.stringify({
  runtime: typeof Bun !== "undefined" ? "bun" : "deno",
  connections: N,
  connacks,
  heapBytesPerConnection: Math.round((after - before) / N),
}));
process.exit(0);
