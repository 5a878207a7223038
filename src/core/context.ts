/** What connections and handlers need from the broker: its services, limits and routing. */
import type { MqttLimits } from "../config/schema.ts";
import type { ClientInfo, Message } from "../model/message.ts";
import type { HookRunner } from "../hooks/runner.ts";
import type { Clock } from "../ports/clock.ts";
import type { Logger } from "../ports/logger.ts";
import type { RetainedStore } from "./retained.ts";
import type { Delivery, Session } from "./session.ts";
import type { Subscription, TopicIndex } from "./topic-index.ts";
import type { Connection } from "./connection.ts";
import type { Persistence } from "./persistence.ts";
import type { LogThrottle } from "../util/log-throttle.ts";

/**
 * Why a message did not reach a subscriber: its session queue was full (maxQueuedMessages/Bytes, or
 * a bridge's queue bounds), the client stopped reading (QoS 0), it was larger than the client's
 * Maximum Packet Size, it expired before it could be sent, or it waited longer than a bridge's
 * queue.maxAge.
 */
export type DropReason = "queueFull" | "notReading" | "tooLarge" | "expired" | "maxAge";

/** Count `n` drops: the total ($SYS publish/messages/dropped) and by reason (/metrics). */
export function countDrop(counters: Counters, reason: DropReason, n = 1): void {
  counters.publishDropped += n;
  counters.droppedBy[reason] += n;
}

export interface Counters {
  clientsTotal: number;
  messagesReceived: number;
  messagesSent: number;
  bytesReceived: number;
  bytesSent: number;
  publishDropped: number;
  droppedBy: Record<DropReason, number>;
}

export interface WillMessage {
  message: Message;
  /** Seconds (v5 Will Delay Interval). */
  delayInterval: number;
  /** Seconds (v5 Message Expiry Interval of the will), applied when it is published. */
  messageExpiryInterval?: number;
}

export interface BrokerContext {
  /** The current limits; a connection keeps the ones it arrived with. */
  readonly limits: MqttLimits;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Bounds lines about connections turned away or cut off (a flood of them must not flood the log). */
  readonly connectionLog: LogThrottle;
  readonly hooks: HookRunner;
  readonly counters: Counters;
  readonly index: TopicIndex;
  readonly retained: RetainedStore;
  readonly persistence: Persistence;
  /** Attach a connection to its session, taking over any current connection. */
  openSession(
    connection: Connection,
    clientId: string,
    cleanStart: boolean,
    expiryInterval: number,
  ): { session: Session; present: boolean };
  /** The connection ended: publish or schedule its will, start session expiry. */
  /** `reason`: why it closed, in words ("client disconnected", "connection lost", "keepalive timeout", ...). */
  connectionClosed(connection: Connection, will: WillMessage | null, reason: string): void;
  /** Route a message to matching subscribers; returns how many sessions it went to. */
  route(message: Message, publisher?: ClientInfo): number;
  /** Hand a delivery to a session (online: send or queue; offline: queue by policy). */
  deliverTo(session: Session, delivery: Delivery): void;
  subscribe(session: Session, subscription: Subscription): boolean;
  unsubscribe(session: Session, key: string): boolean;
  assignClientId(): string;
}
