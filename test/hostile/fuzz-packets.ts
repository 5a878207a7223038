/**
 * The fuzzer's raw material: valid packets of every type for MQTT 3.1.1 and 5.0 (encoded with
 * mqtt-packet, so they are right by construction), a seeded PRNG, and mutations that keep a
 * packet's framing right (so the broker's decoder sees the damage) or break it on purpose.
 */
import mqttPacket from "mqtt-packet";
import { type AnyPacket, remainingLength } from "../helpers/raw.ts";

export type Version = 4 | 5;

/** xorshift32: the same seed gives the same run (GANNET_FUZZ_SEED replays one). */
export class Random {
  private x: number;
  constructor(seed: number) {
    this.x = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.x;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    return this.x / 0x1_0000_0000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

const userProperties = { site: "plant-3", line: ["a", "b"] };

function connect(version: Version, clientId: string, extra: Partial<AnyPacket> = {}): AnyPacket {
  return {
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: version,
    clean: true,
    clientId,
    keepalive: 30,
    ...extra,
  };
}

/** CONNECT packets: plain, with a will, with credentials, v5 properties. */
function connects(version: Version, clientId: string): AnyPacket[] {
  const will = { topic: "fuzz/will", payload: Buffer.from("gone"), qos: 1, retain: false };
  const list: AnyPacket[] = [
    connect(version, clientId),
    connect(version, clientId, { clean: false, keepalive: 5 }),
    connect(version, clientId, { will }),
    connect(version, clientId, { username: "fuzz", password: Buffer.from("secret") }),
    connect(version, "", { clean: true }),
  ];
  if (version === 5) {
    list.push(
      connect(version, clientId, {
        properties: {
          sessionExpiryInterval: 30,
          receiveMaximum: 10,
          maximumPacketSize: 4096,
          topicAliasMaximum: 5,
          requestResponseInformation: true,
          requestProblemInformation: false,
          userProperties,
        },
      }),
      connect(version, clientId, {
        will: {
          ...will,
          properties: {
            willDelayInterval: 1,
            payloadFormatIndicator: true,
            messageExpiryInterval: 10,
            contentType: "text/plain",
            responseTopic: "fuzz/response",
            correlationData: Buffer.from([1, 2, 3]),
            userProperties,
          },
        },
      }),
      connect(version, clientId, {
        properties: { authenticationMethod: "SCRAM-SHA-1", authenticationData: Buffer.from("x") },
      }),
    );
  }
  return list;
}

/** Every other packet type (including the server-to-client ones a client must not send). */
function others(version: Version): AnyPacket[] {
  const v5 = version === 5;
  const list: AnyPacket[] = [
    { cmd: "publish", topic: "fuzz/a", payload: Buffer.from("hello"), qos: 0, retain: false, dup: false },
    {
      cmd: "publish",
      topic: "fuzz/b/c",
      payload: Buffer.alloc(300, 0x41),
      qos: 1,
      messageId: 7,
      retain: false,
      dup: false,
    },
    {
      cmd: "publish",
      topic: "fuzz/retained",
      payload: Buffer.from("r"),
      qos: 2,
      messageId: 8,
      retain: true,
      dup: true,
    },
    { cmd: "publish", topic: "fuzz/retained", payload: Buffer.alloc(0), qos: 0, retain: true, dup: false },
    { cmd: "puback", messageId: 7 },
    { cmd: "pubrec", messageId: 8 },
    { cmd: "pubrel", messageId: 8 },
    { cmd: "pubcomp", messageId: 8 },
    {
      cmd: "subscribe",
      messageId: 9,
      subscriptions: [{ topic: "fuzz/#", qos: 1 }, { topic: "fuzz/+/c", qos: 2 }, { topic: "$share/g/fuzz/a", qos: 0 }],
    },
    { cmd: "unsubscribe", messageId: 10, unsubscriptions: ["fuzz/#", "fuzz/+/c"] },
    { cmd: "pingreq" },
    { cmd: "disconnect" },
    // Server-to-client packets.
    { cmd: "connack", sessionPresent: false, returnCode: 0, reasonCode: 0 },
    { cmd: "suback", messageId: 9, granted: [0, 1] },
    { cmd: "unsuback", messageId: 10, granted: [0, 0] },
    { cmd: "pingresp" },
  ];
  if (v5) {
    list.push(
      {
        cmd: "publish",
        topic: "fuzz/props",
        payload: Buffer.from("{}"),
        qos: 1,
        messageId: 11,
        retain: false,
        dup: false,
        properties: {
          payloadFormatIndicator: true,
          messageExpiryInterval: 60,
          topicAlias: 1,
          responseTopic: "fuzz/reply",
          correlationData: Buffer.from("c"),
          userProperties,
          contentType: "application/json",
        },
      },
      {
        cmd: "publish",
        topic: "",
        payload: Buffer.from("alias"),
        qos: 0,
        retain: false,
        dup: false,
        properties: { topicAlias: 1 },
      },
      {
        cmd: "puback",
        messageId: 7,
        reasonCode: 0x10,
        properties: { reasonString: "no matching subscribers", userProperties },
      },
      { cmd: "pubrec", messageId: 8, reasonCode: 0x80, properties: { reasonString: "nope" } },
      { cmd: "pubrel", messageId: 8, reasonCode: 0x92 },
      { cmd: "pubcomp", messageId: 8, reasonCode: 0x92 },
      {
        cmd: "subscribe",
        messageId: 12,
        properties: { subscriptionIdentifier: 42, userProperties },
        subscriptions: [{ topic: "fuzz/x", qos: 1, nl: true, rap: true, rh: 2 }],
      },
      { cmd: "unsubscribe", messageId: 13, properties: { userProperties }, unsubscriptions: ["fuzz/x"] },
      { cmd: "disconnect", reasonCode: 0x04, properties: { sessionExpiryInterval: 10, reasonString: "bye" } },
      {
        cmd: "auth",
        reasonCode: 0x18,
        properties: { authenticationMethod: "SCRAM-SHA-1", authenticationData: Buffer.from("d") },
      },
    );
  }
  return list;
}

export interface Corpus {
  connects: Buffer[];
  packets: Buffer[];
}

export function corpus(version: Version, clientId: string): Corpus {
  const encode = (p: AnyPacket) => mqttPacket.generate(p, { protocolVersion: version });
  return { connects: connects(version, clientId).map(encode), packets: others(version).map(encode) };
}

/** Where a packet's body starts (after the fixed header), or the packet length if the header is broken. */
function bodyStart(packet: Buffer): number {
  for (let i = 1; i <= 4 && i < packet.length; i++) if ((packet[i] & 0x80) === 0) return i + 1;
  return packet.length;
}

/** The same first byte with a Remaining Length that fits the (mutated) body. */
function reframe(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first]), remainingLength(body.length), body]);
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x3f, 0xc0];

