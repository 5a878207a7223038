/**
 * Fan-in load generator (Bun): P publishers send 64-byte PUBLISH packets to `bench/<i>` and one
 * subscriber on `bench/#` counts what arrives. Prints one JSON line with the subscriber's msgs/s.
 *
 *   bun bench/load.ts --port 1883 [--host 127.0.0.1] [--qos 0|1] [--duration 10] [--warmup 2]
 *                     [--publishers 8] [--payload 64] [--window 1000] [--pub-window 100]
 *                     [--consumer eager|batch]
 *
 * Design note: mqtt.js spends more CPU per message than a fast broker, so this uses raw sockets.
 * PUBLISH packets are encoded once with mqtt-packet and copied into pipelined batches (QoS 1 patches the
 * packet identifier in place). The subscriber does not decode: it walks the fixed headers, counts
 * PUBLISH packets and, at QoS 1, answers each with a PUBACK built from the packet identifier bytes.
 *
 * Flow control keeps every broker in the same steady state instead of measuring who buffers most:
 * - a global window: publishers stop while (published - settled) >= --window, where settled counts
 *   the messages the subscriber received plus those it knows were dropped;
 * - at QoS 1 each publisher also keeps at most --pub-window PUBLISH packets unacknowledged.
 * The window (1000) fits in the queue a broker keeps per subscriber (1000 queued + inflight for
 * Mosquitto and Gannet alike at QoS 1), so nothing should be dropped. Each payload starts with the
 * publisher's index (1 byte) and a sequence number (4 bytes, big-endian): the subscriber sees a gap as
 * dropped messages (per publisher and topic the order is kept), so a broker that drops does not shrink
 * the window for good. "lost" in the output counts them, plus what never arrived by the end.
 *
 * Consumers: `eager` handles every chunk as the socket delivers it and answers with its PUBACKs at
 * once. `batch` behaves like a busy application that drains its socket once per millisecond: chunks
 * are only set aside as they arrive, and a 1 ms timer frames them all and sends all their PUBACKs in
 * one write. A broker whose outbound window empties before the next batch of acks idles meanwhile.
 */
import mqtt from "mqtt-packet";
import type { Socket } from "bun";
import { parseFlags, printResult } from "./cli.ts";
import { framer } from "./framer.ts";

export interface LoadOptions {
  host: string;
  port: number;
  qos: 0 | 1;
  duration: number;
  warmup: number;
  publishers: number;
  payload: number;
  window: number;
  pubWindow: number;
  /** Subscribe somewhere else than the publishers' broker (bridge benchmarks): host, port, filter. */
  subscriber?: { host: string; port: number; filter: string };
  /** The subscriber's way of reading (see above); eager when absent. */
  consumer?: "eager" | "batch";
}

export interface LoadResult {
  qos: 0 | 1;
  consumer: "eager" | "batch";
  publishers: number;
  payloadBytes: number;
  durationSeconds: number;
  received: number;
  msgsPerSec: number;
  published: number;
  /** Published but never received (dropped by the broker or still missing at the end). */
  lost: number;
  /** Of those, the ones the subscriber saw missing from the sequence while the run went on. */
  lostInGaps: number;
  /** Fairness check: fewest and most messages received from one publisher. */
  receivedPerPublisher: { min: number; max: number };
  /**
   * Batch consumer: reads (timer ticks that found data) per second, messages per read, the largest
   * read, and the mean time from a batch of PUBACKs leaving to the next PUBLISH arriving (QoS 1).
   */
  batch?: { readsPerSec: number; messagesPerRead: number; biggestBatch: number; turnaroundMs: number };
}

const BATCH = 32; // most packets per write

export type Conn = {
  socket: Socket<undefined> | null;
  pending: Uint8Array | null; // bytes accepted by us but not yet by the kernel
  onData: (chunk: Uint8Array) => void;
  onDrain: () => void;
};

export function connect(host: string, port: number, conn: Conn): Promise<void> {
  return new Promise((resolve, reject) => {
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open(socket) {
          conn.socket = socket;
          socket.setNoDelay?.(true);
          resolve();
        },
        data(_socket, chunk) {
          conn.onData(chunk);
        },
        drain() {
          flush(conn);
          if (!conn.pending) conn.onDrain();
        },
        close() {
          conn.socket = null;
        },
        error(_socket, err) {
          reject(err);
        },
        connectError(_socket, err) {
          reject(err);
        },
      },
    }).catch(reject);
  });
}

/** Writes as much as the kernel takes; keeps the rest in `pending` until drain. */
export function send(conn: Conn, bytes: Uint8Array): void {
  if (!conn.socket) throw new Error("socket closed");
  if (conn.pending) {
    const joined = new Uint8Array(conn.pending.length + bytes.length);
    joined.set(conn.pending);
    joined.set(bytes, conn.pending.length);
    conn.pending = joined;
    return;
  }
  const n = conn.socket.write(bytes);
  if (n < bytes.length) conn.pending = bytes.subarray(Math.max(n, 0));
}

