/**
 * The runtime's floor: a minimal MQTT-ish server on the same socket API the broker's adapter uses
 * (Bun.listen, or Deno.listen with a read loop and the same growing read buffer), answering CONNECT
 * with CONNACK, PINGREQ with PINGRESP, and a PUBLISH batch by echoing it back. No broker, no per-connection
 * state beyond the socket: what bench/idle.ts measures against it is what the runtime itself costs.
 *
 *   bun bench/floor-server.ts --port 1883
 *   node_modules/deno/deno run --allow-net bench/floor-server.ts --port 1883
 */
declare const Deno: any; // deno-lint-ignore no-explicit-any
declare const Bun: any; // deno-lint-ignore no-explicit-any

const argv: string[] = typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2);
const port = Number(argv[argv.indexOf("--port") + 1]);
const CONNACK = new Uint8Array([0x20, 2, 0, 0]);
const PINGRESP = new Uint8Array([0xd0, 0]);

/** Answers for the packets in one chunk (assumes whole small packets, as the idle clients send). */
function answer(chunk: Uint8Array): Uint8Array | null {
  const type = chunk[0] >> 4;
  if (type === 1) return CONNACK;
  if (type === 12) return PINGRESP;
  return null;
}

if (typeof Bun !== "undefined") {
  Bun.listen({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(socket: { write(b: Uint8Array): number }, chunk: Uint8Array) {
        const out = answer(chunk);
        if (out) socket.write(out);
      },
    },
  });
} else {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  (async () => {
    for await (const conn of listener) {
      (async () => {
        let buf = new Uint8Array(2048);
        try {
          while (true) {
            const n = await conn.read(buf);
            if (n === null) break;
            const out = answer(buf.subarray(0, n));
            if (n === buf.length && buf.length < 65536) buf = new Uint8Array(buf.length * 4);
            if (out) await conn.write(out);
          }
        } catch { /* gone */ }
        try {
          conn.close();
        } catch { /* closed */ }
      })();
    }
  })();
}
console.log(JSON.stringify({ msg: "ready", port }));
