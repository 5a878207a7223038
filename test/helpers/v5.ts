/**
 * Helpers for MQTT 5.0 protocol tests (test/conformance/v5 and others), on top of raw.ts: v5 raw connections, expectations about server DISCONNECTs and hand-built packets that
 * mqtt-packet refuses to encode (reserved bits, duplicate properties, invalid options).
 */
import { expect } from "bun:test";
import type { RunningBroker } from "./broker.ts";
import { type AnyPacket, connectRaw, hex, openRaw, type RawClient, remainingLength, u16 } from "./raw.ts";
export { hex } from "./raw.ts";

export { sleep } from "./broker.ts";

/** MQTT 5.0 reason codes used by these suites (OASIS MQTT 5.0, 2.4). */
export const RC = {
  success: 0x00,
  grantedQos1: 0x01,
  grantedQos2: 0x02,
  disconnectWithWill: 0x04,
  noMatchingSubscribers: 0x10,
  noSubscriptionExisted: 0x11,
  continueAuthentication: 0x18,
  unspecifiedError: 0x80,
  malformedPacket: 0x81,
  protocolError: 0x82,
  unsupportedProtocolVersion: 0x84,
  clientIdentifierNotValid: 0x85,
  notAuthorized: 0x87,
  badAuthenticationMethod: 0x8c,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  packetIdentifierNotFound: 0x92,
  receiveMaximumExceeded: 0x93,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  retainNotSupported: 0x9a,
  qosNotSupported: 0x9b,
  sharedSubscriptionsNotSupported: 0x9e,
  subscriptionIdentifiersNotSupported: 0xa1,
  wildcardSubscriptionsNotSupported: 0xa2,
} as const;

export type { AnyPacket, RawClient };

/** Raw MQTT 5 connection: CONNECT (clean start, keepalive 60 unless overridden) and its CONNACK. */
export function connectV5(
  b: RunningBroker,
  clientId: string,
  connect: Partial<AnyPacket> = {},
): Promise<{ raw: RawClient; connack: AnyPacket }> {
  return connectRaw(b, { protocolVersion: 5, clientId, ...connect }, { protocolVersion: 5 });
}

/** A raw v5 connection that must be accepted (CONNACK 0x00). */
export async function connectV5Ok(
  b: RunningBroker,
  clientId: string,
  connect: Partial<AnyPacket> = {},
): Promise<{ raw: RawClient; connack: AnyPacket }> {
  const r = await connectV5(b, clientId, connect);
  expect(r.connack.reasonCode ?? 0).toBe(RC.success);
  return r;
}

/** An unconnected raw v5 socket (for hand-built CONNECTs). */
export function openV5(b: RunningBroker): Promise<RawClient> {
  return openRaw(b, { protocolVersion: 5 });
}

/** Reason code of a parsed ack/disconnect, where an omitted reason code means 0x00. */
export function reasonOf(p: AnyPacket): number {
  return p.reasonCode ?? 0;
}

/**
 * The server must send DISCONNECT with one of `codes` and close the connection
 * [v5 MQTT-4.13.1-1, MQTT-4.13.2-1]. Returns the DISCONNECT.
 */
export async function expectDisconnect(raw: RawClient, codes: number | number[], timeoutMs = 3_000): Promise<AnyPacket> {
  const wanted = Array.isArray(codes) ? codes : [codes];
  let p: AnyPacket;
  try {
    p = await raw.nextPacketOf("disconnect", timeoutMs);
  } catch (e) {
    const seen = raw.packets().map((x: AnyPacket) => `${x.cmd}${x.reasonCode !== undefined ? ":" + hex(x.reasonCode) : ""}`);
    throw new Error(
      `expected DISCONNECT ${wanted.map(hex).join("/")}: ${(e as Error).message}; packets seen: [${seen.join(", ")}]`,
    );
  }
  expect(wanted.map(hex)).toContain(hex(reasonOf(p)));
  expect(await raw.waitClosed(timeoutMs)).toBe(true);
  return p;
}

/**
 * For errors where the server MAY send a packet before it MUST close (CONNECT errors): the
 * connection must close; any packet of type `cmd` it sends must carry one of `codes`, and no other
 * packet may arrive (among those not yet consumed with nextPacket/nextPacketOf). Returns that packet.
 */
