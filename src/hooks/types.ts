/**
 * Hooks: how auth, ACL, the admin API and bridges plug into the core without touching handlers.
 * Decisions are allow / deny / defer: the first hook that does not defer decides; when all
 * defer, the broker's default applies. Observers are past tense; their errors are logged and
 * never break delivery.
 */
import type { RemoteInfo } from "../ports/transport.ts";

export type Decision = "allow" | "deny" | "defer";
export type ProtocolVersion = 3 | 4 | 5;
export type QoS = 0 | 1 | 2;
/** v5 User Properties as name/value pairs, in the order they were sent (repeats allowed) [MQTT-3.3.2-18]. */
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
  /** Client id of the publisher (for No Local); undefined for in-process publishes. */
  origin?: string;
}

export interface ClientInfo {
  readonly clientId: string;
  readonly username?: string;
  readonly protocolVersion: ProtocolVersion;
  readonly remote: RemoteInfo;
}

export interface AuthenticateRequest {
  clientId: string;
  username?: string;
  password?: Uint8Array;
  protocolVersion: ProtocolVersion;
  remote: RemoteInfo;
  /** True when a verified client certificate already authenticated the client (its CN is `username`). */
  certificateAuthenticated?: boolean;
}

/** A refusal with its own reason code (e.g. 0x8A Banned) and the reason logged (never a secret). */
export interface Refusal {
  decision: "deny";
  reasonCode: number;
  reason: string;
}

/** A subscription allowed at a lower QoS than asked (an ACL rule's max QoS). */
export interface GrantAtMost {
  decision: "allow";
  maxQos: QoS;
}

/** Enhanced authentication (v5 AUTH). `continue` sends AUTH 0x18 with `data`. */
export type EnhancedAuthResult =
  | { result: "allow"; data?: Uint8Array }
  | { result: "deny" }
  | { result: "continue"; data?: Uint8Array }
  | { result: "defer" };

export interface EnhancedAuthRequest {
  clientId: string;
  method: string;
  data?: Uint8Array;
  /** 0 on CONNECT, then 1, 2, ... for each AUTH exchange. */
  step: number;
  reauthenticate: boolean;
}

export interface SubscriptionInfo {
  filter: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionIdentifier?: number;
  /** Share name for `$share/<name>/<filter>` subscriptions. */
  shareName?: string;
}

export interface Hooks {
  /** A new socket, before any byte is read: deny closes it at once (address bans). Synchronous: it runs per accept. */
  admitConnection?(remote: RemoteInfo): Decision;
  authenticate?(request: AuthenticateRequest): Decision | Refusal | Promise<Decision | Refusal>;
  enhancedAuthenticate?(request: EnhancedAuthRequest): EnhancedAuthResult | Promise<EnhancedAuthResult>;
  authorizePublish?(client: ClientInfo, message: Message): Decision | Promise<Decision>;
  authorizeSubscribe?(
    client: ClientInfo,
    subscription: SubscriptionInfo,
  ): Decision | GrantAtMost | Promise<Decision | GrantAtMost>;
  /** Transform a message or return null to drop it. `client` is undefined for in-process publishes. */
  beforePublish?(client: ClientInfo | undefined, message: Message): Message | null;

  onConnected?(client: ClientInfo, sessionPresent: boolean): void;
  /** CONNECT refused for bad credentials or not authorized (not for bans or protocol errors). */
  onAuthenticationFailed?(request: AuthenticateRequest): void;
  onDisconnected?(client: ClientInfo, reason: string): void;
  onSubscribed?(client: ClientInfo, subscription: SubscriptionInfo): void;
  onUnsubscribed?(client: ClientInfo, filter: string): void;
  onPublished?(client: ClientInfo | undefined, message: Message): void;
  onDelivered?(client: ClientInfo, message: Message): void;
}
