/** CONNECT (3.1.1 section 3.1, 5.0 section 3.1): validation, authentication, session, CONNACK. */
import type { Message, ProtocolVersion } from "../../model/message.ts";
import type { AuthenticateRequest, Refusal } from "../../hooks/types.ts";
import { checkUtf8String, type IConnectPacket, orderedUserProperties, RawReader } from "../../protocol/codec.ts";
import { ConnectReturnCode, ProtocolError, ReasonCode, toV3ConnectReturnCode } from "../../protocol/reason-codes.ts";
import { hasWildcard, isValidTopicName } from "../../protocol/topics.ts";
import type { Connection } from "../connection.ts";
import type { WillMessage } from "../context.ts";
import { BRIDGE_CLIENT_ID_PREFIX, localSessionKind } from "../internal-client-ids.ts";
import { checkTopicLimits, describeViolation } from "../topic-limits.ts";
import { messageProperties } from "./publish.ts";

const NEVER_EXPIRES = 0xffffffff;

/** Raw UTF-8 fields of a CONNECT, read only when a decoded string held U+FFFD. */
function rawConnectStrings(frame: Uint8Array, version: number, flags: { will: boolean; username: boolean }) {
  const r = new RawReader(frame);
  r.bytes(); // protocol name
  r.skip(4); // level, flags, keepalive
  if (version === 5) r.skipProperties();
  const clientId = r.bytes();
  let willTopic: Uint8Array | undefined;
  if (flags.will) {
    if (version === 5) r.skipProperties();
    willTopic = r.bytes();
    r.bytes(); // will payload
  }
  const username = flags.username ? r.bytes() : undefined;
  return { clientId, willTopic, username };
}

function refuse(conn: Connection, reasonCode: number, why: string): void {
  conn.ctx.connectionLog.info(conn.logger, "connection refused", { clientId: conn.clientId || undefined, reason: why, reasonCode });
  if (conn.version === 5) {
    const properties = conn.negotiated.requestProblemInformation ? { reasonString: why } : undefined;
    conn.send({ cmd: "connack", sessionPresent: false, reasonCode, properties });
  } else {
    conn.send({ cmd: "connack", sessionPresent: false, returnCode: toV3ConnectReturnCode(reasonCode) });
  }
  conn.closeTransport(`connection refused: ${why}`);
}

function buildWill(conn: Connection, packet: IConnectPacket): WillMessage | null {
  const will = packet.will;
  if (!will) return null;
  const props = will.properties ?? {};
  const message: Message = {
    topic: will.topic,
    payload: typeof will.payload === "string" ? new TextEncoder().encode(will.payload) : new Uint8Array(will.payload),
    qos: will.qos ?? 0,
    retain: will.retain ?? false,
    properties: messageProperties(props, orderedUserProperties(packet).will),
    origin: conn.clientId,
  };
  return {
    message,
    delayInterval: conn.version === 5 ? props.willDelayInterval ?? 0 : 0,
    messageExpiryInterval: props.messageExpiryInterval,
  };
}

/**
 * A CONNECT whose protocol level the broker does not speak gets CONNACK 0x01 and a close
 * [3.1.1 MQTT-3.1.2-2]; mqtt-packet cannot parse such a packet, so look at the raw bytes.
 */
export function refuseUnsupportedLevel(conn: Connection, frame: Uint8Array): boolean {
  let i = 1;
  while (frame[i] & 0x80 && i < 5) i++;
  const nameLength = (frame[i + 1] << 8) | frame[i + 2];
  const name = String.fromCharCode(...frame.subarray(i + 3, i + 3 + nameLength));
  const level = frame[i + 3 + nameLength];
  if (name !== "MQTT" && name !== "MQIsdp") return false; // malformed: the decoder says so
  const supported = name === "MQTT" ? level === 4 || level === 5 : level === 3;
  if (supported || level === undefined) return false;
  conn.ctx.connectionLog.info(conn.logger, "refusing connection: unsupported protocol level", {
    protocol: name,
    level,
  });
  conn.writeBytes(new Uint8Array([0x20, 0x02, 0x00, 0x01]));
  conn.closeTransport("unsupported protocol level");
  return true;
}

