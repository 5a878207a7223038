/**
 * Outbound delivery for one connection: flow control (the client's Receive Maximum and the
 * broker's maxInflight), the session queue, topic aliases towards the client, its Maximum Packet
 * Size, message expiry on the way out, and resending after a reconnect.
 *
 * QoS 0 goes out at once, or is dropped (and counted) once the client has stopped reading
 * (Connection.stalled: congested, and nothing drained for a while or a backlog of several
 * maximum-size packets); a client that is congested only while it reads a large packet gets it.
 * QoS 1/2 goes out while the window has room and nothing older waits, else it is queued in the session.
 *
 * Write-ahead for persistent sessions: the packet id of a QoS 1/2 PUBLISH is stored before the
 * PUBLISH leaves, so after a crash the broker resends it with the same id and DUP set
 * [3.1.1 MQTT-4.4.0-1] [v5 MQTT-4.4.0-1] instead of sending it again under a new id (a duplicate for QoS 2, and a
 * possible clash with an id the client still holds).
 */
import { encodePublish } from "../protocol/publish-encoder.ts";
import type { Message } from "../model/message.ts";
import { packetBytes } from "../util/bytes.ts";
import type { Connection } from "./connection.ts";
import { countDrop } from "./context.ts";
import type { Delivery, InflightEntry } from "./session.ts";

export class Outbound {
  /** Topic -> alias, up to the client's Topic Alias Maximum (v5); made when the first alias is. */
  private aliases: Map<string, number> | null = null;

  constructor(private readonly conn: Connection) {}

  /** How many more QoS 1/2 messages may be in flight to this client right now. */
  private get quota(): number {
    const window = Math.min(this.conn.negotiated.receiveMaximum, this.conn.limits.maxInflight);
    return window - (this.conn.session?.inflight.size ?? 0);
  }

  deliver(delivery: Delivery): void {
    const { conn } = this;
    const session = conn.session!;
    if (delivery.qos === 0) {
      if (conn.stalled()) conn.notReadingDrops.drop();
      else this.sendPublish(delivery, 0);
      return;
    }
    if (conn.congested || session.queueLength > 0 || this.quota <= 0) {
      if (!session.enqueue(delivery, conn.limits)) this.dropFromFullQueue();
      return;
    }
    this.sendInflight(delivery);
  }

  /** Send queued messages while the flow-control window allows. */
  pump(): void {
    const { conn } = this;
    const session = conn.session;
    if (!session || !conn.connected) return;
    while (!conn.congested && this.quota > 0 && session.queueLength > 0) {
      const delivery = session.dequeue()!;
      if (delivery.qos > 0) this.sendInflight(delivery);
      else this.sendPublish(delivery, 0);
    }
    if (session.queueLength === 0) conn.queueDrained();
  }

  private dropFromFullQueue(): void {
    const { maxQueuedMessages, maxQueuedBytes } = this.conn.limits;
    this.conn.fullQueueDrops.drop({ maxQueuedMessages, maxQueuedBytes });
  }

  /** After CONNACK on a resumed session: resend what is in flight, then the queue [3.1.1 MQTT-4.4.0-1] [v5 MQTT-4.4.0-1]. */
  resume(): void {
    for (const entry of [...this.conn.session!.inflight.values()]) this.resend(entry);
    this.pump();
  }

  private resend(entry: InflightEntry): void {
    if (entry.state === "awaitingComp") {
      this.conn.sendAfter({ cmd: "pubrel", messageId: entry.packetId }, null);
      return;
    }
    const bytes = this.encode(entry.delivery, entry.packetId, true);
    if (bytes) this.conn.sendAfter(bytes, null);
    else this.conn.session!.complete(entry.packetId);
  }

  private sendInflight(delivery: Delivery): void {
    const { conn } = this;
    const session = conn.session!;
    const packetId = session.allocatePacketId();
    if (packetId === null) {
      if (!session.enqueue(delivery, conn.limits)) this.dropFromFullQueue();
      return;
    }
    const bytes = this.encode(delivery, packetId);
    if (!bytes) return session.discard(delivery);
    const before = conn.ctx.persistence.writes;
    session.startInflight(packetId, delivery);
    conn.sendAfter(bytes, conn.ctx.persistence.commitSince(before));
  }