function flush(conn: Conn): void {
  if (!conn.pending || !conn.socket) return;
  const n = conn.socket.write(conn.pending);
  conn.pending = n >= conn.pending.length ? null : conn.pending.subarray(Math.max(n, 0));
}

export function waitFor(conn: Conn, type: number, what: string, ms = 5000): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
    conn.onData = framer((t, buf, body, end) => {
      if (t === type) {
        clearTimeout(timer);
        resolve(buf.slice(body, end));
      }
    });
  });
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const connectPacket = (id: string) =>
    mqtt.generate({ cmd: "connect", clientId: id, protocolVersion: 4, clean: true, keepalive: 600 });
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const P = o.publishers;
  // Each publisher gets an equal share of the window, so none can starve the others.
  const share = Math.max(1, Math.floor(o.window / P));

  // Per publisher: sent, received by the subscriber, seen missing (gaps), next expected sequence.
  const sent = new Array<number>(P).fill(0);
  const recv = new Array<number>(P).fill(0);
  const gaps = new Array<number>(P).fill(0);
  const unacked = new Array<number>(P).fill(0);
  let counting = false;
  let counted = 0;

  // --- subscriber ---
  const sub: Conn = { socket: null, pending: null, onData: () => {}, onDrain: () => {} };
  await connect(o.subscriber?.host ?? o.host, o.subscriber?.port ?? o.port, sub);
  let ack = waitFor(sub, 2, "CONNACK");
  send(sub, connectPacket(`bench-sub-${tag}`));
  const connack = await ack;
  if (connack[1] !== 0) throw new Error(`subscriber CONNACK return code ${connack[1]}`);
  ack = waitFor(sub, 9, "SUBACK");
  send(sub, mqtt.generate({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: o.subscriber?.filter ?? "bench/#", qos: o.qos }] }));
  const suback = await ack;
  if (suback[2] !== o.qos) throw new Error(`SUBACK granted ${suback[2]}, wanted QoS ${o.qos}`);

  let acks: number[] = []; // PUBACKs of one data event go out in one write
  const subFramer = framer((type, buf, body) => {
    if (type !== 3) return;
    if (counting) counted++;
    const topicLen = (buf[body] << 8) | buf[body + 1];
    let at = body + 2 + topicLen;
    if (o.qos === 1) {
      acks.push(0x40, 2, buf[at], buf[at + 1]);
      at += 2;
    }
    const i = buf[at];
    if (i >= P) return;
    const seq = ((buf[at + 1] << 24) | (buf[at + 2] << 16) | (buf[at + 3] << 8) | buf[at + 4]) >>> 0;
    const expected = recv[i] + gaps[i];
    if (seq > expected) gaps[i] += seq - expected;
    recv[i]++;
  });
  const pubs: Conn[] = [];
  const consume = (chunks: Uint8Array[]) => {
    for (const chunk of chunks) subFramer(chunk);
    if (acks.length) {
      send(sub, Uint8Array.from(acks));
      acks = [];
    }
    for (const p of pubs) pump(p);
  };
  let batchTimer: ReturnType<typeof setInterval> | undefined;
  let batches = 0; // ticks (while counting) that found something to read
  let acksSentAt = 0;
  let turnaroundTotal = 0;
  let turnarounds = 0;
  let biggestBatch = 0;
  if (o.consumer === "batch") {
    let waiting: Uint8Array[] = [];
    // Bun may reuse the chunk's memory after the handler returns: keep a copy until the next tick.
    sub.onData = (chunk) => {
      if (acksSentAt > 0) {
        // The broker's turnaround: our batch of PUBACKs left, the next PUBLISH arrives.
        turnaroundTotal += performance.now() - acksSentAt;
        turnarounds++;
        acksSentAt = 0;
      }
      waiting.push(new Uint8Array(chunk)); // a copy: Buffer.slice would be a view
    };
    batchTimer = setInterval(() => {
      if (waiting.length === 0) return;
      const chunks = waiting;
      waiting = [];
      const before = counted;
      consume(chunks);
      if (o.qos === 1) acksSentAt = performance.now();
      if (counting) {
        batches++;
        biggestBatch = Math.max(biggestBatch, counted - before);
      }
    }, 1);
  } else {
    sub.onData = (chunk) => consume([chunk]);
  }

  // --- publishers ---
  let running = true;
  const templates: Array<{ batch: Uint8Array; size: number; idOffset: number; seqOffset: number }> = [];
  const nextId = new Array<number>(P).fill(1);
  const pump = (p: Conn) => {
    const i = pubs.indexOf(p);
    const t = templates[i];
    while (running && !p.pending && p.socket) {
      let room = Math.min(BATCH, share - (sent[i] - recv[i] - gaps[i]));
      if (o.qos === 1) room = Math.min(room, o.pubWindow - unacked[i]);
      if (room <= 0) return;
      for (let k = 0; k < room; k++) {
        const base = k * t.size;
        if (o.qos === 1) {
          const id = nextId[i];
          t.batch[base + t.idOffset] = id >> 8;
          t.batch[base + t.idOffset + 1] = id & 255;
          nextId[i] = id === 65535 ? 1 : id + 1;
        }
        const seq = sent[i] + k;
        const at = base + t.seqOffset;
        t.batch[at] = seq >>> 24;
        t.batch[at + 1] = (seq >>> 16) & 255;
        t.batch[at + 2] = (seq >>> 8) & 255;
        t.batch[at + 3] = seq & 255;
      }
      sent[i] += room;
      if (o.qos === 1) unacked[i] += room;
      send(p, t.batch.slice(0, room * t.size));
    }
  };
  for (let i = 0; i < P; i++) {
    const p: Conn = { socket: null, pending: null, onData: () => {}, onDrain: () => pump(p) };
    await connect(o.host, o.port, p);
    const ca = waitFor(p, 2, "CONNACK");
    send(p, connectPacket(`bench-pub-${i}-${tag}`));
    if ((await ca)[1] !== 0) throw new Error(`publisher ${i} refused`);
    const topic = `bench/${i}`;
    const payload = Buffer.alloc(o.payload, 0x61);
    payload[0] = i; // publisher index; bytes 1-4: sequence number, patched per message
    const one = mqtt.generate({
      cmd: "publish",
      topic,
      payload,
      qos: o.qos,
      messageId: o.qos ? 1 : undefined,
      retain: false,
      dup: false,
    });
    // fixed header byte + remaining-length bytes, then topic length (2) + topic, [packet id], payload
    const headerLen = one.length - (2 + Buffer.byteLength(topic) + (o.qos ? 2 : 0) + payload.length);
    const idOffset = headerLen + 2 + Buffer.byteLength(topic);
    const batch = new Uint8Array(one.length * BATCH);
    for (let k = 0; k < BATCH; k++) batch.set(one, k * one.length);
    templates.push({ batch, size: one.length, idOffset, seqOffset: idOffset + (o.qos ? 2 : 0) + 1 });
    const pubFramer = framer((type) => {
      if (type === 4) unacked[i]--;
    });
    p.onData = (chunk) => {
      pubFramer(chunk);
      pump(p);
    };
    pubs.push(p);
  }
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  const outstanding = () => sum(sent) - sum(recv) - sum(gaps);

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (const p of pubs) pump(p);
  await sleep(o.warmup * 1000);
  counting = true;
  const t0 = performance.now();
  await sleep(o.duration * 1000);
  counting = false;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  // Let what is in flight arrive, to report losses.
  for (let waited = 0; waited < 3000 && outstanding() > 0; waited += 50) await sleep(50);
  if (batchTimer !== undefined) clearInterval(batchTimer);

  const disconnect = mqtt.generate({ cmd: "disconnect" });
  for (const c of [...pubs, sub]) {
    if (c.socket) {
      c.socket.write(disconnect);
      c.socket.end();
    }
  }
  return {
    qos: o.qos,
    consumer: o.consumer ?? "eager",
    publishers: o.publishers,
    payloadBytes: o.payload,
    durationSeconds: Math.round(elapsed * 100) / 100,
    received: counted,
    msgsPerSec: Math.round(counted / elapsed),
    published: sum(sent),
    lost: sum(sent) - sum(recv),
    lostInGaps: sum(gaps),
    receivedPerPublisher: { min: Math.min(...recv), max: Math.max(...recv) },
    ...(o.consumer === "batch"
      ? {
        batch: {
          readsPerSec: Math.round(batches / elapsed),
          messagesPerRead: Math.round(counted / Math.max(1, batches)),
          biggestBatch,
          turnaroundMs: Math.round((turnaroundTotal / Math.max(1, turnarounds)) * 1000) / 1000,
        },
      }
      : {}),
  };
}

function parseCli(argv: string[]): LoadOptions {
  const o = parseFlags(argv, {
    host: "127.0.0.1",
    port: 1883,
    qos: 0,
    duration: 10,
    warmup: 2,
    publishers: 8,
    payload: 64,
    window: 1000,
    pubWindow: 100,
    consumer: "eager",
  });
  if (o.qos !== 0 && o.qos !== 1) throw new Error("--qos must be 0 or 1");
  if (o.consumer !== "eager" && o.consumer !== "batch") throw new Error("--consumer must be eager or batch");
  if (!(o.payload >= 5)) throw new Error("--payload must be at least 5 bytes (index and sequence number)");
  if (o.publishers > 255) throw new Error("--publishers must be at most 255");
  return { ...o, qos: o.qos, consumer: o.consumer };
}

if (import.meta.main) await printResult("load", () => runLoad(parseCli(process.argv.slice(2))));
