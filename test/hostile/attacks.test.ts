/**
 * Hostile input over real sockets (issue 5): slowloris clients before and after CONNECT, a
 * connection flood, huge Remaining Lengths, deeply nested topics, 64 KiB topic names and a
 * subscriber that never reads. Each attack shows three things against the real broker process:
 *  1. the limit that bounds it acts (close, reason code, refusal, dropped messages);
 *  2. the broker logs it (a JSON log line, itself bounded where a flood could multiply it);
 *  3. everyone else carries on (a well-behaved client does a QoS 1 round trip during or after it,
 *     or a client connected before it keeps working).
 * Where an attack would make an unbounded broker buffer a lot, its resident memory (VmRSS) is
 * sampled and must grow by well under what the attack sends (generous bounds: the runtimes' heaps
 * also grow with the traffic itself). Every figure measured is printed on one line,
 * "attack figures {...}", at the end of each runtime's run.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { MqttClient } from "mqtt";
import WebSocket from "ws";
import { type RunningBroker, RUNTIMES, sleep } from "../helpers/broker.ts";
import {
  assertRoundTrip,
  closeAll,
  connectClient,
  nextMessage,
  publish,
  subscribe,
  uniqueId,
} from "../helpers/clients.ts";
import {
  type AnyPacket,
  connectRaw,
  openRaw,
  rawAck,
  type RawClient,
  rawConnectBytes,
  rawPublish,
  rawPublishBytes,
  rawSubscribe,
  remainingLength,
} from "../helpers/raw.ts";
import { expectOpen, useBroker } from "../helpers/suite.ts";

const KIB = 1024;
const MIB = 1024 * KIB;
/** The broker's default mqtt.maxPacketSize, maxTopicLevels and maxTopicLength. */
const MAX_PACKET = MIB;
const MAX_LEVELS = 64;
const MAX_LENGTH = 4096;
/** The largest Remaining Length 4 bytes can encode (MQTT section 2.2.3). */
const LARGEST_REMAINING_LENGTH = 268_435_455;
/** The longest UTF-8 string MQTT can carry (a 2-byte length prefix). */
const LONGEST_STRING = 65_535;

const PACKET_TOO_LARGE = 0x95;
const KEEP_ALIVE_TIMEOUT = 0x8d;
const TOPIC_NAME_INVALID = 0x90;
const TOPIC_FILTER_INVALID = 0x8f;
const SUBACK_FAILURE = 0x80;
const CONNACK_SERVER_UNAVAILABLE = 0x03;

type Version = 4 | 5;
const VERSIONS: Version[] = [4, 5];
const versionName = (v: Version) => (v === 5 ? "5.0" : "3.1.1");

// ---- log lines ----------------------------------------------------------------------------

interface LogEntry {
  msg: string;
  level: string;
  time: string;
  [field: string]: unknown;
}

/** Every JSON log line with this `msg` so far, parsed. */
function logEntries(b: RunningBroker, msg: string): LogEntry[] {
  const quoted = JSON.stringify(msg);
  const out: LogEntry[] = [];
  for (const line of b.logs().split("\n")) {
    if (!line.includes(quoted)) continue;
    try {
      const entry = JSON.parse(line) as LogEntry;
      if (entry.msg === msg) out.push(entry);
    } catch {
      // not a JSON line
    }
  }
  return out;
}

const matches = (entry: LogEntry, fields: Record<string, unknown>) =>
  Object.entries(fields).every(([k, v]) => entry[k] === v);

/** The first log line with this `msg` whose fields have the given values (waits up to timeoutMs). */
async function waitForEntry(
  b: RunningBroker,
  msg: string,
  fields: Record<string, unknown> = {},
  timeoutMs = 5_000,
): Promise<LogEntry> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = logEntries(b, msg).find((e) => matches(e, fields));
    if (hit) return hit;
    if (Date.now() > deadline) {
      const seen = logEntries(b, msg).slice(-5).map((e) => JSON.stringify(e).slice(0, 300));
      throw new Error(
        `no log line "${msg}" with ${JSON.stringify(fields)} within ${timeoutMs} ms; last ones: ${seen.join("\n")}`,
      );
    }
    await sleep(100);
  }
}

// ---- waiting, memory -----------------------------------------------------------------------

/** Retries `check` (an assertion) until it passes; rethrows its last error after timeoutMs. */
async function eventually<T>(check: () => T | Promise<T>, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(everyMs);
    }
  }
}

interface Memory {
  before: number;
  peak: number;
  after: number;
  /** Peak minus before. */
  growth: number;
}

