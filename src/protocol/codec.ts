/**
 * Codec facade over mqtt-packet: decode one framed packet, encode packets for a protocol version,
 * and the UTF-8 rules mqtt-packet does not check (it decodes invalid UTF-8 to U+FFFD).
 */
import mqttPacket from "mqtt-packet";
import type { Packet } from "mqtt-packet";
import { checkV5Properties, type OrderedUserProperties } from "./properties.ts";
export { RawReader } from "./raw-reader.ts";
import { ProtocolError, ReasonCode } from "./reason-codes.ts";

export type { Packet } from "mqtt-packet";

// mqtt-packet makes 65,536 two-byte Buffers on its first encode (a cache for packet ids and
// lengths, 4-5 MB kept for ever, most of it after the first CONNACK: it counted as memory of the
// first connections, issue 14). Its encoder writes the few numbers of a packet as it goes instead.
mqttPacket.writeToStream.cacheNumbers = false;
export type {
  IAuthPacket,
  IConnackPacket,
  IConnectPacket,
  IDisconnectPacket,
  IPubackPacket,
  IPubcompPacket,
  IPublishPacket,
  IPubrecPacket,
  IPubrelPacket,
  ISubscribePacket,
  IUnsubscribePacket,
} from "mqtt-packet";

interface ParserLike {
  /** mqtt-packet replaces this with each CONNECT it reads (see decode). */
  settings: { protocolVersion: number };
  parse(bytes: Uint8Array): number;
  on(event: "packet", fn: (packet: Packet) => void): void;
  on(event: "error", fn: (error: Error) => void): void;
}

/** Decodes framed packets for one connection. The protocol version is set once CONNECT is read. */
export class PacketDecoder {
  private static readonly shared = new Map<number, PacketDecoder>();

  /**
   * One decoder per protocol version for every connection: decode() takes one whole frame and
   * finishes synchronously (a failure resets the parser), so no state carries over between calls,
   * and a parser per connection cost about a kilobyte each (memory per idle connection, issue 14).
   */
  static forVersion(version: number): PacketDecoder {
    let decoder = PacketDecoder.shared.get(version);
    if (!decoder) PacketDecoder.shared.set(version, decoder = new PacketDecoder(version));
    return decoder;
  }

  private parser!: ParserLike;
  private decoded: Packet | null = null;
  private failure: Error | null = null;
  private settings!: { protocolVersion: number }; // the parser's, restored after each CONNECT

  constructor(private version: number = 4) {
    this.reset();
  }

  setVersion(version: number): void {
    if (version === this.version) return;
    this.version = version;
    this.reset();
  }

  private reset(): void {
    this.settings = { protocolVersion: this.version };
    this.parser = mqttPacket.parser(this.settings) as unknown as ParserLike;
    this.parser.on("packet", (packet) => (this.decoded = packet));
    this.parser.on("error", (error) => (this.failure = error));
  }

  /** Decode one whole packet (as cut by PacketFramer). Throws ProtocolError for malformed input. */
  decode(frame: Uint8Array): Packet {
    this.decoded = null;
    this.failure = null;
    // Bytes left in the parser would be read as the start of the next frame, which may come from
    // another connection (the decoder is shared): never keep any.
    if (this.parser.parse(frame) !== 0) this.reset();
    const failure = this.failure as Error | null;
    if (failure) {
      this.reset();
      // MQTT 5 section 3.8.3.1 calls these two a Protocol Error; everything else here is malformed.
      const code = /Invalid subscribe QoS|Invalid retain handling/.test(failure.message)
        ? ReasonCode.ProtocolError
        : ReasonCode.MalformedPacket;
      throw new ProtocolError(code, `malformed packet: ${failure.message}`, { cause: failure });
    }
    const packet = this.decoded as Packet | null;
    if (!packet) {
      this.reset();
      throw new ProtocolError(ReasonCode.MalformedPacket, "malformed packet: incomplete body");
    }
    // Packets that carry a Packet Identifier need a non-zero one [3.1.1 MQTT-2.3.1-1] [v5 MQTT-2.2.1-3].
    const packetId = (packet as { messageId?: number }).messageId;
    if (packetId === 0) throw new ProtocolError(ReasonCode.ProtocolError, `${packet.cmd} with Packet Identifier 0`);
    // mqtt-packet reports a Packet Identifier cut off by the packet's end as -1.
    if (packetId !== undefined && packetId < 0) {
      throw new ProtocolError(ReasonCode.MalformedPacket, `${packet.cmd} too short for its Packet Identifier`);
    }
    // mqtt-packet's parser takes a CONNECT it reads as its settings, protocol version included: left
    // so, a v5 CONNECT would make this shared 3.1.1 parser read every 3.1.1 client's SUBSCRIBE as v5
    // (and it would keep the CONNECT, password included). Put ours back (a new parser costs 3-6 µs).
    if (packet.cmd === "connect") this.parser.settings = this.settings;
    const version = packet.cmd === "connect" ? packet.protocolVersion : this.version;
    if (version === 5) {
      const ordered = checkV5Properties(frame, packet.cmd, (packet as { qos?: number }).qos ?? 0);
      if (ordered.main.length + ordered.will.length > 0) userPropertyLists.set(packet, ordered);
    }
    return packet;
  }
}

