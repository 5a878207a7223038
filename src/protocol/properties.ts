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

const utf8 = new TextDecoder();

/** Check one property section; returns its User Properties in wire order. */
function checkSection(r: RawReader, valid: ReadonlySet<number>, what: string): Array<[string, string]> {
  const end = r.varint() + r.offset;
  const seen = new Set<number>();
  const userProperties: Array<[string, string]> = [];
  while (r.offset < end) {
    const id = r.varint();
    if (!valid.has(id)) {
      throw new ProtocolError(ReasonCode.MalformedPacket, `property 0x${id.toString(16)} is not valid in ${what}`);
    }
    if (seen.has(id) && id !== USER_PROPERTY) {
      throw new ProtocolError(ReasonCode.ProtocolError, `property 0x${id.toString(16)} appears twice in ${what}`);
    }
    seen.add(id);
    if (id === USER_PROPERTY) userProperties.push([utf8.decode(r.bytes()), utf8.decode(r.bytes())]);
    else if (BYTE.includes(id) && r.peek() > 1) {
      // The one-byte flags are 0 or 1; the decoder turns any value into a boolean.
      throw new ProtocolError(ReasonCode.ProtocolError, `property 0x${id.toString(16)} has value ${r.peek()} in ${what}`);
    } else skipValue(r, id);
  }
  r.offset = end;
  return userProperties;
}

export interface OrderedUserProperties {
  /** User Properties of the packet, in wire order. */
  main: Array<[string, string]>;
  /** CONNECT only: User Properties of the will. */
  will: Array<[string, string]>;
}

/**
 * Check the property sections of a decoded v5 packet against its raw bytes, and return the User
 * Properties in wire order (mqtt-packet folds repeated names into arrays, losing the order).
 */
export function checkV5Properties(frame: Uint8Array, cmd: string, qos: number): OrderedUserProperties {
  const none: OrderedUserProperties = { main: [], will: [] };
  const r = new RawReader(frame);
  const remaining = frame.length - r.offset;
  switch (cmd) {
    case "connect": {
      r.bytes();
      r.skip(1);
      const flags = frame[r.offset];
      r.skip(3);
      const main = checkSection(r, allowed.connect, "CONNECT");
      if (!(flags & 0x04)) return { main, will: [] };
      r.bytes(); // client identifier
      return { main, will: checkSection(r, allowed.will, "the will properties") };
    }
    case "publish":
      r.bytes();
      if (qos > 0) r.skip(2);
      return { main: checkSection(r, allowed.publish, "PUBLISH"), will: [] };
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
      if (remaining < 4) return none;
      r.skip(3);
      return { main: checkSection(r, allowed.ack, cmd.toUpperCase()), will: [] };
    case "subscribe":
    case "unsubscribe":
      r.skip(2);
      return { main: checkSection(r, cmd === "subscribe" ? allowed.subscribe : allowed.unsubscribe, cmd.toUpperCase()), will: [] };
    case "disconnect":
    case "auth":
      if (remaining < 2) return none;
      r.skip(1);
      return { main: checkSection(r, cmd === "auth" ? allowed.auth : allowed.disconnect, cmd.toUpperCase()), will: [] };
  }
  return none;
}