export function handleConnect(conn: Connection, packet: IConnectPacket, frame: Uint8Array): Promise<void> | void {
  const { limits } = conn;
  conn.state = "connecting";
  conn.version = (packet.protocolVersion ?? 4) as ProtocolVersion;
  const v5 = conn.version === 5;
  const props = packet.properties ?? {};
  if (v5) {
    conn.negotiated = {
      requestProblemInformation: props.requestProblemInformation ?? true,
      receiveMaximum: props.receiveMaximum ?? 65_535,
      maximumPacketSize: props.maximumPacketSize ?? 268_435_460,
      topicAliasMaximum: props.topicAliasMaximum ?? 0,
    };
    if (props.authenticationData !== undefined && props.authenticationMethod === undefined) {
      throw new ProtocolError(ReasonCode.ProtocolError, "Authentication Data without an Authentication Method");
    }
    if (props.receiveMaximum === 0 || props.maximumPacketSize === 0) {
      throw new ProtocolError(ReasonCode.ProtocolError, "Receive Maximum and Maximum Packet Size must not be 0");
    }
  }
  if (!v5 && packet.password !== undefined && packet.username === undefined) {
    throw new ProtocolError(ReasonCode.MalformedPacket, "password without user name [3.1.1 MQTT-3.1.2-22]");
  }

  const raw = () => rawConnectStrings(frame, conn.version, { will: !!packet.will, username: packet.username !== undefined });
  checkUtf8String(packet.clientId, () => raw().clientId, "client identifier");
  checkUtf8String(packet.will?.topic, () => raw().willTopic, "will topic");
  checkUtf8String(packet.username, () => raw().username, "user name");

  // Client identifier rules [3.1.1 MQTT-3.1.3-6, MQTT-3.1.3-7, MQTT-3.1.3-8] and Assigned Client Identifier (5.0).
  const cleanStart = packet.clean ?? true;
  let clientId = packet.clientId;
  let assigned: string | undefined;
  if (clientId === "") {
    if (!v5 && (!cleanStart || conn.version === 3)) {
      const why = conn.version === 3 ? "MQTT 3.1 needs a client identifier" : "empty client identifier needs clean session";
      return refuse(conn, ReasonCode.ClientIdentifierNotValid, why);
    }
    clientId = assigned = conn.ctx.assignClientId();
  }
  conn.clientId = clientId;
  conn.username = packet.username; // conn.logger's lines carry the client id from now on
  const reservedFor = localSessionKind(clientId);
  if (reservedFor) {
    // [v5 MQTT-3.1.3-8] [3.1.1 MQTT-3.1.3-9]: a client id the server rejects gets 0x85 / 0x02.
    const owner = reservedFor === "bridge" ? `bridge "${clientId.slice(BRIDGE_CLIENT_ID_PREFIX.length)}"` : "console";
    return refuse(conn, ReasonCode.ClientIdentifierNotValid, `client identifier reserved for the ${owner}'s own session: choose another`);
  }

  if (packet.will) {
    if (!isValidTopicName(packet.will.topic)) return refuse(conn, ReasonCode.TopicNameInvalid, "invalid will topic");
    const violation = checkTopicLimits(packet.will.topic, limits); // v5 CONNACK 0x90; 3.1.1 0x03
    if (violation) return refuse(conn, ReasonCode.TopicNameInvalid, `will ${describeViolation(violation, limits)}`);
    if ((packet.will.qos ?? 0) > limits.maxQos) return refuse(conn, ReasonCode.QoSNotSupported, "will QoS not supported");
    if (packet.will.retain && !limits.retainAvailable) {
      return refuse(conn, ReasonCode.RetainNotSupported, "retained messages are disabled");
    }
  }

  let keepalive = packet.keepalive ?? 0;
  let serverKeepAlive: number | undefined;
  if (v5 && keepalive === 0 && limits.maxKeepalive < 65_535) {
    keepalive = serverKeepAlive = limits.maxKeepalive; // no "keepalive off" when the operator set a cap
  } else if (keepalive > limits.maxKeepalive) {
    if (!v5) return refuse(conn, ReasonCode.ClientIdentifierNotValid, `keepalive above ${limits.maxKeepalive}`);
    keepalive = serverKeepAlive = limits.maxKeepalive;
  }

  let sessionExpiry = v5 ? props.sessionExpiryInterval ?? 0 : cleanStart ? 0 : NEVER_EXPIRES;
  let cappedExpiry: number | undefined;
  if (sessionExpiry > limits.maxSessionExpiryInterval) sessionExpiry = cappedExpiry = limits.maxSessionExpiryInterval;
  conn.connectSessionExpiry = sessionExpiry;
  conn.cleanStart = cleanStart;

  /** `authData`: what an enhanced-authentication hook sent with its allow, for the CONNACK. */
  const finish = (authData?: Uint8Array): void => {
    if (conn.state !== "connecting") return; // closed while authenticating
    conn.will = buildWill(conn, packet);
    const { session, present } = conn.ctx.openSession(conn, clientId, cleanStart, sessionExpiry);
    conn.session = session;
    const connackProps: Record<string, unknown> = {};
    if (v5) {
      if (limits.receiveMaximum < 65_535) connackProps.receiveMaximum = limits.receiveMaximum;
      connackProps.maximumPacketSize = limits.maxPacketSize;
      connackProps.topicAliasMaximum = limits.topicAliasMaximum;
      if (limits.maxQos < 2) connackProps.maximumQoS = limits.maxQos;
      if (!limits.retainAvailable) connackProps.retainAvailable = false;
      if (!limits.wildcardSubscriptions) connackProps.wildcardSubscriptionAvailable = false;
      if (!limits.subscriptionIdentifiers) connackProps.subscriptionIdentifiersAvailable = false;
      if (!limits.sharedSubscriptions) connackProps.sharedSubscriptionAvailable = false;
      if (assigned) connackProps.assignedClientIdentifier = assigned;
      if (serverKeepAlive !== undefined) connackProps.serverKeepAlive = serverKeepAlive;
      if (cappedExpiry !== undefined) connackProps.sessionExpiryInterval = cappedExpiry;
      if (conn.authMethod) connackProps.authenticationMethod = conn.authMethod;
      if (authData !== undefined) connackProps.authenticationData = authData;
    }
    conn.state = "connected";
    conn.connectedAt = conn.ctx.clock.now();
    conn.send(
      v5
        ? { cmd: "connack", sessionPresent: present, reasonCode: ReasonCode.Success, properties: connackProps }
        : { cmd: "connack", sessionPresent: present, returnCode: ConnectReturnCode.Accepted },
    );
    conn.startKeepalive(keepalive);
    conn.logger.info("client connected", {
      protocolVersion: conn.version,
      cleanStart,
      sessionPresent: present,
      keepalive,
      username: conn.username,
    });
    // conn.info is an object the connection keeps: made only when a hook will see it.
    if (conn.ctx.hooks.has("onConnected")) conn.ctx.hooks.notify("onConnected", conn.info, present);
    if (present) {
      checkReadsOfResumed(conn);
      conn.resume();
    }
  };

  // The will is published on the client's behalf: the client must be allowed to publish it. Asked
  // once authenticated, as the CONNECT declares it, so that a refusal reaches the client (CONNACK).
  const authorizeWill = (authData?: Uint8Array): void | Promise<void> => {
    if (!packet.will || !conn.ctx.hooks.has("authorizePublish")) return finish(authData);
    return conn.ctx.hooks.authorizePublish(conn.info, buildWill(conn, packet)!.message, "allow").then((decision) => {
      if (decision === "allow") return finish(authData);
      refuse(conn, ReasonCode.NotAuthorized, "will topic not authorized");
    });
  };

  if (v5 && props.authenticationMethod !== undefined) {
    return enhancedAuthentication(conn, props.authenticationMethod, props.authenticationData, authorizeWill);
  }
  // A verified client certificate on a listener with useCertificateCnAsUsername is the client's
  // credential, and its Common Name its user name; without one, the usual rules apply.
  const certificate = conn.transport.remote.certificate;
  const certificateUser = conn.useCertificateCnAsUsername && certificate?.authorized ? certificate.commonName : undefined;
  if (certificateUser !== undefined) conn.username = certificateUser;
  const request: AuthenticateRequest = {
    clientId,
    username: conn.username,
    password: packet.password,
    protocolVersion: conn.version,
    remote: conn.transport.remote,
    certificateAuthenticated: certificateUser !== undefined,
  };
  const fallback = certificateUser !== undefined || limits.allowAnonymous ? "allow" : "deny";
  const decided = (decision: "allow" | "deny" | Refusal): void | Promise<void> => {
    if (decision === "allow") return authorizeWill();
    if (decision !== "deny") return refuse(conn, decision.reasonCode, decision.reason);
    conn.ctx.hooks.notify("onAuthenticationFailed", request);
    if (conn.username === undefined) return refuse(conn, ReasonCode.NotAuthorized, "anonymous access is disabled");
    const code = packet.password !== undefined ? ReasonCode.BadUserNameOrPassword : ReasonCode.NotAuthorized;
    refuse(conn, code, "authentication failed");
  };
  if (!conn.ctx.hooks.has("authenticate")) return decided(fallback);
  return conn.ctx.hooks.authenticate(request, fallback).then(decided);
}

