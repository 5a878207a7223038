/**
 * Bad input on the TCP listener (MQTT 3.1.1): every malformed or oversized packet closes the
 * offending connection, nothing of it is delivered, and every other client carries on (a fresh
 * client still connects and does a QoS 1 round trip after each case).
 * Broker started with --set mqtt.maxPacketSize=1024.
 */
import { describe, expect, test } from "bun:test";
import { RUNTIMES } from "../helpers/broker.ts";
import { assertRoundTrip, closeAll, collectMessages, connectClient, subscribe, uniqueId } from "../helpers/clients.ts";
import { connectRaw, openRaw, rawConnectBytes, rawPublishBytes, remainingLength, u16 } from "../helpers/raw.ts";
import { expectClosed, useBroker } from "../helpers/suite.ts";

const MAX_PACKET = 1024;

/** Deterministic pseudo-random bytes. */
function noise(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A PUBLISH (QoS 0) whose whole encoded size is exactly `total` bytes. */
function publishOfSize(topic: string, total: number, fill = 0x61): Buffer {
  const t = Buffer.from(topic);
  for (const rlBytes of [1, 2, 3]) {
    const payloadLen = total - 1 - rlBytes - 2 - t.length;
    const rl = 2 + t.length + payloadLen;
    if (payloadLen >= 0 && remainingLength(rl).length === rlBytes) {
      const pkt = rawPublishBytes(t, Buffer.alloc(payloadLen, fill));
      if (pkt.length !== total) throw new Error("size arithmetic");
      return pkt;
    }
  }
  throw new Error(`cannot build a PUBLISH of ${total} bytes`);
}

interface Case {
  name: string;
  /** Send CONNECT first (default true). */
  connected?: boolean;
  bytes: (marker: string) => Buffer;
}

const topicBytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));

const CASES: Case[] = [
  { name: "Remaining Length encoded with 5 bytes (§2.2.3 allows at most 4)", bytes: () => Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00]) },
  { name: "Remaining Length with 5 bytes in the very first packet", connected: false, bytes: () => Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]) },
  { name: `a PUBLISH of ${MAX_PACKET + 1} bytes, above mqtt.maxPacketSize=${MAX_PACKET}`, bytes: (m) => publishOfSize(`bad/${m}`, MAX_PACKET + 1) },
  { name: "a PUBLISH of 2 MB, far above mqtt.maxPacketSize", bytes: (m) => rawPublishBytes(Buffer.from(`bad/${m}`), Buffer.alloc(2 * 1024 * 1024, 0x62)) },
  { name: "a header announcing a 200 MB packet followed by only a few bytes", bytes: () => Buffer.concat([Buffer.from([0x30]), remainingLength(200 * 1024 * 1024), Buffer.from([0, 3, 0x61, 0x2f, 0x62])]) },
  { name: "a CONNECT above mqtt.maxPacketSize", connected: false, bytes: (m) => rawConnectBytes({ clientId: `big-${m}-${"x".repeat(2000)}` }) },
  { name: "[3.1.1 MQTT-1.5.3-1] invalid UTF-8 in the PUBLISH Topic Name (0xC3 0x28)", bytes: (m) => rawPublishBytes(topicBytes("bad/", [0xc3, 0x28]), Buffer.from(m)) },
  { name: "[3.1.1 MQTT-1.5.3-1] a UTF-16 surrogate (U+D800 as 0xED 0xA0 0x80) in the Topic Name", bytes: (m) => rawPublishBytes(topicBytes("bad/", [0xed, 0xa0, 0x80]), Buffer.from(m)) },
  { name: "[3.1.1 MQTT-1.5.3-1] an overlong UTF-8 encoding of \"/\" (0xC0 0xAF) in the Topic Name", bytes: (m) => rawPublishBytes(topicBytes("bad", [0xc0, 0xaf], "x"), Buffer.from(m)) },
  { name: "[3.1.1 MQTT-1.5.3-1] a truncated UTF-8 sequence at the end of the Topic Name", bytes: (m) => rawPublishBytes(topicBytes("bad/", [0xe2, 0x82]), Buffer.from(m)) },
  { name: "[3.1.1 MQTT-1.5.3-2] [3.1.1 MQTT-4.7.3-2] U+0000 in the Topic Name", bytes: (m) => rawPublishBytes(topicBytes("bad/", [0x00], "x"), Buffer.from(m)) },
  { name: "[3.1.1 MQTT-3.3.2-2] a \"+\" wildcard in the PUBLISH Topic Name", bytes: (m) => rawPublishBytes(Buffer.from("bad/+"), Buffer.from(m)) },
  { name: "[3.1.1 MQTT-3.3.2-2] a \"#\" wildcard in the PUBLISH Topic Name", bytes: (m) => rawPublishBytes(Buffer.from("bad/#"), Buffer.from(m)) },
  { name: "[3.1.1 MQTT-4.8.0-1] packet type 0 (reserved)", bytes: () => Buffer.from([0x00, 0x00]) },
  { name: "[3.1.1 MQTT-4.8.0-1] packet type 15 (reserved in 3.1.1, AUTH only exists in 5.0)", bytes: () => Buffer.from([0xf0, 0x00]) },
  { name: "[3.1.1 MQTT-4.8.0-1] packet type 15 as the first packet", connected: false, bytes: () => Buffer.from([0xf0, 0x00]) },
  { name: "[3.1.1 MQTT-4.8.0-1] a server-to-client packet (CONNACK) sent by a client", bytes: () => Buffer.from([0x20, 0x02, 0x00, 0x00]) },
  { name: "[3.1.1 MQTT-4.8.0-1] a server-to-client packet (SUBACK) sent by a client", bytes: () => Buffer.from([0x90, 0x03, 0x00, 0x01, 0x00]) },
  { name: "a PUBLISH with Remaining Length 0 (no Topic Name)", bytes: () => Buffer.from([0x30, 0x00]) },
  { name: "a Topic Name length running past the end of the packet", bytes: () => Buffer.from([0x30, 0x04, 0x00, 0x10, 0x61, 0x62]) },
  { name: "a QoS 1 PUBLISH too short to hold its Packet Identifier", bytes: () => Buffer.from([0x32, 0x04, 0x00, 0x02, 0x61, 0x62]) },
  { name: "a CONNECT whose Client Identifier length runs past the end of the packet", connected: false, bytes: () => {
    const c = rawConnectBytes({ clientId: "abc" });
    c.writeUInt16BE(200, c.length - 5);
    return c;
  } },
  { name: "an HTTP request on the MQTT port", connected: false, bytes: () =>
    Buffer.from(
      "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n" +
        "Accept: text/html,application/xhtml+xml\r\nConnection: keep-alive\r\n\r\n",
    ) },
  { name: "a TLS ClientHello on the plain MQTT port", connected: false, bytes: () => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03]), noise(32, 7)]) },
  { name: "garbage bytes before CONNECT", connected: false, bytes: () => Buffer.concat([Buffer.from([0xff]), noise(4096, 42)]) },
  { name: "garbage bytes after CONNECT", bytes: () => Buffer.concat([Buffer.from([0x0f]), noise(4096, 4242)]) },
];

