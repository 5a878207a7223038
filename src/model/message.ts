/**
 * The domain model every layer shares: an application message, its QoS and v5 properties, and
 * who a client is. Protocol, store, security and core all speak these types; nothing here
 * depends on any of them.
 */
import type { RemoteInfo } from "../ports/transport.ts";

export type ProtocolVersion = 3 | 4 | 5;
export type QoS = 0 | 1 | 2;
/** v5 User Properties as name/value pairs, in the order they were sent (repeats allowed) [v5 MQTT-3.3.2-18]. */
export type UserProperties = Array<[name: string, value: string]>;

/** v5 PUBLISH properties the broker carries through (message expiry is kept as an absolute deadline). */
export interface MessageProperties {
  payloadFormatIndicator?: boolean;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Uint8Array;
  userProperties?: UserProperties;
}

/** An application message inside the broker. */
export interface Message {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties: MessageProperties;
  /** Clock time (ms) after which the message is dropped; undefined = never. */
  expiresAt?: number;
  /** Client id of the publisher (for No Local); undefined for anonymous in-process publishes. */
  origin?: string;
}

/** Who a connected client is, as hooks and observers see it. */
export interface ClientInfo {
  readonly clientId: string;
  readonly username?: string;
  readonly protocolVersion: ProtocolVersion;
  readonly remote: RemoteInfo;
}