/**
 * A resumed session's wildcard subscriptions may come from the store (after a restart) or from an
 * earlier connection with another user name: neither says whether the ACL granted them only in
 * part. While an ACL is active they are checked per message with this connection's identity (for a
 * subscription the ACL covers whole, the check always allows; see acl.ts). Messages queued for the
 * session before this point are not checked again.
 */
function checkReadsOfResumed(conn: Connection): void {
  const { hooks } = conn.ctx;
  if (!hooks.has("authorizeRead")) return;
  const client = conn.info;
  for (const subscription of conn.session!.subscriptions.values()) {
    if (subscription.shareName !== undefined || !hasWildcard(subscription.filter)) continue;
    subscription.mayRead = (topic) => hooks.mayRead(client, topic);
  }
}

/** v5 enhanced authentication through the `enhancedAuthenticate` hook; refused when none is set. */
async function enhancedAuthentication(
  conn: Connection,
  method: string,
  data: Uint8Array | undefined,
  finish: (authData?: Uint8Array) => void | Promise<void>,
): Promise<void> {
  if (!conn.ctx.hooks.has("enhancedAuthenticate")) {
    return refuse(conn, ReasonCode.BadAuthenticationMethod, `authentication method "${method}" not supported`);
  }
  conn.occasional.authMethod = method;
  const result = await conn.ctx.hooks.enhancedAuth({ clientId: conn.clientId, method, data, step: 0, reauthenticate: false });
  if (result.result === "allow") return finish(result.data);
  if (result.result === "continue") {
    conn.occasional.authStep = 1;
    conn.occasional.pendingConnect = finish;
    conn.send({ cmd: "auth", reasonCode: ReasonCode.ContinueAuthentication, properties: { authenticationMethod: method, authenticationData: result.data as never } });
    return;
  }
  if (result.result === "deny") return refuse(conn, ReasonCode.NotAuthorized, "authentication failed");
  refuse(conn, ReasonCode.BadAuthenticationMethod, `authentication method "${method}" not known to any hook`);
}
