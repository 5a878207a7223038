/**
 * The runtime's floor: a minimal server on the same socket API the broker's adapter uses (Bun.listen;
 * Deno.listen with a read loop and the same growing read buffer), with no broker behind it:
 *   - CONNECT -> CONNACK, PINGREQ -> PINGRESP (enough for bench/idle.ts: memory per connection);
 *   - SUBSCRIBE -> SUBACK granting QoS 0, and that connection becomes "the subscriber";
 *   - every whole PUBLISH from any other connection is relayed, unchanged, to the subscriber, with
 *     the writes of one event-loop turn joined into one (enough for bench/load.ts at QoS 0: fan-in).
 * What the benchmarks measure against it is what the runtime itself costs for the same I/O.
 *
 *   bun bench/floor-server.ts --port 1883
 *   node_modules/deno/deno run --allow-net bench/floor-server.ts --port 1883
 */
import { framer } from "./framer.ts";
// deno-lint-ignore no-explicit-any
declare const Deno: any;
// deno-lint-ignore no-explicit-any
declare const Bun: any;

const argv: string[] = typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2);
const port = Number(argv[argv.indexOf("--port") + 1]);
const CONNACK = new Uint8Array([0x20, 2, 0, 0]);
const PINGRESP = new Uint8Array([0xd0, 0]);

interface Peer {
  write(bytes: Uint8Array): void;
}
let subscriber: Peer | null = null;
let relayed: Uint8Array[] = [];
let scheduled = false;

function relay(packet: Uint8Array): void {
  if (!subscriber) return;
  relayed.push(packet);
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    const parts = relayed;
    relayed = [];
    let size = 0;
    for (const p of parts) size += p.length;
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    subscriber?.write(out);
  });
}

/** Cuts a byte stream into packets and answers or relays each. */
function connection(peer: Peer): (chunk: Uint8Array) => void {
  return framer((type, buf, body, end, start) => {
    if (type === 1) peer.write(CONNACK);
    else if (type === 12) peer.write(PINGRESP);
    else if (type === 8) {
      subscriber = peer;
      peer.write(new Uint8Array([0x90, 3, buf[body], buf[body + 1], 0]));
    } else if (type === 3) relay(buf.slice(start, end));
  });
}

if (typeof Bun !== "undefined") {
  type State = { peer: Peer; onData: (chunk: Uint8Array) => void };
  Bun.listen({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(socket: { data: State; write(b: Uint8Array): number }) {
        // The relay's writes are small and the subscriber reads eagerly; a short write is not retried (a floor, not a broker).
        const peer: Peer = { write: (bytes) => void socket.write(bytes) };
        socket.data = { peer, onData: connection(peer) };
      },
      data(socket: { data: State }, chunk: Uint8Array) {
        socket.data.onData(chunk);
      },
      close(socket: { data: State }) {
        if (subscriber === socket.data.peer) subscriber = null;
      },
    },
  });
} else {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  (async () => {
    for await (const conn of listener) {
      (async () => {
        let writing: Promise<void> = Promise.resolve();
        const peer: Peer = {
          write: (bytes) => {
            writing = writing.then(async () => {
              for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
            }).catch(() => {});
          },
        };
        const onData = connection(peer);
        let buf = new Uint8Array(2048);
        try {
          while (true) {
            const n = await conn.read(buf);
            if (n === null) break;
            onData(buf.slice(0, n));
            if (n === buf.length && buf.length < 65536) buf = new Uint8Array(buf.length * 4);
          }
        } catch { /* gone */ }
        if (subscriber === peer) subscriber = null;
        try {
          conn.close();
        } catch { /* closed */ }
      })();
    }
  })();
}
console.log(JSON.stringify({ msg: "ready", port }));