export async function expectClosedWith(
  raw: RawClient,
  cmd: "connack" | "disconnect",
  codes: number[],
  timeoutMs = 3_000,
): Promise<AnyPacket | undefined> {
  const closed = await raw.waitClosed(timeoutMs);
  const packets = await unconsumed(raw);
  const seen = packets.map((x: AnyPacket) => `${x.cmd}${x.reasonCode !== undefined ? ":" + hex(x.reasonCode) : ""}`);
  if (!closed) throw new Error(`connection still open after ${timeoutMs} ms; packets seen: [${seen.join(", ")}]`);
  const other = packets.filter((x: AnyPacket) => x.cmd !== cmd);
  expect(other.map((x: AnyPacket) => x.cmd)).toEqual([]);
  const p = packets.find((x: AnyPacket) => x.cmd === cmd);
  if (p) expect(codes.map(hex)).toContain(hex(reasonOf(p)));
  return p;
}

/** Packets received but not yet returned by nextPacket/nextPacketOf (consumes them). */
export async function unconsumed(raw: RawClient): Promise<AnyPacket[]> {
  const out: AnyPacket[] = [];
  for (;;) {
    try {
      out.push(await raw.nextPacket(0));
    } catch {
      return out;
    }
  }
}

/** The connection must close (a packet may or may not precede the close, e.g. DISCONNECT 0x81). */
export async function expectClosed(raw: RawClient, timeoutMs = 3_000): Promise<void> {
  expect(await raw.waitClosed(timeoutMs)).toBe(true);
}

/** SUBSCRIBE with raw and wait for its SUBACK (with the same packet id). */
export async function rawSubscribe(
  raw: RawClient,
  subscriptions: Array<{ topic: string; qos?: number; nl?: boolean; rap?: boolean; rh?: number }>,
  opts: { messageId?: number; properties?: Record<string, unknown>; timeoutMs?: number } = {},
): Promise<AnyPacket> {
  const messageId = opts.messageId ?? 1;
  raw.sendPacket({
    cmd: "subscribe",
    messageId,
    subscriptions: subscriptions.map((s) => ({ qos: 0, ...s })),
    ...(opts.properties ? { properties: opts.properties } : {}),
  });
  const suback = await raw.nextPacketOf("suback", opts.timeoutMs ?? 2_000);
  expect(suback.messageId).toBe(messageId);
  return suback;
}

/** Wait for the next PUBLISH on a raw client. */
export function nextPublish(raw: RawClient, timeoutMs = 2_000): Promise<AnyPacket> {
  return raw.nextPacketOf("publish", timeoutMs);
}

