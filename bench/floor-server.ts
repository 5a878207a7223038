/**
 * The runtime's floor: a minimal server on the same socket API the broker's adapter uses (Bun.listen;
 * Deno.listen with a read loop and the same growing read buffer), with no broker behind it:
 *   - CONNECT -> CONNACK, PINGREQ -> PINGRESP (enough for bench/idle.ts: memory per connection);
 *   - SUBSCRIBE -> SUBACK granting the QoS asked for, and that connection becomes a subscriber;
 *   - every whole PUBLISH from any connection is relayed, unchanged, to every subscriber, with the
 *     writes of one event-loop turn joined into one per subscriber (enough for bench/load.ts at QoS 0:
 *     fan-in; bench/fanout.ts: fan-out); a QoS 1 PUBLISH is answered with its PUBACK and relayed with
 *     the publisher's packet id (enough for bench/latency.ts); PUBACKs from subscribers are ignored.
 * What the benchmarks measure against it is what the runtime itself costs for the same I/O. Both
 * runtimes allocate once per read and once per relayed batch, never per packet: on Deno each
 * `new Uint8Array` costs 0.3-0.7 µs, and a copy per packet made an earlier floor measure that instead.
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
const subscribers = new Set<Peer>();
let relayed: Uint8Array[] = [];
let scheduled = false;

function relay(packet: Uint8Array): void {
  if (subscribers.size === 0) return;
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
    for (const subscriber of subscribers) subscriber.write(out);
  });
}

/** Cuts a byte stream into packets and answers or relays each. */
function connection(peer: Peer): (chunk: Uint8Array) => void {
  return framer((type, buf, body, end, start) => {
    if (type === 1) peer.write(CONNACK);
    else if (type === 12) peer.write(PINGRESP);
    else if (type === 8) {
      subscribers.add(peer);
      peer.write(new Uint8Array([0x90, 3, buf[body], buf[body + 1], buf[end - 1] & 3]));
    } else if (type === 3) {
      const qos = (buf[start] >> 1) & 3;
      if (qos > 0) {
        const idAt = body + 2 + ((buf[body] << 8) | buf[body + 1]);
        peer.write(new Uint8Array([0x40, 2, buf[idAt], buf[idAt + 1]]));
      }
      relay(buf.subarray(start, end)); // a view: every chunk handed in here is a fresh copy
    }
  });
}

if (typeof Bun !== "undefined") {
  type State = { peer: Peer; onData: (chunk: Uint8Array) => void; flush: () => void };
  type BunSocket = { data: State; write(b: Uint8Array): number };
  Bun.listen({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(socket: BunSocket) {
        // What a short write left over waits for drain (100 subscribers can fill a socket buffer).
        let pending: Uint8Array | null = null;
        const peer: Peer = {
          write: (bytes) => {
            if (pending) {
              const joined = new Uint8Array(pending.length + bytes.length);
              joined.set(pending);
              joined.set(bytes, pending.length);
              pending = joined;
              return;
            }
            const n = socket.write(bytes);
            if (n < bytes.length) pending = bytes.subarray(Math.max(0, n));
          },
        };
        const flush = () => {
          if (!pending) return;
          const rest = pending;
          pending = null;
          peer.write(rest);
        };
        socket.data = { peer, onData: connection(peer), flush };
      },
      data(socket: BunSocket, chunk: Uint8Array) {
        socket.data.onData(new Uint8Array(chunk)); // a copy (Buffer.slice is a view): Bun may reuse the chunk after the handler
      },
      drain(socket: BunSocket) {
        socket.data.flush();
      },
      close(socket: BunSocket) {
        subscribers.delete(socket.data.peer);
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
        subscribers.delete(peer);
        try {
          conn.close();
        } catch { /* closed */ }
      })();
    }
  })();
}
console.log(JSON.stringify({ msg: "ready", port }));
