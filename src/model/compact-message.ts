/**
 * The compact form of a message the broker keeps for a long time (retained messages), and the
 * way back to a Message when one is read.
 *
 * Why: on V8 (Deno) every Uint8Array owns an ArrayBuffer with an off-heap backing store, about
 * 600 bytes of resident memory for a 6-byte payload, more than the rest of the message. A string
 * of one char per byte (0-255) costs 16 bytes plus the bytes, on V8 and JavaScriptCore alike. So
 * small payloads are kept as such strings, and properties and expiry (rare) share one optional
 * object instead of a slot each. Issue 14: <= 0.5 KB per small retained message.
 */
import type { Message, MessageProperties, QoS } from "./message.ts";

/** Payloads up to this size are kept as strings; a larger one keeps its bytes (the overhead is then small). */
export const SMALL_PAYLOAD_BYTES = 1024;
/**
 * Payloads read together (a wildcard match) are copied into shared buffers of this size: one
 * allocation per buffer, not per payload. A message kept from such a read (queued, in flight)
 * keeps at most this much memory alive with it.
 */
const SHARED_BUFFER_BYTES = 16 * 1024;

const NO_PROPERTIES: MessageProperties = Object.freeze({});

/** What few messages carry: v5 properties, an expiry. */
interface Rare {
  readonly properties: MessageProperties;
  readonly expiresAt: number | undefined;
}

/** A message as kept: immutable, shared by whoever keeps the same message (the broker and its store). */
export class CompactMessage {
  constructor(
    readonly topic: string,
    /** The payload: a string of one char per byte when small, else the bytes themselves. */
    private readonly bytes: string | Uint8Array,
    readonly qos: QoS,
    /** Client id of the publisher (the same string the connection holds, not a copy). */
    readonly origin: string | undefined,
    private readonly rare: Rare | undefined,
  ) {}

  get payloadLength(): number {
    return this.bytes.length;
  }

  get expiresAt(): number | undefined {
    return this.rare?.expiresAt;
  }

  /** A Message with its own copy of the payload (or, for a large one, the kept bytes). */
  toMessage(): Message {
    return this.withPayload(typeof this.bytes === "string" ? latin1Bytes(this.bytes, new Uint8Array(this.bytes.length)) : this.bytes);
  }

  /** @internal the Message around `payload` (used by toMessages to place payloads in shared buffers). */
  withPayload(payload: Uint8Array): Message {
    const message: Message = {
      topic: this.topic,
      payload,
      qos: this.qos,
      retain: true,
      properties: this.rare?.properties ?? NO_PROPERTIES,
    };
    if (this.rare?.expiresAt !== undefined) message.expiresAt = this.rare.expiresAt;
    if (this.origin !== undefined) message.origin = this.origin;
    return message;
  }

  /** @internal the payload string (small payloads only). */
  smallPayload(): string | undefined {
    return typeof this.bytes === "string" ? this.bytes : undefined;
  }
}

/** The compact form of each message compacted or read back, so that two keepers share one. */
const known = new WeakMap<Message, CompactMessage>();

/**
 * `message` as kept. The same message object always gives the same CompactMessage: the broker's
 * retained messages and the memory store hold one copy between them.
 */
export function compactMessage(message: Message): CompactMessage {
  const found = known.get(message);
  if (found) return found;
  const { payload, properties, expiresAt } = message;
  const hasProperties = Object.keys(properties).length > 0;
  const rare = hasProperties || expiresAt !== undefined ? { properties: hasProperties ? properties : NO_PROPERTIES, expiresAt } : undefined;
  const bytes = payload.length <= SMALL_PAYLOAD_BYTES ? latin1String(payload) : payload;
  const compact = new CompactMessage(message.topic, bytes, message.qos, message.origin, rare);
  known.set(message, compact);
  return compact;
}

/** The compact form made of `message` earlier, if any (without making one). */
export function compactFormOf(message: Message): CompactMessage | undefined {
  return known.get(message);
}

/** Messages for `kept`, in order; small payloads are copied into shared buffers (see SHARED_BUFFER_BYTES). */
export function toMessages(kept: readonly CompactMessage[]): Message[] {
  const out: Message[] = new Array(kept.length);
  let buffer: ArrayBuffer | undefined;
  let used = SHARED_BUFFER_BYTES;
  for (let i = 0; i < kept.length; i++) {
    const small = kept[i].smallPayload();
    if (small === undefined) {
      out[i] = kept[i].toMessage();
      continue;
    }
    if (used + small.length > SHARED_BUFFER_BYTES) {
      buffer = new ArrayBuffer(SHARED_BUFFER_BYTES);
      used = 0;
    }
    out[i] = kept[i].withPayload(latin1Bytes(small, new Uint8Array(buffer!, used, small.length)));
    used += small.length;
  }
  return out;
}

/** Read back from a keeper (the memory store's load): remembered, so compacting it again finds the same form. */
export function rememberedMessage(compact: CompactMessage): Message {
  const message = compact.toMessage();
  known.set(message, compact);
  return message;
}

/** One char (0-255) per byte. */
function latin1String(bytes: Uint8Array): string {
  // fromCharCode.apply takes an array-like; payloads here are at most SMALL_PAYLOAD_BYTES long.
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

function latin1Bytes(text: string, into: Uint8Array): Uint8Array {
  for (let i = 0; i < text.length; i++) into[i] = text.charCodeAt(i);
  return into;
}