/** Fails if a PUBLISH arrives on the raw client within ms. */
export async function expectNoPublish(raw: RawClient, ms = 300): Promise<void> {
  const before = raw.packets().filter((p: AnyPacket) => p.cmd === "publish").length;
  await new Promise((r) => setTimeout(r, ms));
  const after = raw.packets().filter((p: AnyPacket) => p.cmd === "publish");
  expect(after.slice(before).map((p: AnyPacket) => `${p.topic}:${String(p.payload)}`)).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// Hand-built v5 packets (for what mqtt-packet refuses to generate).

export function varInt(n: number): Buffer {
  return remainingLength(n);
}

export function utf8(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  return Buffer.concat([u16(b.length), b]);
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** A property block: var-int length + the given raw property bytes. */
export function props(...items: Buffer[]): Buffer {
  const body = Buffer.concat(items);
  return Buffer.concat([varInt(body.length), body]);
}

/** Property helpers (identifier byte + value). */
export const P = {
  sessionExpiryInterval: (n: number) => Buffer.concat([Buffer.from([0x11]), u32(n)]),
  topicAlias: (n: number) => Buffer.concat([Buffer.from([0x23]), u16(n)]),
  receiveMaximum: (n: number) => Buffer.concat([Buffer.from([0x21]), u16(n)]),
  subscriptionIdentifier: (n: number) => Buffer.concat([Buffer.from([0x0b]), varInt(n)]),
  userProperty: (k: string, v: string) => Buffer.concat([Buffer.from([0x26]), utf8(k), utf8(v)]),
  requestResponseInformation: (n: number) => Buffer.from([0x19, n]),
};

/** A packet: first byte + remaining length + body. */
export function packet(firstByte: number, ...body: Buffer[]): Buffer {
  const b = Buffer.concat(body);
  return Buffer.concat([Buffer.from([firstByte]), varInt(b.length), b]);
}

/**
 * A v5 CONNECT with full control: protocol level, connect flags, raw property block and raw
 * payload after the client id (will properties/topic/payload, user name, password).
 */
export function connectBytes(o: {
  clientId: string;
  level?: number;
  flags?: number;
  keepalive?: number;
  properties?: Buffer;
  payloadRest?: Buffer;
  firstByte?: number;
}): Buffer {
  return packet(
    o.firstByte ?? 0x10,
    utf8("MQTT"),
    Buffer.from([o.level ?? 5, o.flags ?? 0x02]),
    u16(o.keepalive ?? 60),
    o.properties ?? props(),
    utf8(o.clientId),
    o.payloadRest ?? Buffer.alloc(0),
  );
}

/** A v5 SUBSCRIBE with raw option bytes per filter (fixed header flags default 0b0010). */
export function subscribeBytes(
  messageId: number,
  filters: Array<{ topic: string; options: number }>,
  o: { properties?: Buffer; firstByte?: number } = {},
): Buffer {
  return packet(
    o.firstByte ?? 0x82,
    u16(messageId),
    o.properties ?? props(),
    ...filters.map((f) => Buffer.concat([utf8(f.topic), Buffer.from([f.options])])),
  );
}

// ---------------------------------------------------------------------------------------------
// Byte-level inspection (for what the parsed form hides, e.g. the interleaving of User Properties).

/** Records every byte the raw client receives from now on. */
export function captureBytes(raw: RawClient): () => Buffer {
  const chunks: Buffer[] = [];
  raw.socket.on("data", (d: Buffer) => chunks.push(Buffer.from(d)));
  return () => Buffer.concat(chunks);
}

function readVarInt(buf: Buffer, pos: number): [number, number] {
  let value = 0;
  let mult = 1;
  for (;;) {
    const byte = buf[pos++];
    value += (byte & 0x7f) * mult;
    if ((byte & 0x80) === 0) return [value, pos];
    mult *= 128;
  }
}

/** Splits a byte stream into whole MQTT packets (incomplete trailing bytes are ignored). */
export function splitPackets(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos + 2 <= buf.length) {
    const [len, bodyAt] = readVarInt(buf, pos + 1);
    if (bodyAt + len > buf.length) break;
    out.push(buf.subarray(pos, bodyAt + len));
    pos = bodyAt + len;
  }
  return out;
}

/** The User Properties of a v5 PUBLISH packet's bytes, in wire order. */
export function publishUserProperties(pkt: Buffer): Array<[string, string]> {
  const qos = (pkt[0] >> 1) & 3;
  let [, pos] = readVarInt(pkt, 1);
  const topicLen = pkt.readUInt16BE(pos);
  pos += 2 + topicLen + (qos > 0 ? 2 : 0);
  const [propLen, propsAt] = readVarInt(pkt, pos);
  pos = propsAt;
  const end = propsAt + propLen;
  const str = (): string => {
    const n = pkt.readUInt16BE(pos);
    const s = pkt.subarray(pos + 2, pos + 2 + n).toString("utf8");
    pos += 2 + n;
    return s;
  };
  const out: Array<[string, string]> = [];
  while (pos < end) {
    const id = pkt[pos++];
    switch (id) {
      case 0x01: pos += 1; break; // Payload Format Indicator
      case 0x02: pos += 4; break; // Message Expiry Interval
      case 0x23: pos += 2; break; // Topic Alias
      case 0x0b: pos = readVarInt(pkt, pos)[1]; break; // Subscription Identifier
      case 0x03: case 0x08: case 0x09: str(); break; // Content Type, Response Topic, Correlation Data
      case 0x26: out.push([str(), str()]); break; // User Property
      default: throw new Error(`unexpected PUBLISH property 0x${id.toString(16)}`);
    }
  }
  return out;
}
