/**
 * Latency load generator (Bun): one publisher sends QoS 1 PUBLISH packets to `lat/0` at a fixed rate
 * (2,000 msg/s) and one subscriber on `lat/0` at QoS 1 (eager: it answers every PUBLISH with its
 * PUBACK as the chunk arrives) timestamps each arrival. Prints one JSON line with the p50, p90, p99
 * and max publish -> receive latency in ms.
 *
 *   bun bench/latency.ts --port 1883 [--host 127.0.0.1] [--rate 2000] [--duration 10] [--warmup 2]
 *                        [--payload 64]
 *
 * Both clients are in this process, so one clock serves both ends: the payload carries
 * performance.now() at the moment its PUBLISH was handed to the socket (bytes 0-7, float64). A 1 ms
 * timer sends the messages that are due (about two per tick at 2,000 msg/s), each in its own write.
 * The latency is measured from the actual send, so a late timer tick does not count against the
 * broker. Raw sockets as in bench/load.ts; the publisher keeps at most 1000 PUBLISH unacknowledged.
 */
import mqtt from "mqtt-packet";
import { type Conn, connect, send, waitFor } from "./load.ts";
import { framer } from "./framer.ts";
import { parseFlags, printResult } from "./cli.ts";

export interface LatencyOptions {
  host: string;
  port: number;
  rate: number;
  duration: number;
  warmup: number;
  payload: number;
}

export interface LatencyResult {
  rate: number;
  payloadBytes: number;
  durationSeconds: number;
  /** Messages received while measuring. */
  samples: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Published and never received. */
  lost: number;
}

const MAX_UNACKED = 1000;

export async function runLatency(o: LatencyOptions): Promise<LatencyResult> {
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const topic = "lat/0";
  const open = async (id: string): Promise<Conn> => {
    const c: Conn = { socket: null, pending: null, onData: () => {}, onDrain: () => {} };
    await connect(o.host, o.port, c);
    const ack = waitFor(c, 2, "CONNACK");
    send(c, mqtt.generate({ cmd: "connect", clientId: id, protocolVersion: 4, clean: true, keepalive: 600 }));
    if ((await ack)[1] !== 0) throw new Error(`${id}: CONNACK refused`);
    return c;
  };

  const sub = await open(`lat-sub-${tag}`);
  const suback = waitFor(sub, 9, "SUBACK");
  send(sub, mqtt.generate({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic, qos: 1 }] }));
  if ((await suback)[2] !== 1) throw new Error("SUBACK did not grant QoS 1");

  const samples = new Float64Array(Math.ceil(o.rate * (o.duration + 1)) + 1000);
  let n = 0;
  let received = 0;
  let counting = false;
  const view = new DataView(new ArrayBuffer(8));
  const frameSub = framer((type, buf, body) => {
    if (type !== 3) return;
    const now = performance.now();
    received++;
    const topicLen = (buf[body] << 8) | buf[body + 1];
    const idAt = body + 2 + topicLen;
    send(sub, Uint8Array.of(0x40, 2, buf[idAt], buf[idAt + 1]));
    for (let k = 0; k < 8; k++) view.setUint8(k, buf[idAt + 2 + k]);
    if (counting && n < samples.length) samples[n++] = now - view.getFloat64(0);
  });
  sub.onData = frameSub;

  const pub = await open(`lat-pub-${tag}`);
  let unacked = 0;
  pub.onData = framer((type) => {
    if (type === 4) unacked--;
  });
  const one = new Uint8Array(mqtt.generate({
    cmd: "publish", topic, payload: Buffer.alloc(o.payload, 0x61), qos: 1, messageId: 1, retain: false, dup: false,
  }));
  const idAt = one.length - o.payload - 2;
  let sent = 0;
  let nextId = 1;
  const t0 = performance.now();
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * o.rate) - sent;
    for (let k = 0; k < due && unacked < MAX_UNACKED; k++) {
      const packet = one.slice();
      packet[idAt] = nextId >> 8;
      packet[idAt + 1] = nextId & 255;
      nextId = nextId === 65535 ? 1 : nextId + 1;
      view.setFloat64(0, performance.now());
      for (let b = 0; b < 8; b++) packet[idAt + 2 + b] = view.getUint8(b);
      send(pub, packet);
      sent++;
      unacked++;
    }
  }, 1);

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep(o.warmup * 1000);
  counting = true;
  const c0 = performance.now();
  await sleep(o.duration * 1000);
  counting = false;
  const elapsed = (performance.now() - c0) / 1000;
  clearInterval(timer);
  for (let waited = 0; waited < 3000 && received < sent; waited += 50) await sleep(50);

  const disconnect = mqtt.generate({ cmd: "disconnect" });
  for (const c of [pub, sub]) {
    if (c.socket) {
      c.socket.write(disconnect);
      c.socket.end();
    }
  }
  const sorted = samples.subarray(0, n).sort();
  const at = (q: number) => (n === 0 ? NaN : Math.round(sorted[Math.min(n - 1, Math.floor(q * n))] * 1000) / 1000);
  return {
    rate: o.rate,
    payloadBytes: o.payload,
    durationSeconds: Math.round(elapsed * 100) / 100,
    samples: n,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    maxMs: at(1),
    lost: sent - received,
  };
}

function parseCli(argv: string[]): LatencyOptions {
  const o = parseFlags(argv, { host: "127.0.0.1", port: 1883, rate: 2000, duration: 10, warmup: 2, payload: 64 });
  if (!(o.payload >= 8)) throw new Error("--payload must be at least 8 bytes (the send time)");
  return o;
}

if (import.meta.main) await printResult("latency", () => runLatency(parseCli(process.argv.slice(2))));
