/**
 * Acknowledgements of messages the broker sent (PUBACK, PUBREC, PUBCOMP).
 * QoS 1: PUBLISH -> PUBACK ends it. QoS 2: PUBLISH -> PUBREC, broker sends PUBREL -> PUBCOMP ends it.
 * An ack for an unknown packet id is ignored (it may be a late duplicate after a resend).
 */
import type { IPubackPacket, IPubcompPacket, IPubrecPacket } from "../../protocol/codec.ts";
import { ReasonCode } from "../../protocol/reason-codes.ts";
import type { Connection } from "../connection.ts";

export function handlePuback(conn: Connection, packet: IPubackPacket): void {
  const session = conn.session!;
  const entry = session.inflight.get(packet.messageId!);
  if (!entry || entry.delivery.qos !== 1) return;
  session.complete(packet.messageId!);
  conn.outbound.pump();
}

export function handlePubrec(conn: Connection, packet: IPubrecPacket): void {
  const session = conn.session!;
  const entry = session.inflight.get(packet.messageId!);
  if (!entry || entry.delivery.qos !== 2) {
    if (conn.version === 5) {
      conn.send({ cmd: "pubrel", messageId: packet.messageId!, reasonCode: ReasonCode.PacketIdentifierNotFound });
    } else {
      conn.send({ cmd: "pubrel", messageId: packet.messageId! });
    }
    return;
  }
  if ((packet.reasonCode ?? 0) >= 0x80) {
    // The receiver refused the message: the flow ends here (MQTT 5 section 4.3.3).
    session.complete(packet.messageId!);
    conn.outbound.pump();
    return;
  }
  // Once PUBREL is out the PUBLISH must never be resent [v5 MQTT-4.3.3-6]: the new state is
  // stored before PUBREL goes.
  const before = conn.ctx.persistence.writes;
  session.received(entry);
  conn.sendAfter({ cmd: "pubrel", messageId: packet.messageId! }, conn.ctx.persistence.commitSince(before));
}

export function handlePubcomp(conn: Connection, packet: IPubcompPacket): void {
  const session = conn.session!;
  const entry = session.inflight.get(packet.messageId!);
  if (!entry || entry.state !== "awaitingComp") return;
  session.complete(packet.messageId!);
  conn.outbound.pump();
}
