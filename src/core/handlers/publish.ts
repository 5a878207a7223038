/** Inbound PUBLISH and PUBREL (3.1.1 section 3.3/3.6, 5.0 section 3.3/3.6). */
import type { Message, MessageProperties, UserProperties } from "../../model/message.ts";
import type { IPubrelPacket, Packet } from "../../protocol/codec.ts";
import type { DecodedPublish } from "../../protocol/publish-decoder.ts";
import { ProtocolError, ReasonCode } from "../../protocol/reason-codes.ts";
import { isValidTopicName } from "../../protocol/topics.ts";
import type { Connection } from "../connection.ts";
import { checkTopicLimits, describeViolation } from "../topic-limits.ts";
import { copyBytes } from "../../util/bytes.ts";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

const NO_PROPERTIES: MessageProperties = Object.freeze({});

/** The v5 properties a message carries from publisher to subscribers. */
export function messageProperties(props: {
  payloadFormatIndicator?: boolean;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Uint8Array;
}, userProperties: UserProperties): MessageProperties {
  // Most messages carry no properties: they share one frozen empty object instead of an object
  // each (a retained message costs about 50 bytes less; issue 14).
  if (
    props.payloadFormatIndicator === undefined && props.contentType === undefined && props.responseTopic === undefined &&
    props.correlationData === undefined && userProperties.length === 0
  ) return NO_PROPERTIES;
  const out: MessageProperties = {};
  if (props.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = props.payloadFormatIndicator;
  if (props.contentType !== undefined) out.contentType = props.contentType;
  if (props.responseTopic !== undefined) out.responseTopic = props.responseTopic;
  if (props.correlationData !== undefined) out.correlationData = props.correlationData;
  if (userProperties.length > 0) out.userProperties = userProperties;
  return out;
}

/** Resolve a v5 Topic Alias [v5 MQTT-3.3.2-7, MQTT-3.3.2-8, MQTT-3.3.2-11, MQTT-3.3.2-12]: set it with a topic, use it with an empty one. */
function resolveTopic(conn: Connection, packet: DecodedPublish): string {
  const alias = packet.properties.topicAlias;
  if (alias === undefined || conn.version !== 5) return packet.topic;
  if (alias === 0 || alias > conn.limits.topicAliasMaximum) {
    throw new ProtocolError(ReasonCode.TopicAliasInvalid, `topic alias ${alias} is outside 1..${conn.limits.topicAliasMaximum}`);
  }
  if (packet.topic !== "") {
    conn.topicAliases.set(alias, packet.topic);
    return packet.topic;
  }
  const topic = conn.topicAliases.get(alias);
  if (topic === undefined) throw new ProtocolError(ReasonCode.ProtocolError, `topic alias ${alias} was never set`);
  return topic;
}

/** PUBACK / PUBREC for `packet`, once `durable` (the store commit holding the message) resolves. */
function acknowledge(
  conn: Connection,
  packet: DecodedPublish,
  reasonCode: number,
  reasonString?: string,
  durable: Promise<void> | null = null,
): void {
  if (packet.qos === 0) return;
  const cmd = packet.qos === 1 ? "puback" : "pubrec";
  const ack = (code: number, text?: string): Packet => {
    if (conn.version !== 5) return { cmd, messageId: packet.messageId };
    const properties = text && conn.negotiated.requestProblemInformation ? { reasonString: text } : undefined;
    return { cmd, messageId: packet.messageId, reasonCode: code, properties };
  };
  conn.sendAfter(ack(reasonCode, reasonString), durable, (code) => {
    conn.session!.release(packet.messageId!); // a refused QoS 2 message ends here
    return ack(code, "the message could not be stored");
  });
}

/**
 * A refused PUBLISH: one (throttled) log line; v5 QoS 1/2 get `reasonCode` in the ack, 3.1.1 has
 * no negative ack, so its QoS 1/2 exchange completes as usual and the message is dropped.
 */
function refusePublish(
  conn: Connection,
  packet: DecodedPublish,
  reasonCode: number,
  why: string,
  logMessage: string,
  fields: Record<string, unknown>,
): void {
  conn.refusals.info(conn.logger, logMessage, fields);
  if (packet.qos === 2 && conn.version !== 5) conn.session!.addAwaitingRelease(packet.messageId!);
  acknowledge(conn, packet, reasonCode, why);
}

export function handlePublish(conn: Connection, packet: DecodedPublish): void | Promise<void> {
  const { limits } = conn;
  const session = conn.session!;
  const topic = resolveTopic(conn, packet);
  if (!isValidTopicName(topic)) {
    throw new ProtocolError(
      topic === "" ? ReasonCode.ProtocolError : ReasonCode.TopicNameInvalid,
      `invalid topic name ${JSON.stringify(topic.slice(0, 100))}`,
    );
  }
  if (packet.qos > limits.maxQos) throw new ProtocolError(ReasonCode.QoSNotSupported, `QoS ${packet.qos} not supported`);
  if (packet.retain && !limits.retainAvailable) throw new ProtocolError(ReasonCode.RetainNotSupported, "retain not supported");
  const props = packet.properties;
  if (packet.qos === 0 && packet.dup) {
    throw new ProtocolError(ReasonCode.MalformedPacket, "DUP set on a QoS 0 PUBLISH [3.1.1 MQTT-3.3.1-2] [v5 MQTT-3.3.1-2]");
  }
  if (props.responseTopic !== undefined && !isValidTopicName(props.responseTopic)) {
    throw new ProtocolError(ReasonCode.ProtocolError, "invalid Response Topic [v5 MQTT-3.3.2-13, MQTT-3.3.2-14]");
  }
  if (props.subscriptionIdentifier !== undefined) {
    throw new ProtocolError(ReasonCode.ProtocolError, "a client must not send a Subscription Identifier in PUBLISH");
  }

  // A well-formed topic over the operator's limits (levels, bytes; after alias resolution) is a
  // refusal, not a protocol error: v5 QoS 1/2 get PUBACK/PUBREC 0x90 Topic Name invalid; QoS 0
  // (no ack to carry a reason) and 3.1.1 (no negative acks) drop it with a log line and go on,
  // as for a denied publish. A DISCONNECT would make a reconnecting client resend it forever.
  const violation = checkTopicLimits(topic, limits);
  if (violation) {
    const why = describeViolation(violation, limits);
    const fields = { topic: topic.slice(0, 100), reason: why, qos: packet.qos };
    return refusePublish(conn, packet, ReasonCode.TopicNameInvalid, why, "publish refused: topic over limits", fields);
  }

  // Exactly once, inbound: a resent QoS 2 PUBLISH whose PUBREC went out is not routed again.
  if (packet.qos === 2 && session.awaitingRelease.has(packet.messageId!)) {
    acknowledge(conn, packet, ReasonCode.Success);
    return;
  }
  if (packet.qos === 2 && session.awaitingRelease.size >= limits.receiveMaximum) {
    throw new ProtocolError(ReasonCode.ReceiveMaximumExceeded, `more than ${limits.receiveMaximum} QoS 2 messages unacknowledged`);
  }

  const { payload } = packet;
  if (props.payloadFormatIndicator && conn.version === 5) {
    try {
      strictUtf8.decode(payload);
    } catch {
      conn.refusals.info(conn.logger, "publish refused: payload is not UTF-8 as its format indicator says", { topic });
      acknowledge(conn, packet, ReasonCode.PayloadFormatInvalid, "payload is not valid UTF-8");
      return;
    }
  }

  const message: Message = {
    topic,
    // A message that may outlive this call (queued, in flight, retained) gets its own copy of the
    // payload: a view would keep the adapter's whole read chunk alive with it. Live QoS 0 needs none.
    payload: packet.qos > 0 || packet.retain || limits.queueQos0 ? copyBytes(payload) : payload,
    qos: packet.qos,
    retain: packet.retain,
    properties: messageProperties(props, props.userProperties ?? []),
    origin: conn.clientId,
  };
  if (props.messageExpiryInterval !== undefined) {
    message.expiresAt = conn.ctx.clock.now() + props.messageExpiryInterval * 1000;
  }

  // $SYS/ belongs to the broker: clients may read it but not write it (as in Mosquitto).
  if (topic.startsWith("$SYS/")) {
    const why = "$SYS topics are read-only";
    return refusePublish(conn, packet, ReasonCode.NotAuthorized, why, "publish denied: $SYS topics are the broker's", { topic });
  }
  // A retained message for a new topic when the broker holds its limit of them: refused whole
  // (as for the topic limits), so that a v5 publisher learns it from 0x97 Quota exceeded.
  // The limit is the broker's (ctx.limits): retained messages are shared by every listener.
  const { maxRetainedMessages } = conn.ctx.limits;
  if (packet.retain && payload.length > 0 && !conn.ctx.retained.accepts(topic, maxRetainedMessages)) {
    const fields = { topic, limit: maxRetainedMessages };
    const why = "retained message limit reached";
    return refusePublish(conn, packet, ReasonCode.QuotaExceeded, why, "publish refused: retained messages at their limit", fields);
  }

  const accept = (): void => {
    // The ack waits for whatever this message made the store write (queued copies, retained).
    const before = conn.ctx.persistence.writes;
    const matched = conn.ctx.route(message, conn.info);
    if (packet.qos === 2) session.addAwaitingRelease(packet.messageId!);
    const durable = packet.qos > 0 ? conn.ctx.persistence.commitSince(before) : null;
    acknowledge(conn, packet, matched > 0 ? ReasonCode.Success : ReasonCode.NoMatchingSubscribers, undefined, durable);
  };
  if (!conn.ctx.hooks.has("authorizePublish")) return accept();
  return conn.ctx.hooks.authorizePublish(conn.info, message).then((decision) => {
    if (decision === "allow") return accept();
    // v5 says so with 0x87; 3.1.1 has no negative ack, the message is dropped silently.
    refusePublish(conn, packet, ReasonCode.NotAuthorized, "not authorized", "publish denied", { topic, qos: packet.qos });
  });
}

export function handlePubrel(conn: Connection, packet: IPubrelPacket): void {
  // PUBCOMP waits until the store forgot the packet id: a restart must not take a new message
  // that reuses the id for a duplicate.
  const before = conn.ctx.persistence.writes;
  const known = conn.session!.release(packet.messageId!);
  const pubcomp: Packet = conn.version === 5
    ? { cmd: "pubcomp", messageId: packet.messageId, reasonCode: known ? ReasonCode.Success : ReasonCode.PacketIdentifierNotFound }
    : { cmd: "pubcomp", messageId: packet.messageId };
  conn.sendAfter(pubcomp, conn.ctx.persistence.commitSince(before));
}
