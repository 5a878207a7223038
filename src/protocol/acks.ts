/**
 * PUBACK, PUBREC, PUBREL and PUBCOMP without properties: the other packets of the QoS flows, one
 * or two per PUBLISH. Encoding and decoding them here skips mqtt-packet's per-packet stream and
 * EventEmitter setup, which costs more than the packet itself. Anything else (properties, reason
 * strings) goes through the general codec.
 */
import { packetBytes } from "../util/bytes.ts";
import { ProtocolError, ReasonCode } from "./reason-codes.ts";

export type AckCmd = "puback" | "pubrec" | "pubrel" | "pubcomp";

const TYPE: Record<AckCmd, number> = { puback: 4, pubrec: 5, pubrel: 6, pubcomp: 7 };
const CMD: Record<number, AckCmd> = { 4: "puback", 5: "pubrec", 6: "pubrel", 7: "pubcomp" };

export function isAckCmd(cmd: string): cmd is AckCmd {
  return cmd in TYPE;
}

/** The fixed header byte: PUBREL carries flags 0b0010 [3.1.1 MQTT-3.6.1-1] [v5 MQTT-3.6.1-1], the others 0. */
function header(cmd: AckCmd): number {
  return (TYPE[cmd] << 4) | (cmd === "pubrel" ? 0x02 : 0);
}

/** An ack without properties; v5 omits a reason code of 0 (MQTT 5 section 3.4.2.1). */
export function encodeAck(cmd: AckCmd, packetId: number, reasonCode: number, protocolVersion: number): Uint8Array {
  const short = protocolVersion !== 5 || reasonCode === 0;
  const bytes = packetBytes(short ? 4 : 5);
  bytes[0] = header(cmd);
  bytes[1] = short ? 2 : 3;
  bytes[2] = packetId >> 8;
  bytes[3] = packetId & 0xff;
  if (!short) bytes[4] = reasonCode;
  return bytes;
}

/** A 4-byte ack frame (packet id only), or null for anything the general decoder must look at. */
export function decodeShortAck(frame: Uint8Array): { cmd: AckCmd; messageId: number } | null {
  if (frame.length !== 4 || frame[1] !== 2) return null;
  const cmd = CMD[frame[0] >> 4];
  if (!cmd || (frame[0] & 0x0f) !== (header(cmd) & 0x0f)) return null;
  const messageId = (frame[2] << 8) | frame[3];
  if (messageId === 0) throw new ProtocolError(ReasonCode.ProtocolError, `${cmd} with Packet Identifier 0`);
  return { cmd, messageId };
}