/** Samples the broker's resident memory every 100 ms until `stop`, keeping the peak. */
function watchMemory(b: RunningBroker): { stop(): Memory } {
  const before = b.residentBytes();
  let peak = before;
  const sample = () => {
    if (!b.exited) peak = Math.max(peak, b.residentBytes());
  };
  const timer = setInterval(sample, 100);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const after = b.residentBytes();
      return { before, peak, after, growth: peak - before };
    },
  };
}

const mb = (bytes: number) => Math.round((bytes / MIB) * 10) / 10;
const memoryFigures = (m: Memory) => ({
  beforeMB: mb(m.before),
  peakMB: mb(m.peak),
  afterMB: mb(m.after),
  growthMB: mb(m.growth),
});

// ---- clients --------------------------------------------------------------------------------

async function connectVersion(b: RunningBroker, version: Version, extra: Partial<AnyPacket> = {}): Promise<RawClient> {
  const { raw, connack } = await connectRaw(b, {
    protocolVersion: version,
    clientId: uniqueId(`atk${version}`),
    ...extra,
  }, {
    protocolVersion: version,
  });
  expect(connack.reasonCode ?? connack.returnCode ?? 0).toBe(0);
  return raw;
}

/** Sends `bytes` one byte every `everyMs` until they run out or `stop` is called; `sent` counts them. */
function drip(raw: RawClient, bytes: Buffer, everyMs: number): { readonly sent: number; stop(): void } {
  let sent = 0;
  const timer = setInterval(() => {
    if (sent >= bytes.length || raw.closed) return clearInterval(timer);
    raw.send(bytes.subarray(sent, sent + 1));
    sent++;
  }, everyMs);
  return {
    get sent() {
      return sent;
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * Publishes `count` QoS 1 messages of `size` bytes (index in the first 4 bytes), at most `window`
 * unacknowledged; with `delivered`, also at most `window` ahead of what a subscriber has received
 * (end-to-end flow control, so that subscriber never falls behind by more than `window`).
 */
async function publishMany(
  c: MqttClient,
  topic: string,
  count: number,
  size: number,
  opts: { window?: number; delivered?: () => number } = {},
): Promise<void> {
  const { window = 32, delivered } = opts;
  const template = Buffer.alloc(size, 0x61);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      while (delivered && next - delivered() >= window) await sleep(2);
      if (next >= count) return;
      const payload = Buffer.from(template);
      payload.writeUInt32BE(next++, 0);
      await publish(c, topic, payload, { qos: 1 }, 60_000);
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
}

/** Counts distinct message indexes (first 4 payload bytes) arriving on `topic`, without keeping payloads. */
function countIndexes(c: MqttClient, topic: string, count: number): { readonly received: number } {
  const seen = new Uint8Array(count);
  let received = 0;
  c.on("message", (t: string, payload: Buffer) => {
    if (t !== topic || payload.length < 4) return;
    const i = payload.readUInt32BE(0);
    if (i < count && !seen[i]) {
      seen[i] = 1;
      received++;
    }
  });
  return {
    get received() {
      return received;
    },
  };
}

/** A topic (or filter) of exactly `levels` levels: `prefix` then "/x" (or "/+") levels. */
function deepTopic(prefix: string, levels: number, level = "x"): string {
  const have = prefix.split("/").length;
  return prefix + `/${level}`.repeat(levels - have);
}

/** A fixed header for a PUBLISH of exactly `total` bytes (type byte + Remaining Length bytes + body). */
function publishHeaderOfSize(total: number): Buffer {
  for (const rlBytes of [1, 2, 3, 4]) {
    const header = Buffer.concat([Buffer.from([0x30]), remainingLength(total - 1 - rlBytes)]);
    if (header.length === 1 + rlBytes) return header;
  }
  throw new Error(`no PUBLISH header for ${total} bytes`);
}

const figures: Record<string, unknown> = {};

for (const runtime of RUNTIMES) {
  afterAll(() => {
    const mine = Object.fromEntries(Object.entries(figures).filter(([k]) => k.endsWith(`[${runtime}]`)));
    console.log(`attack figures ${JSON.stringify(mine)}`);
  });

  describe(`hostile input: slowloris clients (mqtt.connectTimeout 2 s; keepalive counts whole packets) [${runtime}]`, () => {
    const CONNECT_TIMEOUT_S = 2;
    const b = useBroker(runtime, { set: { "mqtt.connectTimeout": CONNECT_TIMEOUT_S } });

    test(
      "before CONNECT: 100 sockets, half dripping a CONNECT one byte per 300 ms and half silent, are all closed after mqtt.connectTimeout, logged (bounded), while others do round trips",
      async () => {
        const SOCKETS = 100;
        // Longer than anything the drip can finish before the broker gives up.
        const connect = rawConnectBytes({ clientId: `slowloris-${"x".repeat(200)}`, keepalive: 60 });
        const closedAfter: number[] = []; // ms from each socket's connect to its close
        const sockets = await Promise.all(Array.from({ length: SOCKETS }, async () => {
          const s = await openRaw(b());
          const opened = Date.now();
          s.socket.once("close", () => closedAfter.push(Date.now() - opened));
          return s;
        }));
        const drips = sockets.slice(0, SOCKETS / 2).map((s) => drip(s, connect, 300));
        try {
          await assertRoundTrip(b()); // while every slowloris socket is open
          const closed = await Promise.all(sockets.map((s) => s.waitClosed(CONNECT_TIMEOUT_S * 1000 + 10_000)));
          expect(closed.filter((c) => !c).length).toBe(0);
          expect(Math.max(...drips.map((d) => d.sent))).toBeLessThan(connect.length); // no CONNECT ever completed
          // It is the connect timeout that closes them (none was closed on the spot).
          expect(Math.min(...closedAfter)).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_S * 1000 - 500);
          expect(sockets.flatMap((s) => s.packets())).toEqual([]);

          const lines = await eventually(() => {
            const found = logEntries(b(), "closing connection: no CONNECT in time");
            expect(found.length).toBeGreaterThan(0);
            return found;
          }, 5_000);
          expect(lines.every((l) => l.timeout === CONNECT_TIMEOUT_S)).toBe(true);
          // Connection-level lines are throttled broker-wide (50 per 10 s): 100 timeouts are not 100 lines.
          expect(lines.length).toBeLessThanOrEqual(50);
          await assertRoundTrip(b());
          figures[`slowlorisBeforeConnect[${runtime}]`] = {
            sockets: SOCKETS,
            closedAfterMs: [Math.min(...closedAfter), Math.max(...closedAfter)],
            logLines: lines.length,
          };
        } finally {
          for (const d of drips) d.stop();
          for (const s of sockets) s.close();
        }
      },
      60_000,
    );

    test(
      "[3.1.1 MQTT-3.1.2-24] [v5 MQTT-3.1.2-22] after CONNECT (keepalive 2 s), a PUBLISH dripped one byte per 300 ms does not count as activity: closed at 1.5x keepalive, logged (v5: DISCONNECT 0x8D first)",
      async () => {
        const KEEPALIVE_S = 2;
        await Promise.all(VERSIONS.map(async (version) => {
          const clientId = uniqueId(`drip${version}`);
          const raw = await connectVersion(b(), version, { clientId, keepalive: KEEPALIVE_S });
          const connectedAt = Date.now();
          // A valid QoS 0 PUBLISH of 200 bytes: at one byte per 300 ms it would take a minute.
          const body = rawPublishBytes(Buffer.from(`drip/${clientId}`), Buffer.alloc(180, 0x61));
          const dripping = drip(raw, body, 300);
          try {
            const closed = await raw.waitClosed(KEEPALIVE_S * 1500 + 10_000);
            const after = Date.now() - connectedAt;
            expect(closed).toBe(true);
            expect(after).toBeGreaterThanOrEqual(KEEPALIVE_S * 1500 - 500); // bytes kept arriving all along
            expect(dripping.sent).toBeGreaterThan(5);
            expect(dripping.sent).toBeLessThan(body.length);
            const received = raw.packets().map((p) => [p.cmd, p.reasonCode]);
            if (version === 5) expect(received).toEqual([["connack", 0], ["disconnect", KEEP_ALIVE_TIMEOUT]]);
            else expect(received.map(([cmd]) => cmd)).toEqual(["connack"]);
            await waitForEntry(b(), "keepalive timeout", { clientId, keepalive: KEEPALIVE_S });
            figures[`slowlorisAfterConnect v${versionName(version)}[${runtime}]`] = {
              closedAfterMs: after,
              bytesDripped: dripping.sent,
            };
          } finally {
            dripping.stop();
            raw.close();
          }
        }));
        await assertRoundTrip(b());
      },
      60_000,
    );

    test(
      "control: a client that sends complete PINGREQs every second (keepalive 2 s) stays connected well past 1.5x keepalive",
      async () => {
        await Promise.all(VERSIONS.map(async (version) => {
          const clientId = uniqueId(`ping${version}`);
          const raw = await connectVersion(b(), version, { clientId, keepalive: 2 });
          try {
            for (let i = 0; i < 5; i++) {
              await sleep(1_000);
              await expectOpen(raw, 3_000); // PINGREQ, PINGRESP
            }
            expect(raw.packets().map((p) => p.cmd)).not.toContain("disconnect");
            expect(logEntries(b(), "keepalive timeout").filter((e) => e.clientId === clientId)).toEqual([]);
          } finally {
            raw.close();
          }
        }));
      },
      30_000,
    );
  });

  describe(`hostile input: a connection flood (mqtt.maxConnections 50) [${runtime}]`, () => {
    const LIMIT = 50;
    const TCP_FLOOD = 500;
    const WS_FLOOD = 20;
    // Long enough that the sockets holding the places keep them through the 10 s log window.
    const b = useBroker(runtime, { set: { "mqtt.maxConnections": LIMIT, "mqtt.connectTimeout": 60 } });

    test(
      "500 TCP + 20 WebSocket sockets at once: never more than 50 held, the rest closed at once and logged (50 lines per 10 s, then a suppressed count); a client connected before keeps working; new clients connect once the flood is gone",
      async () => {
        const topic = uniqueId("flood/rt");
        const sub = await connectClient(b(), { clientId: uniqueId("flood-sub") });
        const pub = await connectClient(b(), { clientId: uniqueId("flood-pub") });
        const held = LIMIT - 2; // places left for the flood
        let sockets: RawClient[] = [];
        const webSockets: WebSocket[] = [];
        try {
          await subscribe(sub, topic, { qos: 1 });
          const memory = watchMemory(b());
          const wsClosed = Array.from({ length: WS_FLOOD }, () => {
            const ws = new WebSocket(`ws://${b().host}:${b().wsPort}/mqtt`, "mqtt");
            webSockets.push(ws);
            ws.on("error", () => {});
            return new Promise<void>((resolve) => ws.once("close", () => resolve()));
          });
          sockets = await Promise.all(Array.from({ length: TCP_FLOOD }, () => openRaw(b(), { timeoutMs: 10_000 })));

          // The broker closes everything beyond the limit at once; the places it gave stay held.
          const open = () => sockets.filter((s) => !s.closed).length;
          await eventually(() => expect(open()).toBeLessThanOrEqual(held), 10_000);
          await Promise.all(wsClosed);
          await sleep(500);
          expect(open()).toBe(held);

          // The clients connected before the flood carry on; a new one is turned away while it is full.
          const got = nextMessage(sub, 5_000);
          await publish(pub, topic, "during the flood", { qos: 1 }, 5_000);
          expect((await got).payload.toString()).toBe("during the flood");
          await expect(connectClient(b(), { clientId: uniqueId("flood-late") })).rejects.toThrow();
          const refused = TCP_FLOOD - held + WS_FLOOD + 1;

          // Logged, but not one line per socket.
          const lines = await eventually(() => {
            const found = logEntries(b(), "connection refused: too many connections");
            expect(found.length).toBeGreaterThan(0);
            return found;
          }, 5_000);
          expect(lines.every((l) => l.scope === "broker" && l.limit === LIMIT && l.level === "warn")).toBe(true);
          expect(lines.length).toBeLessThanOrEqual(50);
          // The next window's first line carries how many were left out.
          const windowEnds = Date.parse(lines[0].time) + 10_000;
          await sleep(Math.max(0, windowEnds - Date.now()) + 1_000);
          const probe = await openRaw(b());
          expect(await probe.waitClosed(5_000)).toBe(true);
          const carrier = await waitForEntry(b(), "connection refused: too many connections", {
            suppressed: refused - lines.length,
          });
          expect(carrier.scope).toBe("broker");
          const m = memory.stop();
          figures[`connectionFlood[${runtime}]`] = {
            tcp: TCP_FLOOD,
            ws: WS_FLOOD,
            held,
            refused,
            logLines: lines.length,
            suppressed: carrier.suppressed,
            ...memoryFigures(m),
          };
          expect(m.growth).toBeLessThan(100 * MIB);

          // Once the flood is gone, new clients get in again.
          for (const s of sockets) s.close();
          probe.close();
          await eventually(() => assertRoundTrip(b()), 10_000, 500);
        } finally {
          for (const s of sockets) s.close();
          for (const ws of webSockets) ws.terminate();
          await closeAll(sub, pub);
        }
      },
      90_000,
    );
  });

  describe(`hostile input: huge Remaining Lengths, deep and long topics (default limits) [${runtime}]`, () => {
    const b = useBroker(runtime);

    test(
      "a PUBLISH header announcing 268,435,455 bytes (the 4-byte maximum) is refused from the header alone: v5 DISCONNECT 0x95, 3.1.1 close; logged; nothing allocated",
      async () => {
        const memory = watchMemory(b());
        await Promise.all(VERSIONS.map(async (version) => {
          const clientId = uniqueId(`huge${version}`);
          const raw = await connectVersion(b(), version, { clientId });
          try {
            raw.send(
              Buffer.concat([
                Buffer.from([0x30]),
                remainingLength(LARGEST_REMAINING_LENGTH),
                Buffer.from([0x00, 0x03, 0x61, 0x2f, 0x62]),
              ]),
            );
            expect(await raw.waitClosed(5_000)).toBe(true);
            const received = raw.packets().map((p) => [p.cmd, p.reasonCode]);
            if (version === 5) expect(received).toEqual([["connack", 0], ["disconnect", PACKET_TOO_LARGE]]);
            else expect(received.map(([cmd]) => cmd)).toEqual(["connack"]);
            const line = await waitForEntry(b(), "closing connection: protocol violation", {
              clientId,
              reasonCode: PACKET_TOO_LARGE,
            });
            expect(String(line.reason)).toContain(String(1 + 4 + LARGEST_REMAINING_LENGTH));
          } finally {
            raw.close();
          }
        }));
        const m = memory.stop();
        figures[`hugeRemainingLength[${runtime}]`] = memoryFigures(m);
        expect(m.growth).toBeLessThan(50 * MIB);
        await assertRoundTrip(b());
      },
      30_000,
    );

    test(
      "a PUBLISH header announcing maxPacketSize + 1 bytes is refused (v5 0x95); 16 connections each sending all but the last byte of a packet of exactly maxPacketSize are held until keepalive (1.5 x 2 s) closes them; memory stays bounded",
      async () => {
        const STALLED = 16;
        // One byte over: refused from the header.
        const over = await Promise.all(VERSIONS.map(async (version) => {
          const clientId = uniqueId(`over${version}`);
          const raw = await connectVersion(b(), version, { clientId });
          raw.send(Buffer.concat([publishHeaderOfSize(MAX_PACKET + 1), Buffer.from([0x00, 0x01, 0x61])]));
          return { version, clientId, raw };
        }));
        for (const { version, clientId, raw } of over) {
          expect(await raw.waitClosed(5_000)).toBe(true);
          if (version === 5) expect(raw.packets().map((p) => p.reasonCode)).toEqual([0, PACKET_TOO_LARGE]);
          await waitForEntry(b(), "closing connection: protocol violation", { clientId, reasonCode: PACKET_TOO_LARGE });
          raw.close();
        }

        // Exactly the limit: accepted while it arrives, and held only until keepalive runs out.
        const memory = watchMemory(b());
        const header = publishHeaderOfSize(MAX_PACKET);
        const body = Buffer.alloc(MAX_PACKET - header.length, 0x62);
        body.writeUInt16BE(5, 0); // Topic Name "big/x"
        body.write("big/x", 2);
        const stalled = await Promise.all(Array.from({ length: STALLED }, async (_, i) => {
          const version = VERSIONS[i % 2];
          const clientId = uniqueId(`stall${version}`);
          const raw = await connectVersion(b(), version, { clientId, keepalive: 2 });
          raw.send(Buffer.concat([header, body.subarray(0, body.length - 1)]));
          return { version, clientId, raw };
        }));
        try {
          await sleep(1_500);
          expect(stalled.filter((s) => s.raw.closed).length).toBe(0); // within the limit: no refusal
          await assertRoundTrip(b()); // while 16 MiB wait for their last byte
          for (const s of stalled) {
            expect(await s.raw.waitClosed(15_000)).toBe(true);
            expect(s.raw.packets().map((p) => [p.cmd, p.reasonCode])).toEqual(
              s.version === 5 ? [["connack", 0], ["disconnect", KEEP_ALIVE_TIMEOUT]] : [["connack", undefined]],
            );
            await waitForEntry(b(), "keepalive timeout", { clientId: s.clientId });
          }
          const m = memory.stop();
          figures[`stalledMaxPacket x${STALLED}[${runtime}]`] = memoryFigures(m);
          expect(m.growth).toBeLessThan(200 * MIB);
          await assertRoundTrip(b());
        } finally {
          for (const s of stalled) s.raw.close();
        }
      },
      60_000,
    );

    test(
      "65 levels (mqtt.maxTopicLevels 64): v5 PUBLISH QoS 1 gets PUBACK 0x90, 3.1.1 a plain PUBACK; neither is routed, both are logged, both connections stay",
      async () => {
        const base = uniqueId("deep");
        const topic = deepTopic(`${base}/a`, MAX_LEVELS + 1);
        expect(topic.split("/").length).toBe(MAX_LEVELS + 1);
        expect(topic.length).toBeLessThan(MAX_LENGTH);
        const sub = await connectVersion(b(), 5);
        try {
          await rawSubscribe(sub, [{ topic: `${base}/#`, qos: 1 }]);
          for (const version of VERSIONS) {
            const clientId = uniqueId(`levels${version}`);
            const pub = await connectVersion(b(), version, { clientId });
            try {
              rawPublish(pub, topic, "too deep", { qos: 1, messageId: 7 });
              const puback = await pub.nextPacketOf("puback", 3_000);
              expect([puback.messageId, puback.reasonCode ?? 0]).toEqual([7, version === 5 ? TOPIC_NAME_INVALID : 0]);
              rawPublish(pub, `${base}/ok`, `after v${version}`, { qos: 1, messageId: 8 });
              const delivered = await sub.nextPacketOf("publish", 3_000);
              expect([delivered.topic, String(delivered.payload)]).toEqual([`${base}/ok`, `after v${version}`]);
              await expectOpen(pub);
              await waitForEntry(b(), "publish refused: topic over limits", {
                clientId,
                reason: `topic has more than ${MAX_LEVELS} levels`,
              });
            } finally {
              pub.close();
            }
          }
        } finally {
          sub.close();
        }
      },
      30_000,
    );

    test(
      `deeply nested filters: 2,048 levels of "+" in 4,095 bytes (over maxTopicLevels only) and 5,000 levels (over maxTopicLength too) get SUBACK 0x8F (v5) / 0x80 (3.1.1), logged; a valid filter in the same SUBSCRIBE is granted; the connection stays`,
      async () => {
        const deep = deepTopic("+", 2_048, "+");
        const deeper = deepTopic("+", 5_000, "+");
        expect([deep.length, deeper.length]).toEqual([4_095, 9_999]);
        for (const version of VERSIONS) {
          const clientId = uniqueId(`filter${version}`);
          const raw = await connectVersion(b(), version, { clientId });
          try {
            const valid = `${uniqueId("deep")}/+/#`;
            const filters = [deep, deeper, valid].map((topic) => ({ topic, qos: 1 as const }));
            const suback = await rawSubscribe(raw, filters);
            const refused = version === 5 ? TOPIC_FILTER_INVALID : SUBACK_FAILURE;
            expect(suback.granted).toEqual([refused, refused, 1]);
            await expectOpen(raw);
            const lines = await eventually(() => {
              const found = logEntries(b(), "subscription refused").filter((e) => e.clientId === clientId);
              expect(found.length).toBe(2);
              return found;
            }, 5_000);
            expect(lines.map((l) => l.reasonCode)).toEqual([TOPIC_FILTER_INVALID, TOPIC_FILTER_INVALID]);
          } finally {
            raw.close();
          }
        }
        await assertRoundTrip(b());
      },
      30_000,
    );

    test(
      "a burst of 1,000 v5 QoS 1 PUBLISHes to a 2,048-level topic: all refused with PUBACK 0x90, the log gets at most 20 lines for them (per-connection throttle), the broker keeps serving",
      async () => {
        const BURST = 1_000;
        const topic = deepTopic("b", 2_048); // 4,095 bytes: over maxTopicLevels only
        expect(topic.length).toBeLessThan(MAX_LENGTH);
        const clientId = uniqueId("burst");
        const raw = await connectVersion(b(), 5, { clientId });
        try {
          const packets = Array.from({ length: BURST }, (_, i) => ({
            cmd: "publish",
            topic,
            payload: Buffer.from("x"),
            qos: 1,
            messageId: i + 1,
          }));
          for (const p of packets) raw.sendPacket(p);
          const acks = await eventually(() => {
            const got = raw.packets().filter((p) => p.cmd === "puback");
            expect(got.length).toBe(BURST);
            return got;
          }, 30_000);
          expect(new Set(acks.map((a) => a.reasonCode))).toEqual(new Set([TOPIC_NAME_INVALID]));
          expect(acks.map((a) => a.messageId)).toEqual(packets.map((p) => p.messageId));
          await expectOpen(raw);
          const lines = logEntries(b(), "publish refused: topic over limits").filter((e) => e.clientId === clientId);
          expect(lines.length).toBeGreaterThan(0);
          expect(lines.every((l) => l.reason === `topic has more than ${MAX_LEVELS} levels`)).toBe(true);
          expect(lines.length).toBeLessThanOrEqual(20);
          expect(lines.every((l) => String(l.topic).length <= 100)).toBe(true);
          await assertRoundTrip(b());
        } finally {
          raw.close();
        }
      },
      60_000,
    );

    test(
      `a 65,535-byte Topic Name (mqtt.maxTopicLength ${MAX_LENGTH}): v5 QoS 1 gets PUBACK 0x90, 3.1.1 QoS 0 is dropped; neither reaches a "#" subscriber, both are logged (topic cut to 100 characters), both connections stay`,
      async () => {
        const topic = "t".repeat(LONGEST_STRING);
        const marker = uniqueId("long/after");
        const sub = await connectVersion(b(), 5);
        const ids = { v5: uniqueId("long5"), v3: uniqueId("long3") };
        const v5 = await connectVersion(b(), 5, { clientId: ids.v5 });
        const v3 = await connectVersion(b(), 4, { clientId: ids.v3 });
        try {
          await rawSubscribe(sub, [{ topic: "#", qos: 1 }]);
          rawPublish(v5, topic, "long", { qos: 1, messageId: 3 });
          const puback = await v5.nextPacketOf("puback", 3_000);
          expect([puback.messageId, puback.reasonCode]).toEqual([3, TOPIC_NAME_INVALID]);
          v3.send(rawPublishBytes(Buffer.from(topic), Buffer.from("long"))); // QoS 0: no ack either way
          rawPublish(v3, marker, "after", { qos: 1, messageId: 4 });
          expect((await v3.nextPacketOf("puback", 3_000)).messageId).toBe(4);
          const delivered = await sub.nextPacketOf("publish", 3_000);
          expect(delivered.topic).toBe(marker);
          await expectOpen(v5);
          await expectOpen(v3);
          const lines = await eventually(() => {
            const found = logEntries(b(), "publish refused: topic over limits").filter((e) =>
              e.clientId === ids.v5 || e.clientId === ids.v3
            );
            expect(found.map((e) => [e.clientId, e.qos])).toEqual([[ids.v5, 1], [ids.v3, 0]]);
            return found;
          }, 5_000);
          for (const l of lines) {
            expect(l.reason).toBe(`topic longer than ${MAX_LENGTH} bytes`);
            expect(String(l.topic).length).toBeLessThanOrEqual(100);
          }
        } finally {
          for (const c of [sub, v5, v3]) c.close();
        }
      },
      30_000,
    );

    test(
      `a 65,535-byte filter, and a shared one with a 65,000-byte share name, get SUBACK 0x8F (v5) / 0x80 (3.1.1), ` +
        "logged with the filter cut to 100 characters; the connection stays",
      async () => {
        const filter = `${"f".repeat(LONGEST_STRING - 2)}/#`;
        const sharedFilter = `$share/${"n".repeat(65_000)}/x`;
        for (const version of VERSIONS) {
          const clientId = uniqueId(`longfilter${version}`);
          const raw = await connectVersion(b(), version, { clientId });
          try {
            const suback = await rawSubscribe(raw, [{ topic: filter, qos: 0 }, { topic: sharedFilter, qos: 0 }]);
            const refused = version === 5 ? TOPIC_FILTER_INVALID : SUBACK_FAILURE;
            expect(suback.granted).toEqual([refused, refused]);
            await expectOpen(raw);
            const entry = await waitForEntry(b(), "subscription refused", {
              clientId,
              reasonCode: TOPIC_FILTER_INVALID,
            });
            expect(String(entry.filter).length).toBeLessThanOrEqual(100);
          } finally {
            raw.close();
          }
        }
        await assertRoundTrip(b());
      },
      30_000,
    );

    test(
      `a 65,535-byte will topic in CONNECT: v5 CONNACK 0x90, 3.1.1 CONNACK 0x03, then close; logged`,
      async () => {
        const willTopic = "w".repeat(LONGEST_STRING);
        for (const version of VERSIONS) {
          const clientId = uniqueId(`longwill${version}`);
          const raw = await openRaw(b(), { protocolVersion: version });
          try {
            raw.sendPacket({
              cmd: "connect",
              protocolId: "MQTT",
              protocolVersion: version,
              clean: true,
              keepalive: 60,
              clientId,
              will: { topic: willTopic, payload: Buffer.from("gone"), qos: 0, retain: false },
            });
            const connack = await raw.nextPacketOf("connack", 3_000);
            expect(version === 5 ? connack.reasonCode : connack.returnCode).toBe(
              version === 5 ? TOPIC_NAME_INVALID : CONNACK_SERVER_UNAVAILABLE,
            );
            expect(await raw.waitClosed(3_000)).toBe(true);
            await waitForEntry(b(), "connection refused", {
              clientId,
              reasonCode: TOPIC_NAME_INVALID,
              reason: `will topic longer than ${MAX_LENGTH} bytes`,
            });
          } finally {
            raw.close();
          }
        }
        await assertRoundTrip(b());
      },
      30_000,
    );
  });

  describe(`hostile input: a subscriber that never reads (mqtt.maxQueuedMessages 100) [${runtime}]`, () => {
    const MAX_QUEUED = 100;
    const MAX_INFLIGHT = 64;
    const MESSAGE = 64 * KIB;
    // The window is set, not the default: the counts below depend on it.
    const b = useBroker(runtime, { set: { "mqtt.maxQueuedMessages": MAX_QUEUED, "mqtt.maxInflight": MAX_INFLIGHT, "sys.interval": 1 } });

    test(
      "QoS 0: 1 GiB published to a subscriber whose socket is paused: broker memory grows by less than 400 MB, it logs the drops (and, once the client reads again, how many), another subscriber gets everything",
      async () => {
        const COUNT = 16_384; // 1 GiB
        const topic = uniqueId("firehose");
        const stuckId = uniqueId("stuck");
        const stuck = await connectVersion(b(), 4, { clientId: stuckId });
        const fast = await connectClient(b(), { clientId: uniqueId("fast") });
        const pub = await connectClient(b(), { clientId: uniqueId("pub") });
        try {
          expect((await rawSubscribe(stuck, [{ topic, qos: 0 }])).granted).toEqual([0]);
          stuck.socket.pause(); // reads nothing from now on: its socket buffers fill, then the broker's
          await subscribe(fast, topic, { qos: 1 });
          const fastGot = countIndexes(fast, topic, COUNT);

          const memory = watchMemory(b());
          await publishMany(pub, topic, COUNT, MESSAGE, { delivered: () => fastGot.received });
          await eventually(() => expect(fastGot.received).toBe(COUNT), 30_000);
          await waitForEntry(b(), "client not reading: dropping QoS 0 messages until it catches up", {
            clientId: stuckId,
            level: "warn",
          });
          await assertRoundTrip(b()); // with the stuck subscriber still connected and unread
          const m = memory.stop();
          // Buffering it all would take over 1 GiB; what is left is the runtime's garbage from the traffic.
          expect(m.growth).toBeLessThan(400 * MIB);

          // Reading again: what was buffered arrives, the rest was dropped and counted.
          stuck.socket.resume();
          const again = await waitForEntry(b(), "client reading again", { clientId: stuckId }, 20_000);
          const dropped = Number(again.dropped);
          expect(dropped).toBeGreaterThan(0);
          const delivered = () => stuck.packets().filter((p) => p.cmd === "publish").length;
          await eventually(() => expect(delivered() + dropped).toBe(COUNT), 10_000);
          expect(stuck.closed).toBe(false);
          figures[`neverReadsQos0[${runtime}]`] = {
            publishedMB: (COUNT * MESSAGE) / MIB,
            delivered: delivered(),
            dropped,
            ...memoryFigures(m),
          };
        } finally {
          stuck.close();
          await closeAll(fast, pub);
        }
      },
      120_000,
    );

    test(
      `QoS 1: 500 MB to a stuck subscriber: it holds at most maxInflight (${MAX_INFLIGHT}) + maxQueuedMessages (${MAX_QUEUED}) messages, the rest are dropped and counted ($SYS), memory grows by less than 300 MB, round trips go on`,
      async () => {
        const COUNT = 8_000; // 500 MiB
        const topic = uniqueId("queue");
        const stuckId = uniqueId("stuck1");
        const stuck = await connectVersion(b(), 5, { clientId: stuckId });
        const pub = await connectClient(b(), { clientId: uniqueId("pub1") });
        const sys = await connectClient(b(), { clientId: uniqueId("sys") });
        try {
          let dropped = -1;
          sys.on("message", (t: string, payload: Buffer) => {
            if (t === "$SYS/broker/publish/messages/dropped") dropped = Number(payload.toString());
          });
          await subscribe(sys, "$SYS/broker/publish/messages/dropped", { qos: 0 });
          await eventually(() => expect(dropped).toBeGreaterThanOrEqual(0), 5_000);
          await sleep(1_500); // the count before this test, settled
          const droppedBefore = dropped;

          expect((await rawSubscribe(stuck, [{ topic, qos: 1 }])).granted).toEqual([1]);
          stuck.socket.pause();
          const memory = watchMemory(b());
          await publishMany(pub, topic, COUNT, MESSAGE);
          await assertRoundTrip(b());
          const m = memory.stop();
          expect(m.growth).toBeLessThan(300 * MIB);
          const expectedDrops = COUNT - MAX_INFLIGHT - MAX_QUEUED;
          await eventually(() => expect(dropped - droppedBefore).toBe(expectedDrops), 5_000);
          await waitForEntry(b(), "session queue full: dropping QoS 1/2 messages for this client", {
            clientId: stuckId,
            maxQueuedMessages: MAX_QUEUED,
          });

          // Reading (and acknowledging) again: exactly the in-flight window and the queue arrive.
          stuck.socket.resume();
          let acked = 0;
          for (;;) {
            const p = await stuck.nextPacketOf("publish", 2_000).catch(() => null);
            if (!p) break;
            rawAck(stuck, p);
            acked++;
          }
          expect(acked).toBe(MAX_INFLIGHT + MAX_QUEUED);
          await expectOpen(stuck);
          // Caught up: one line says how many were dropped in the episode.
          await waitForEntry(b(), "session queue drained", { clientId: stuckId, dropped: expectedDrops });
          figures[`neverReadsQos1[${runtime}]`] = {
            publishedMB: (COUNT * MESSAGE) / MIB,
            delivered: acked,
            dropped: dropped - droppedBefore,
            ...memoryFigures(m),
          };
        } finally {
          stuck.close();
          await closeAll(pub, sys);
        }
      },
      120_000,
    );
  });
}
