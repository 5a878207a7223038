/**
 * MQTT 5 property rules mqtt-packet does not enforce (section 2.2.2.2): an identifier not valid for
 * the packet type makes a Malformed Packet; a property other than User Property (and Subscription
 * Identifier where several are allowed) appearing twice is a Protocol Error. Checked on the raw
 * bytes, since the decoder folds duplicates into arrays and drops falsy repeats.
 */
import { RawReader } from "./raw-reader.ts";
import { ProtocolError, ReasonCode } from "./reason-codes.ts";

const BYTE = [0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a];
const U16 = [0x13, 0x21, 0x22, 0x23];
const U32 = [0x02, 0x11, 0x18, 0x27];
const STRING = [0x03, 0x08, 0x12, 0x15, 0x1a, 0x1c, 0x1f];
const BINARY = [0x09, 0x16];
const USER_PROPERTY = 0x26;
const SUBSCRIPTION_IDENTIFIER = 0x0b;

const allowed = {
  connect: new Set([0x11, 0x21, 0x27, 0x22, 0x19, 0x17, USER_PROPERTY, 0x15, 0x16]),
  will: new Set([0x18, 0x01, 0x02, 0x03, 0x08, 0x09, USER_PROPERTY]),
  publish: new Set([0x01, 0x02, 0x23, 0x08, 0x09, SUBSCRIPTION_IDENTIFIER, 0x03, USER_PROPERTY]),
  ack: new Set([0x1f, USER_PROPERTY]),
  subscribe: new Set([SUBSCRIPTION_IDENTIFIER, USER_PROPERTY]),
  unsubscribe: new Set([USER_PROPERTY]),
  disconnect: new Set([0x11, 0x1f, USER_PROPERTY, 0x1c]),
  auth: new Set([0x15, 0x16, 0x1f, USER_PROPERTY]),
} as const;

function skipValue(r: RawReader, id: number): void {
  if (BYTE.includes(id)) r.skip(1);
  else if (U16.includes(id)) r.skip(2);
  else if (U32.includes(id)) r.skip(4);
  else if (id === SUBSCRIPTION_IDENTIFIER) r.varint();
  else if (STRING.includes(id) || BINARY.includes(id)) r.bytes();
  else if (id === USER_PROPERTY) {
    r.bytes();
    r.bytes();
  }
}

function checkSection(r: RawReader, valid: ReadonlySet<number>, what: string): void {
  const end = r.varint() + r.offset;
  const seen = new Set<number>();
  while (r.offset < end) {
    const id = r.varint();
    if (!valid.has(id)) {
      throw new ProtocolError(ReasonCode.MalformedPacket, `property 0x${id.toString(16)} is not valid in ${what}`);
    }
    if (seen.has(id) && id !== USER_PROPERTY) {
      throw new ProtocolError(ReasonCode.ProtocolError, `property 0x${id.toString(16)} appears twice in ${what}`);
    }
    seen.add(id);
    skipValue(r, id);
  }
  r.offset = end;
}

/** Check the property sections of a decoded v5 packet against its raw bytes. */
export function checkV5Properties(frame: Uint8Array, cmd: string, qos: number): void {
  const r = new RawReader(frame);
  const remaining = frame.length - r.offset;
  switch (cmd) {
    case "connect": {
      r.bytes();
      r.skip(1);
      const flags = frame[r.offset];
      r.skip(3);
      checkSection(r, allowed.connect, "CONNECT");
      if (flags & 0x04) {
        r.bytes(); // client identifier
        checkSection(r, allowed.will, "the will properties");
      }
      return;
    }
    case "publish":
      r.bytes();
      if (qos > 0) r.skip(2);
      return checkSection(r, allowed.publish, "PUBLISH");
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      if (remaining < 4) return;
      r.skip(3);
      return checkSection(r, allowed.ack, cmd.toUpperCase());
    case "subscribe":
    case "unsubscribe":
      r.skip(2);
      return checkSection(r, cmd === "subscribe" ? allowed.subscribe : allowed.unsubscribe, cmd.toUpperCase());
    case "disconnect":
    case "auth":
      if (remaining < 2) return;
      r.skip(1);
      return checkSection(r, cmd === "auth" ? allowed.auth : allowed.disconnect, cmd.toUpperCase());
  }
}