  private sendPublish(delivery: Delivery, packetId: number): void {
    const bytes = this.encode(delivery, packetId);
    if (bytes) this.conn.writeBytes(bytes);
  }

  /** One PUBLISH for the client, or null when it must not be sent (expired, too large for the client). */
  private encode(delivery: Delivery, packetId: number, dup = false): Uint8Array | null {
    const { conn } = this;
    const { message } = delivery;
    let messageExpiryInterval: number | undefined;
    if (message.expiresAt !== undefined) {
      const left = message.expiresAt - conn.ctx.clock.now();
      if (left <= 0 && !dup) {
        countDrop(conn.ctx.counters, "expired"); // [v5 MQTT-3.3.2-5]
        return null;
      }
      messageExpiryInterval = Math.max(0, Math.ceil(left / 1000));
    }
    // A known topic goes as its alias alone; a new one gets an alias while the client allows more.
    const knownAlias = this.aliases?.get(message.topic);
    const aliasCount = this.aliases?.size ?? 0;
    const newAlias = knownAlias === undefined && aliasCount < conn.negotiated.topicAliasMaximum ? aliasCount + 1 : undefined;
    // Nothing particular to this client in the packet but its id: the bytes of the previous client's copy serve.
    const shared = knownAlias === undefined && newAlias === undefined && messageExpiryInterval === undefined &&
      delivery.subscriptionIdentifiers === undefined && !dup;
    const reused = shared ? sameAsLast(message, delivery, packetId, conn.version) : null;
    const bytes = reused ?? encodePublish({
      topic: knownAlias === undefined ? message.topic : "",
      topicAlias: knownAlias ?? newAlias,
      payload: message.payload,
      qos: delivery.qos,
      retain: delivery.retain,
      dup,
      packetId,
      properties: message.properties,
      messageExpiryInterval,
      subscriptionIdentifiers: delivery.subscriptionIdentifiers,
    }, conn.version);
    if (shared && !reused) remember(message, delivery, conn.version, bytes);
    if (bytes.length > conn.negotiated.maximumPacketSize) {
      // Never send a client more than it allows; treat as delivered [v5 MQTT-3.1.2-25].
      conn.logger.debug("dropping message larger than the client's maximum packet size", { size: bytes.length });
      countDrop(conn.ctx.counters, "tooLarge");
      return null;
    }
    if (newAlias !== undefined) (this.aliases ??= new Map()).set(message.topic, newAlias);
    conn.ctx.counters.messagesSent++;
    conn.messagesOut++;
    if (conn.ctx.hooks.has("onDelivered")) conn.ctx.hooks.notify("onDelivered", conn.info, message);
    return bytes;
  }
}

/**
 * The last PUBLISH encoded without client-specific parts (alias, expiry, subscription ids, DUP).
 * A message routed to many subscribers is encoded once instead of once per subscriber (fan-out):
 * the same bytes for QoS 0, a copy with the packet id patched in for QoS 1/2. Nobody writes into
 * the bytes after encoding (sockets and write batches only read them), so sharing is safe.
 * Large packets are not kept, so a big payload is not held after its deliveries.
 */
let last: { message: Message; qos: number; retain: boolean; version: number; bytes: Uint8Array } | null = null;
const SHARED_MAX_BYTES = 64 * 1024;

function sameAsLast(message: Message, delivery: Delivery, packetId: number, version: number): Uint8Array | null {
  if (last === null || last.message !== message || last.qos !== delivery.qos || last.retain !== delivery.retain || last.version !== version) {
    return null;
  }
  if (delivery.qos === 0) return last.bytes;
  const bytes = packetBytes(last.bytes.length);
  bytes.set(last.bytes);
  let at = 1;
  while (bytes[at++] & 0x80); // remaining length
  at += 2 + ((bytes[at] << 8) | bytes[at + 1]); // topic
  bytes[at] = packetId >> 8;
  bytes[at + 1] = packetId & 0xff;
  return bytes;
}

function remember(message: Message, delivery: Delivery, version: number, bytes: Uint8Array): void {
  last = bytes.length <= SHARED_MAX_BYTES ? { message, qos: delivery.qos, retain: delivery.retain, version, bytes } : null;
}
