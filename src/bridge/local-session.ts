/**
 * What a bridge needs of the local broker: an in-process session it owns (the shape of the
 * broker's `openLocalSession`, issue 11). Its queue and in-flight set are the bridge's
 * store-and-forward queue: with the broker's durable session they survive a SIGKILL.
 */
import type { MessageProperties, QoS } from "../hooks/types.ts";
import type { PublishOptions } from "../core/broker.ts";

export interface LocalSessionOptions {
  clientId: string;
  cleanStart: boolean;
  /** Seconds; 0xFFFFFFFF = never. */
  sessionExpiryInterval: number;
  /** Deliveries handed out and not yet acknowledged. */
  maxInflight: number;
  queue?: { maxMessages?: number; maxBytes?: number };
}

export interface LocalDelivery {
  /** 0 for QoS 0; otherwise the session's packet id (stable across restarts). */
  packetId: number;
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties: MessageProperties;
  expiresAt?: number;
  origin?: string;
  /** resend: handed out before a restart or reconnect (DUP); awaitingComp: PUBREC was recorded. */
  state: "new" | "resend" | "awaitingComp";
}

export interface LocalSession {
  readonly clientId: string;
  readonly sessionPresent: boolean;
  subscribe(
    filter: string,
    options: { qos: QoS; noLocal?: boolean; retainAsPublished?: boolean; retainHandling?: 0 | 1 | 2 },
  ): void;
  unsubscribe(filter: string): boolean;
  /** origin = this session's client id, so its own No Local subscriptions skip the message. */
  publish(options: PublishOptions): number;
  /** PUBACK / PUBCOMP: the delivery is done and leaves the store. */
  acknowledge(packetId: number): void;
  /** QoS 2 PUBREC: recorded durably (state awaitingComp). */
  received(packetId: number): void;
  /** Uplink down: new deliveries queue. */
  pause(): void;
  /** Hand out in-flight (resend/awaitingComp) then queued deliveries, in order, within maxInflight. */
  resume(): void;
  readonly stats: { inflight: number; queued: number; queuedBytes: number; dropped: number; oldestQueuedAt?: number };
  /** Detach; the session lives on per its expiry interval. */
  close(): void;
}

export type OpenLocalSession = (options: LocalSessionOptions, onDelivery: (d: LocalDelivery) => void) => LocalSession;
