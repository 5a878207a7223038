/**
 * The compact form of a message the broker keeps for a long time (retained messages, keyed by
 * their topic), and the way back to a Message when one is read.
 *
 * Why: on V8 (Deno) every Uint8Array owns an ArrayBuffer with an off-heap backing store, about
 * 600 bytes of resident memory for a 6-byte payload, more than the rest of the message; an object
 * per message costs 56-72 bytes more. A string costs 16 bytes plus one per char, on V8 and
 * JavaScriptCore alike, and as few objects as possible also means less for the young generation
 * to copy and grow for. So the common message (no properties, no expiry, a small payload) is kept
 * as ONE string: its QoS, its publisher and its payload bytes, one char each. Others keep an
 * object. Issue 14: <= 0.5 KB per small retained message.
 */
import type { Message, MessageProperties, QoS } from "../model/message.ts";

/** Payloads up to this size are kept as chars; a larger one keeps its bytes (the overhead is then small). */
export const SMALL_PAYLOAD_BYTES = 1024;
/**
 * Payloads read together (a wildcard match) are copied into shared buffers of this size: one
 * allocation per buffer, not per payload. A message kept from such a read (queued, in flight)
 * keeps at most this much memory alive with it.
 */
const SHARED_BUFFER_BYTES = 16 * 1024;

const NO_PROPERTIES: MessageProperties = Object.freeze({});

/** A message with v5 properties or an expiry (or a client id too long for the string form), and a small payload. */
class RichMessage {
  constructor(
    /** The payload, one char per byte. */
    readonly bytes: string,
    readonly qos: QoS,
    readonly origin: string | undefined,
    readonly properties: MessageProperties,
    readonly expiresAt: number | undefined,
  ) {}
}

/**
 * A message as kept, without its topic (the keeper's key), immutable. Three forms:
 *   - a string, for the common message: char 0: the QoS; char 1: the publisher's client id
 *     length + 1 (0: none); then the client id; then the payload, one char (0-255) per byte;
 *   - a RichMessage, for one with properties or an expiry;
 *   - the Message itself, for a payload over SMALL_PAYLOAD_BYTES: the payload dwarfs the rest, and
 *     reads hand out that same object, so a durable store recognises it and writes it once.
 */
export type CompactMessage = string | RichMessage | Message;

/** `message` as kept (a copy: nothing of it is shared but the Message itself for a large payload). */
export function compactMessage(message: Message): CompactMessage {
  const { payload, properties, expiresAt, origin } = message;
  const hasProperties = Object.keys(properties).length > 0;
  let compact: CompactMessage;
  if (payload.length > SMALL_PAYLOAD_BYTES) compact = message;
  else if (!hasProperties && expiresAt === undefined && 2 + (origin?.length ?? 0) + payload.length <= PACKED_CHARS) {
    compact = packed(message.qos, origin, payload);
  } else {
    const shared = hasProperties ? properties : NO_PROPERTIES;
    compact = new RichMessage(latin1String(payload), message.qos, origin, shared, expiresAt);
  }
  return compact;
}

/** Clock time (ms) after which the kept message is dropped; undefined = never. */
export function expiresAtOf(kept: CompactMessage): number | undefined {
  return typeof kept === "string" ? undefined : kept.expiresAt;
}

/** A Message for `kept` with its own copy of the payload (a large one: the Message kept). */
export function toMessage(topic: string, kept: CompactMessage): Message {
  return place(topic, kept, (length) => new Uint8Array(length));
}

/**
 * Messages for `topics[i]` and `kept[i]`, in order; small payloads are copied into shared buffers
 * (see SHARED_BUFFER_BYTES).
 */
export function toMessages(topics: readonly string[], kept: readonly CompactMessage[]): Message[] {
  let buffer = new ArrayBuffer(0);
  let used = 0;
  const allocate = (length: number): Uint8Array => {
    if (used + length > buffer.byteLength) {
      buffer = new ArrayBuffer(SHARED_BUFFER_BYTES);
      used = 0;
    }
    used += length;
    return new Uint8Array(buffer, used - length, length);
  };
  const out: Message[] = new Array(kept.length);
  for (let i = 0; i < kept.length; i++) out[i] = place(topics[i], kept[i], allocate);
  return out;
}

/** The Message for `kept`, its small payload copied into `allocate(length)`. */
function place(topic: string, kept: CompactMessage, allocate: (length: number) => Uint8Array): Message {
  if (typeof kept === "string") {
    const originMark = kept.charCodeAt(1); // the client id's length + 1; 0: none
    const payloadStart = originMark === 0 ? 2 : originMark + 1;
    const message: Message = {
      topic,
      payload: latin1Bytes(kept, payloadStart, allocate),
      qos: kept.charCodeAt(0) as QoS,
      retain: true,
      properties: NO_PROPERTIES,
    };
    if (originMark !== 0) message.origin = kept.slice(2, payloadStart);
    return message;
  }
  if (!(kept instanceof RichMessage)) return kept;
  const message: Message = {
    topic,
    payload: latin1Bytes(kept.bytes, 0, allocate),
    qos: kept.qos,
    retain: true,
    properties: kept.properties,
  };
  if (kept.expiresAt !== undefined) message.expiresAt = kept.expiresAt;
  if (kept.origin !== undefined) message.origin = kept.origin;
  return message;
}

/** Longest common form (chars): the usual short client id and small payload. Longer ones keep an object. */
const PACKED_CHARS = 4096;
const packing = new Uint16Array(PACKED_CHARS);

/**
 * The common form, built in one piece: a concatenation (`a + b`) of 13 chars or more would be a
 * rope of several objects, as large again as the chars themselves.
 */
function packed(qos: QoS, origin: string | undefined, payload: Uint8Array): string {
  packing[0] = qos;
  packing[1] = origin === undefined ? 0 : origin.length + 1;
  let at = 2;
  if (origin !== undefined) for (let i = 0; i < origin.length; i++) packing[at++] = origin.charCodeAt(i);
  packing.set(payload, at);
  return String.fromCharCode.apply(null, packing.subarray(0, at + payload.length) as unknown as number[]);
}

/** One char (0-255) per byte. */
function latin1String(bytes: Uint8Array): string {
  // fromCharCode.apply takes an array-like; payloads here are at most SMALL_PAYLOAD_BYTES long.
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/** The chars of `text` from `start` on, as bytes. */
function latin1Bytes(text: string, start: number, allocate: (length: number) => Uint8Array): Uint8Array {
  const into = allocate(text.length - start);
  for (let i = start; i < text.length; i++) into[i - start] = text.charCodeAt(i);
  return into;
}
