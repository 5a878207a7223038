/**
 * Hooks: how auth, ACL, the admin API and bridges plug into the core without touching handlers.
 * Decisions are allow / deny / defer: the first hook that does not defer decides; when all
 * defer, the broker's default applies; a decision hook that throws counts as deny. Observers are
 * past tense; their errors (and those of beforePublish) are logged with the hook's id and never
 * break delivery. See runner.ts.
 */
import type { ClientInfo, Message, ProtocolVersion, QoS } from "../model/message.ts";
import type { SubscriptionInfo } from "../model/subscription.ts";
import type { RemoteInfo } from "../ports/transport.ts";

export type Decision = "allow" | "deny" | "defer";

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
  /**
   * Granted although some topics the filter matches may not be read (a deny rule covers part of
   * it): the broker then asks `authorizeRead` for each message this subscription would deliver.
   */
  checkEachMessage?: boolean;
}

/**
 * Enhanced authentication (v5 AUTH). `continue` sends AUTH 0x18 with `data`; `allow` ends the
 * exchange with CONNACK 0x00 (AUTH 0x00 on re-authentication) carrying `data` if given; when
 * every hook defers, no hook knows the method: CONNACK 0x8C Bad authentication method.
 */
export type EnhancedAuthResult =
  | { result: "allow"; data?: Uint8Array }
  | { result: "deny" }
  | { result: "continue"; data?: Uint8Array }
  | { result: "defer" };

export interface EnhancedAuthRequest {
  clientId: string;
  method: string;
  data?: Uint8Array;
  /** 0 on CONNECT (and on the AUTH 0x19 that starts a re-authentication), then 1, 2, ... for each further AUTH. */
  step: number;
  reauthenticate: boolean;
}

export interface Hooks {
  /** Names the hook in log lines (e.g. "security", "http-auth", "bridge:cloud"). */
  readonly id: string;
  /** A new socket, before any byte is read: deny closes it at once (address bans). Synchronous: it runs per accept. */
  admitConnection?(remote: RemoteInfo): Decision;
  authenticate?(request: AuthenticateRequest): Decision | Refusal | Promise<Decision | Refusal>;
  enhancedAuthenticate?(request: EnhancedAuthRequest): EnhancedAuthResult | Promise<EnhancedAuthResult>;
  /** Each PUBLISH from a client, and its will at CONNECT (once authenticated): a denied will refuses the CONNECT. */
  authorizePublish?(client: ClientInfo, message: Message): Decision | Promise<Decision>;
  authorizeSubscribe?(
    client: ClientInfo,
    subscription: SubscriptionInfo,
  ): Decision | GrantAtMost | Promise<Decision | GrantAtMost>;
  /**
   * At delivery, only for subscriptions granted with `checkEachMessage`: may this client receive a
   * message on `topic`? Synchronous because it sits on the delivery path; "defer" means allow.
   */
  authorizeRead?(client: ClientInfo, topic: string): Decision;
  /**
   * Transform a message or return null to drop it. `client` is undefined for in-process publishes
   * and for wills (published once the client has gone, maybe after a restart; the will itself was
   * authorized with its ClientInfo at CONNECT).
   */
  beforePublish?(client: ClientInfo | undefined, message: Message): Message | null;

  onConnected?(client: ClientInfo, sessionPresent: boolean): void;
  /** CONNECT refused for bad credentials or not authorized (not for bans or protocol errors). */
  onAuthenticationFailed?(request: AuthenticateRequest): void;
  /**
   * After a connected client's connection closed. `reason` in words: "client disconnected" (with the
   * v5 reason code when not 0), "connection lost" (closed without DISCONNECT), "keepalive timeout",
   * "session taken over", "disconnected by an administrator", or the protocol error that ended it.
   */
  onDisconnected?(client: ClientInfo, reason: string): void;
  onSubscribed?(client: ClientInfo, subscription: SubscriptionInfo): void;
  onUnsubscribed?(client: ClientInfo, filter: string): void;
  /** After routing; `client` as for beforePublish. */
  onPublished?(client: ClientInfo | undefined, message: Message): void;
  onDelivered?(client: ClientInfo, message: Message): void;
}
