/**
 * Fan-out load generator (Bun): one publisher sends 64-byte QoS 0 PUBLISH packets to `fan/0` and S
 * subscribers (100) on that topic count what arrives. Prints one JSON line with deliveries/s (messages
 * received by all subscribers together) and the generator's own CPU use.
 *
 *   bun bench/fanout.ts --port 1883 [--host 127.0.0.1] [--subscribers 100] [--duration 10] [--warmup 2]
 *                       [--payload 64] [--window 500]
 *
 * Raw sockets as in bench/load.ts (mqtt.js would cost more CPU per message than the broker): the
 * PUBLISH is encoded once and copied into pipelined batches with a sequence number patched in. The
 * subscribers read eagerly: every chunk is framed as it arrives (bench/framer.ts walks the fixed
 * headers, nothing is decoded) and counted.
 *
 * Flow control: the publisher stops while (published - settled) >= --window, where settled is the
 * lowest count over the subscribers of messages received plus messages seen missing (a gap in the
 * sequence: dropped by the broker). So every broker runs in the same steady state, the slowest
 * subscriber sets the pace, and a broker that drops does not shrink the window for good. Only the
 * slowest subscriber's chunks rescan the counts: a broker that writes one packet per syscall
 * (Mosquitto) hands the generator one chunk per delivery. `lost`
 * counts deliveries that never arrived.
 *
 * The generator is one process with one core to itself on this 2-core machine; `clientCpuPercent`
 * (100% = one core) shows whether it, not the broker, was the limit.
 */
import mqtt from "mqtt-packet";
import { type Conn, connect, send, waitFor } from "./load.ts";
import { framer } from "./framer.ts";
import { parseFlags, printResult } from "./cli.ts";

export interface FanoutOptions {
  host: string;
  port: number;
  subscribers: number;
  duration: number;
  warmup: number;
  payload: number;
  window: number;
}

export interface FanoutResult {
  subscribers: number;
  payloadBytes: number;
  durationSeconds: number;
  /** Messages received by all subscribers together per second. */
  deliveriesPerSec: number;
  /** Messages the publisher sent per second. */
  publishedPerSec: number;
  /** Deliveries that never arrived (dropped, or missing at the end). */
  lost: number;
  /** Fairness: fewest and most messages one subscriber received while counting. */
  receivedPerSubscriber: { min: number; max: number };
  /** The generator's CPU while counting, % of one core. */
  clientCpuPercent: number;
}

const BATCH = 32; // most packets per publisher write

export async function runFanout(o: FanoutOptions): Promise<FanoutResult> {
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const connectPacket = (id: string) =>
    mqtt.generate({ cmd: "connect", clientId: id, protocolVersion: 4, clean: true, keepalive: 600 });
  const S = o.subscribers;
  const recv = new Array<number>(S).fill(0);
  const gaps = new Array<number>(S).fill(0);
  const counted = new Array<number>(S).fill(0);
  let counting = false;
  let sent = 0;
  let sentWhileCounting = 0;

  const open = async (id: string): Promise<Conn> => {
    const c: Conn = { socket: null, pending: null, onData: () => {}, onDrain: () => {} };
    await connect(o.host, o.port, c);
    const ack = waitFor(c, 2, "CONNACK");
    send(c, connectPacket(id));
    const connack = await ack;
    if (connack[1] !== 0) throw new Error(`${id}: CONNACK return code ${connack[1]}`);
    return c;
  };

  // --- publisher (connected first so that its pump exists when the subscribers' data arrives) ---
  const pub = await open(`fan-pub-${tag}`);
  pub.onData = () => {};
  const topic = "fan/0";
  const payload = Buffer.alloc(o.payload, 0x61);
  const one = mqtt.generate({ cmd: "publish", topic, payload, qos: 0, retain: false, dup: false });
  const seqOffset = one.length - payload.length + 1; // payload byte 0 is a marker, 1-4 the sequence
  const batch = new Uint8Array(one.length * BATCH);
  for (let k = 0; k < BATCH; k++) batch.set(one, k * one.length);
  let running = true;
  // The slowest subscriber's count (settled) and which one it is: only that one's progress can
  // raise it, so the scan over all subscribers runs once per chunk of the laggard, not per chunk.
  let low = 0;
  let laggard = 0;
  const settle = () => {
    low = Infinity;
    for (let i = 0; i < S; i++) {
      const n = recv[i] + gaps[i];
      if (n < low) {
        low = n;
        laggard = i;
      }
    }
  };
  const pump = () => {
    while (running && !pub.pending && pub.socket) {
      const room = Math.min(BATCH, o.window - (sent - low));
      if (room <= 0) return;
      for (let k = 0; k < room; k++) {
        const seq = sent + k;
        const at = k * one.length + seqOffset;
        batch[at] = seq >>> 24;
        batch[at + 1] = (seq >>> 16) & 255;
        batch[at + 2] = (seq >>> 8) & 255;
        batch[at + 3] = seq & 255;
      }
      sent += room;
      if (counting) sentWhileCounting += room;
      send(pub, batch.slice(0, room * one.length));
    }
  };
  pub.onDrain = pump;

  // --- subscribers ---
  const subs: Conn[] = [];
  for (let i = 0; i < S; i++) {
    const c = await open(`fan-sub-${i}-${tag}`);
    const ack = waitFor(c, 9, "SUBACK");
    send(c, mqtt.generate({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic, qos: 0 }] }));
    if ((await ack)[2] !== 0) throw new Error(`subscriber ${i}: SUBACK refused`);
    const frame = framer((type, buf, body) => {
      if (type !== 3) return;
      const topicLen = (buf[body] << 8) | buf[body + 1];
      const at = body + 2 + topicLen + 1;
      const seq = ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
      const expected = recv[i] + gaps[i];
      if (seq > expected) gaps[i] += seq - expected;
      recv[i]++;
      if (counting) counted[i]++;
    });
    c.onData = (chunk) => {
      frame(chunk);
      if (i !== laggard) return;
      settle();
      pump();
    };
    subs.push(c);
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  pump();
  await sleep(o.warmup * 1000);
  counting = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(o.duration * 1000);
  counting = false;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  running = false;
  for (let waited = 0; waited < 3000 && (settle(), sent > low); waited += 50) await sleep(50);

  const disconnect = mqtt.generate({ cmd: "disconnect" });
  for (const c of [pub, ...subs]) {
    if (c.socket) {
      c.socket.write(disconnect);
      c.socket.end();
    }
  }
  return {
    subscribers: S,
    payloadBytes: o.payload,
    durationSeconds: Math.round(elapsed * 100) / 100,
    deliveriesPerSec: Math.round(sum(counted) / elapsed),
    publishedPerSec: Math.round(sentWhileCounting / elapsed),
    lost: sent * S - sum(recv),
    receivedPerSubscriber: { min: Math.min(...counted), max: Math.max(...counted) },
    clientCpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 100),
  };
}

function parseCli(argv: string[]): FanoutOptions {
  const o = parseFlags(argv, { host: "127.0.0.1", port: 1883, subscribers: 100, duration: 10, warmup: 2, payload: 64, window: 500 });
  if (!(o.payload >= 5)) throw new Error("--payload must be at least 5 bytes (marker and sequence number)");
  return o;
}

if (import.meta.main) await printResult("fanout", () => runFanout(parseCli(process.argv.slice(2))));