for (const runtime of RUNTIMES) {
  describe(`bad input: malformed and oversized packets [${runtime}]`, () => {
    const b = useBroker(runtime, { set: { "mqtt.maxPacketSize": MAX_PACKET } });

    for (const c of CASES) {
      test(`${c.name}: connection closed, nothing delivered, every other client carries on`, async () => {
        const marker = uniqueId("BAD");
        const watcher = await connectClient(b(), { clientId: uniqueId("watch") });
        try {
          await subscribe(watcher, "#", { qos: 0 });
          const col = collectMessages(watcher);
          const raw = c.connected === false ? await openRaw(b()) : (await connectRaw(b(), { clientId: uniqueId("evil") })).raw;
          raw.send(c.bytes(marker));
          await expectClosed(raw, 3_000);
          expect(raw.packets().some((p) => p.cmd === "connack" && p.returnCode === 0 && c.connected === false)).toBe(false);
          await assertRoundTrip(b());
          expect(col.messages.filter((m) => m.topic.startsWith("bad") || m.payload.toString().includes(marker))).toEqual([]);
        } finally {
          await closeAll(watcher);
        }
      });
    }

    test(`a PUBLISH of exactly mqtt.maxPacketSize (${MAX_PACKET}) bytes is accepted and delivered`, async () => {
      const topic = uniqueId("ok/limit");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 0 });
        const col = collectMessages(sub);
        const { raw } = await connectRaw(b(), { clientId: uniqueId("limit") });
        const pkt = publishOfSize(topic, MAX_PACKET);
        raw.send(pkt);
        await col.waitFor(1, 3_000);
        expect(col.messages[0].payload.length).toBe(MAX_PACKET - 1 - 2 - 2 - Buffer.byteLength(topic));
        expect(raw.closed).toBe(false);
        raw.close();
      } finally {
        await closeAll(sub);
      }
    });

    test("a packet split into 1-byte writes is reassembled", async () => {
      const topic = uniqueId("ok/bytes");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 0 });
        const col = collectMessages(sub);
        const raw = await openRaw(b());
        const bytes = Buffer.concat([rawConnectBytes({ clientId: uniqueId("slow") }), rawPublishBytes(Buffer.from(topic), Buffer.from("trickled"))]);
        for (const byte of bytes) {
          raw.send(Buffer.from([byte]));
          await new Promise((r) => setTimeout(r, 1));
        }
        await col.waitFor(1, 3_000);
        expect(col.messages[0].payload.toString()).toBe("trickled");
        raw.close();
      } finally {
        await closeAll(sub);
      }
    });

    test("half a packet and then the client disconnects: the broker carries on", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("half") });
      raw.send(rawPublishBytes(Buffer.from("bad/half"), Buffer.alloc(500, 0x63)).subarray(0, 200));
      await new Promise((r) => setTimeout(r, 50));
      raw.close();
      await assertRoundTrip(b());
    });

    test("60 connections dropped at random points of the handshake: the broker carries on", async () => {
      const connect = rawConnectBytes({ clientId: uniqueId("churn") });
      const raws = await Promise.all(Array.from({ length: 60 }, () => openRaw(b())));
      raws.forEach((raw, i) => {
        raw.send(connect.subarray(0, i % connect.length));
      });
      await new Promise((r) => setTimeout(r, 50));
      for (const raw of raws) raw.close();
      await assertRoundTrip(b());
    }, 10_000);

    test("a valid CONNECT, SUBSCRIBE and PUBLISH packed into one TCP write all work", async () => {
      const topic = uniqueId("ok/packed");
      const raw = await openRaw(b());
      try {
        const t = Buffer.from(topic);
        const subBody = Buffer.concat([u16(1), u16(t.length), t, Buffer.from([0])]);
        raw.send(Buffer.concat([
          rawConnectBytes({ clientId: uniqueId("packed") }),
          Buffer.from([0x82]),
          remainingLength(subBody.length),
          subBody,
          rawPublishBytes(t, Buffer.from("self")),
        ]));
        expect((await raw.nextPacket()).cmd).toBe("connack");
        expect((await raw.nextPacket()).cmd).toBe("suback");
        const p = await raw.nextPacket();
        expect(p.cmd).toBe("publish");
        expect(p.payload.toString()).toBe("self");
      } finally {
        raw.close();
      }
    });
  });
}