/** Damage to a packet's body; the caller decides whether the framing follows it. */
function mutateBody(r: Random, body: Buffer): Buffer {
  const b = Buffer.from(body);
  switch (r.int(8)) {
    case 0: // flip bits
      for (let n = 1 + r.int(4); n > 0 && b.length; n--) b[r.int(b.length)] ^= 1 << r.int(8);
      return b;
    case 1: // interesting bytes
      for (let n = 1 + r.int(3); n > 0 && b.length; n--) b[r.int(b.length)] = r.pick(INTERESTING);
      return b;
    case 2: // a 16-bit length field (or anything) made huge or zero
      if (b.length >= 2) b.writeUInt16BE(r.pick([0, 1, 0x7fff, 0xffff]), r.int(b.length - 1));
      return b;
    case 3: { // insert random bytes
      const at = r.int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), r.bytes(1 + r.int(16)), b.subarray(at)]);
    }
    case 4: { // delete a range
      const at = r.int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + r.int(8))]);
    }
    case 5: // truncate
      return b.subarray(0, r.int(b.length + 1));
    case 6: { // duplicate a slice
      const at = r.int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), b.subarray(at, at + 1 + r.int(32)), b.subarray(at)]);
    }
    default: // a variable byte integer (property length, subscription identifier) made huge
      if (b.length) {
        const at = r.int(b.length);
        b.set([0xff, 0xff, 0xff, 0x7f].slice(0, Math.min(1 + r.int(4), b.length - at)), at);
      }
      return b;
  }
}

/**
 * One mutation of a valid packet: mostly the body damaged and the Remaining Length fixed to fit
 * (so it reaches the decoder), sometimes the first byte (type, flags) or the framing itself.
 */
export function mutate(r: Random, packet: Buffer, all: readonly Buffer[]): Buffer {
  const start = bodyStart(packet);
  const first = packet[0];
  const body = packet.subarray(start);
  const roll = r.int(10);
  if (roll < 6) return reframe(first, mutateBody(r, body));
  if (roll === 6) return reframe(r.chance(0.5) ? r.int(256) : (first & 0xf0) | r.int(16), body); // type or flags
  if (roll === 7) { // body of another packet under this header
    const other = r.pick(all);
    return reframe(first, other.subarray(bodyStart(other)));
  }
  if (roll === 8) { // a Remaining Length that does not match the body (often a huge one)
    const claimed = r.chance(0.5) ? r.int(body.length + 10) : r.int(268_435_455);
    return Buffer.concat([Buffer.from([first]), remainingLength(claimed), body]);
  }
  return mutateBody(r, packet); // damage anywhere, framing included
}