/** User Properties in wire order, for decoded v5 packets that have any. */
const userPropertyLists = new WeakMap<object, OrderedUserProperties>();

export function orderedUserProperties(packet: Packet): OrderedUserProperties {
  return userPropertyLists.get(packet) ?? { main: [], will: [] };
}

export function encodePacket(packet: Packet, protocolVersion: number): Uint8Array {
  if (packet.cmd === "connack" && protocolVersion !== 5) {
    // The 3.1.1 CONNACK is four fixed bytes: no need for mqtt-packet's generic writer on every connect.
    return Uint8Array.of(0x20, 2, packet.sessionPresent ? 1 : 0, packet.returnCode ?? 0);
  }
  const properties = (packet as { properties?: { authenticationData?: Uint8Array } }).properties;
  if (properties?.authenticationData === undefined || (packet.cmd !== "connack" && packet.cmd !== "auth")) {
    return mqttPacket.generate(packet, { protocolVersion });
  }
  // mqtt-packet writes binary properties only from Node Buffers, which runtime-neutral code cannot
  // make: the Authentication Data (a hook's Uint8Array) is appended to the encoded frame instead.
  const { authenticationData, ...rest } = properties;
  const frame = mqttPacket.generate({ ...packet, properties: rest } as Packet, { protocolVersion });
  return appendBinaryProperty(frame, packet.cmd === "connack" ? 2 : 1, 0x16, authenticationData);
}

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return out;
}

function readVarint(bytes: Uint8Array, offset: number): { value: number; size: number } {
  let value = 0;
  let size = 0;
  do value += (bytes[offset + size] & 0x7f) * 128 ** size; while (bytes[offset + size++] & 0x80);
  return { value, size };
}

/** A v5 frame whose properties end it (CONNACK, AUTH: `fixed` bytes before them), with one more binary property. */
function appendBinaryProperty(frame: Uint8Array, fixed: number, id: number, data: Uint8Array): Uint8Array {
  if (data.length > 0xffff) throw new RangeError(`property 0x${id.toString(16)} is ${data.length} bytes; at most 65535 fit`);
  const remaining = readVarint(frame, 1);
  const propsAt = 1 + remaining.size + fixed;
  const props = readVarint(frame, propsAt);
  const added = [id, data.length >> 8, data.length & 0xff];
  const propsLength = varint(props.value + added.length + data.length);
  const body = frame.subarray(propsAt + props.size);
  const remainingLength = varint(fixed + propsLength.length + body.length + added.length + data.length);
  const out = new Uint8Array(1 + remainingLength.length + fixed + propsLength.length + body.length + added.length + data.length);
  let at = 0;
  for (const part of [[frame[0]], remainingLength, frame.subarray(1 + remaining.size, propsAt), propsLength, body, added, data]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Throws MalformedPacket when a UTF-8 string field is invalid [3.1.1 MQTT-1.5.3-1] [v5 MQTT-1.5.4-1] or holds U+0000 [3.1.1 MQTT-1.5.3-2] [v5 MQTT-1.5.4-2]. */
export function checkUtf8String(value: string | undefined, rawBytes: () => Uint8Array | undefined, what: string): void {
  if (value === undefined) return;
  if (value.includes("\u0000")) {
    throw new ProtocolError(ReasonCode.MalformedPacket, `${what} contains U+0000`);
  }
  // mqtt-packet decodes invalid sequences to U+FFFD; only then is it worth looking at the bytes.
  if (!value.includes("\uFFFD")) return;
  const bytes = rawBytes();
  if (!bytes) return;
  try {
    strictUtf8.decode(bytes);
  } catch (e: unknown) {
    throw new ProtocolError(ReasonCode.MalformedPacket, `${what} is not valid UTF-8`, { cause: e });
  }
}
