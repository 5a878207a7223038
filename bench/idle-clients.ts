/**
 * Worker of bench/idle.ts (Bun): opens --count MQTT 3.1.1 connections to --port (at most --parallel
 * (default 100; more overflows listen backlogs and costs SYN retransmits of 1 s) CONNECTs waiting for
 * CONNACK at a time), then obeys commands on stdin, one per line, and answers each
 * with one JSON line on stdout:
 *   (start)  {"connected": n, "failed": n, "ms": elapsed}
 *   ping  -> {"pongs": n, "ms": elapsed}      one PINGREQ per connection, PINGRESPs counted
 *   close -> exits after DISCONNECT on every connection
 * A process holds at most ~19,000 sockets here (open files limit 20,000), so idle.ts runs several.
 */
import type { Socket } from "bun";

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i], process.argv[i + 1]);
const port = Number(args.get("--port"));
const count = Number(args.get("--count") ?? 1000);
const parallel = Number(args.get("--parallel") ?? 100);
const prefix = args.get("--prefix") ?? `idle-${process.pid}`;

const CONNECT = (id: string) => {
  const idBytes = new TextEncoder().encode(id);
  // 3.1.1 CONNECT: "MQTT", level 4, clean session, keepalive 0 (idle forever), client id.
  const body = [0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 0, idBytes.length >> 8, idBytes.length & 255, ...idBytes];
  return Uint8Array.from([0x10, body.length, ...body]);
};
const PINGREQ = Uint8Array.from([0xc0, 0]);
const DISCONNECT = Uint8Array.from([0xe0, 0]);

interface State {
  onConnack?: (ok: boolean) => void;
  pong?: () => void;
}
const sockets: Socket<State>[] = [];

function open(i: number): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    const settle = (ok: boolean) => {
      if (done) return;
      done = true;
      resolve(ok);
    };
    Bun.connect<State>({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(socket) {
          socket.data = { onConnack: settle };
          socket.write(CONNECT(`${prefix}-${i}`));
        },
        data(socket, chunk) {
          // Packets here are 2 (PINGRESP) or 4 (CONNACK) bytes; a chunk may hold several.
          for (let at = 0; at + 1 < chunk.length; at += 2 + chunk[at + 1]) {
            const type = chunk[at] >> 4;
            if (type === 2) {
              const ok = chunk[at + 3] === 0;
              if (ok) sockets.push(socket);
              socket.data.onConnack?.(ok);
              socket.data.onConnack = undefined;
            } else if (type === 13) socket.data.pong?.();
          }
        },
        close() {
          settle(false);
        },
        error() {
          settle(false);
        },
        connectError() {
          settle(false);
        },
      },
    }).catch(() => settle(false));
  });
}

const t0 = performance.now();
let next = 0;
let connected = 0;
let failed = 0;
await Promise.all(Array.from({ length: Math.min(parallel, count) }, async () => {
  while (next < count) {
    const i = next++;
    if (await open(i)) connected++;
    else failed++;
  }
}));
console.log(JSON.stringify({ connected, failed, ms: Math.round(performance.now() - t0) }));

for await (const line of console) {
  const command = line.trim();
  if (command === "ping") {
    const t1 = performance.now();
    let pongs = 0;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      for (const s of sockets) {
        s.data.pong = () => {
          s.data.pong = undefined;
          if (++pongs === sockets.length) {
            clearTimeout(timer);
            resolve();
          }
        };
        s.write(PINGREQ);
      }
      if (sockets.length === 0) resolve();
    });
    console.log(JSON.stringify({ pongs, ms: Math.round(performance.now() - t1) }));
  } else if (command === "close") {
    for (const s of sockets) {
      s.write(DISCONNECT);
      s.end();
    }
    await new Promise((r) => setTimeout(r, 200));
    process.exit(0);
  }
}
