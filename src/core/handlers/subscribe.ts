/** SUBSCRIBE and UNSUBSCRIBE (3.1.1 sections 3.8-3.11, 5.0 sections 3.8-3.11). */
import type { QoS } from "../../model/message.ts";
import { optionsOf, type SubscriptionInfo } from "../../model/subscription.ts";
import { checkUtf8String, type ISubscribePacket, type IUnsubscribePacket, RawReader } from "../../protocol/codec.ts";
import { ProtocolError, ReasonCode } from "../../protocol/reason-codes.ts";
import { hasWildcard, isValidTopicFilter, parseSharedFilter } from "../../protocol/topics.ts";
import type { Connection } from "../connection.ts";
import type { BrokerContext } from "../context.ts";
import type { Session } from "../session.ts";
import type { Subscription } from "../topic-index.ts";
import { checkFilterLimits } from "../topic-limits.ts";
import { errorText } from "../../util/errors.ts";

/** A filter for a log line or reason string: a client may send 64 KiB ones. */
const quoted = (filter: string) => JSON.stringify(filter.slice(0, 100)) + (filter.length > 100 ? "…" : "");

/** Raw topic filters of a SUBSCRIBE/UNSUBSCRIBE, read only when a decoded one held U+FFFD. */
function rawFilters(frame: Uint8Array, version: number, withOptions: boolean): Uint8Array[] {
  const r = new RawReader(frame).skip(2);
  if (version === 5) r.skipProperties();
  const filters: Uint8Array[] = [];
  while (!r.done) {
    filters.push(r.bytes());
    if (withOptions) r.skip(1);
  }
  return filters;
}

type Checked = { subscription: Subscription } | { reasonCode: number };

/** Validate one requested subscription; per-filter problems are SUBACK codes, some are protocol errors. */
function checkRequest(
  conn: Connection,
  request: ISubscribePacket["subscriptions"][number],
  subscriptionIdentifier: number | undefined,
): Checked {
  const { limits } = conn;
  const shared = parseSharedFilter(request.topic);
  const filter = shared && shared !== "invalid" ? shared.filter : request.topic;
  if (shared === "invalid" || !isValidTopicFilter(request.topic)) {
    // 3.1.1 has no reason code for this: the connection is closed, as Mosquitto does.
    if (conn.version !== 5) throw new ProtocolError(ReasonCode.TopicFilterInvalid, `invalid topic filter ${quoted(request.topic)}`);
    return { reasonCode: ReasonCode.TopicFilterInvalid };
  }
  // Over the operator's limits: 3.1.1 gets 0x80 (not a close: the filter is valid).
  if (checkFilterLimits(request.topic, shared, limits)) return { reasonCode: ReasonCode.TopicFilterInvalid };
  if (shared && !limits.sharedSubscriptions) return { reasonCode: ReasonCode.SharedSubscriptionsNotSupported };
  if (shared && request.nl) {
    throw new ProtocolError(ReasonCode.ProtocolError, "No Local on a shared subscription [v5 MQTT-3.8.3-4]");
  }
  if (hasWildcard(filter) && !limits.wildcardSubscriptions) return { reasonCode: ReasonCode.WildcardSubscriptionsNotSupported };
  const qos = Math.min(request.qos, limits.maxQos) as QoS;
  return {
    subscription: {
      clientId: conn.clientId,
      key: request.topic,
      filter,
      shareName: shared ? shared.shareName : undefined,
      qos,
      noLocal: conn.version === 5 ? request.nl ?? false : false,
      retainAsPublished: conn.version === 5 ? request.rap ?? false : false,
      retainHandling: (conn.version === 5 ? request.rh ?? 0 : 0) as 0 | 1 | 2,
      subscriptionIdentifier,
    },
  };
}

function toInfo(s: Subscription): SubscriptionInfo {
  const info: SubscriptionInfo = { filter: s.filter, ...optionsOf(s) };
  if (s.shareName !== undefined) info.shareName = s.shareName;
  return info;
}

export async function handleSubscribe(conn: Connection, packet: ISubscribePacket, frame: Uint8Array): Promise<void> {
  const { ctx } = conn;
  const session = conn.session!;
  if (packet.subscriptions.length === 0) {
    throw new ProtocolError(ReasonCode.ProtocolError, "SUBSCRIBE without a Topic Filter [3.1.1 MQTT-3.8.3-3] [v5 MQTT-3.8.3-2]");
  }
  packet.subscriptions.forEach((request, i) => {
    checkUtf8String(request.topic, () => rawFilters(frame, conn.version, true)[i], "topic filter");
  });
  const subscriptionIdentifier = packet.properties?.subscriptionIdentifier as number | undefined;
  if (subscriptionIdentifier === 0) {
    throw new ProtocolError(ReasonCode.ProtocolError, "Subscription Identifier 0 is not allowed");
  }
  const granted: number[] = [];
  const added: Array<{ subscription: Subscription; existed: boolean }> = [];
  const overQuota: string[] = [];
  const maxSubscriptions = conn.limits.maxSubscriptionsPerClient;
  const before = ctx.persistence.writes;
  for (const request of packet.subscriptions) {
    if (subscriptionIdentifier !== undefined && !conn.limits.subscriptionIdentifiers) {
      granted.push(ReasonCode.SubscriptionIdentifiersNotSupported);
      continue;
    }
    const checked = checkRequest(conn, request, subscriptionIdentifier);
    if ("reasonCode" in checked) {
      conn.refusals.info(conn.logger, "subscription refused", { filter: request.topic.slice(0, 100), reasonCode: checked.reasonCode });
      granted.push(conn.version === 5 ? checked.reasonCode : 0x80);
      continue;
    }
    const { subscription } = checked;
    // The session's count (it survives reconnects and restarts); replacing a subscription adds none.
    if (maxSubscriptions > 0 && session.subscriptions.size >= maxSubscriptions && !session.subscriptions.has(subscription.key)) {
      overQuota.push(request.topic.slice(0, 100));
      granted.push(conn.version === 5 ? ReasonCode.QuotaExceeded : 0x80);
      continue;
    }
    if (ctx.hooks.has("authorizeSubscribe")) {
      const client = conn.info;
      const { allowed, maxQos, checkEachMessage } = await ctx.hooks.authorizeSubscribe(client, toInfo(subscription));
      if (!allowed) {
        conn.refusals.info(conn.logger, "subscription denied", { filter: request.topic });
        granted.push(conn.version === 5 ? ReasonCode.NotAuthorized : 0x80);
        continue;
      }
      if (subscription.qos > maxQos) subscription.qos = maxQos; // granted at the QoS the ACL allows
      if (checkEachMessage) subscription.mayRead = (topic) => ctx.hooks.mayRead(client, topic);
    }
    const existed = ctx.subscribe(session, subscription);
    added.push({ subscription, existed });
    granted.push(subscription.qos);
    ctx.hooks.notify("onSubscribed", conn.info, toInfo(subscription));
  }
  if (overQuota.length > 0) {
    conn.refusals.info(conn.logger, "subscriptions refused: too many for one client", { filters: overQuota, limit: maxSubscriptions });
  }
  // SUBACK (and the retained messages after it) wait until a persistent session's subscriptions are stored.
  const durable = ctx.persistence.commitSince(before);
  if (durable) {
    try {
      await durable;
    } catch (e: unknown) {
      conn.logger.error("store write failed: subscriptions not stored", { error: errorText(e) });
      granted.fill(conn.version === 5 ? ReasonCode.UnspecifiedError : 0x80);
      added.length = 0;
    }
  }
  if (conn.state !== "connected") return;
  conn.send({ cmd: "suback", messageId: packet.messageId, granted });
  for (const { subscription, existed } of added) sendRetained(ctx, session, subscription, existed);
}

/** Retained messages for a new subscription, per Retain Handling [v5 MQTT-3.3.1-9, MQTT-3.3.1-10, MQTT-3.3.1-11]; none for shared ones. */
export function sendRetained(ctx: BrokerContext, session: Session, subscription: Subscription, existed: boolean): void {
  if (subscription.shareName !== undefined) return;
  if (subscription.retainHandling === 2 || (subscription.retainHandling === 1 && existed)) return;
  for (const message of ctx.retained.match(subscription.filter, ctx.clock.now())) {
    if (subscription.mayRead !== undefined && !subscription.mayRead(message.topic)) continue;
    ctx.deliverTo(session, {
      message,
      qos: Math.min(message.qos, subscription.qos) as QoS,
      retain: true,
      subscriptionIdentifiers: subscription.subscriptionIdentifier !== undefined ? [subscription.subscriptionIdentifier] : undefined,
    });
  }
}

export function handleUnsubscribe(conn: Connection, packet: IUnsubscribePacket, frame: Uint8Array): void {
  const { ctx } = conn;
  const session = conn.session!;
  const reasonCodes: number[] = [];
  if (packet.unsubscriptions.length === 0) {
    throw new ProtocolError(ReasonCode.ProtocolError, "UNSUBSCRIBE without a Topic Filter [3.1.1 MQTT-3.10.3-2] [v5 MQTT-3.10.3-2]");
  }
  const before = ctx.persistence.writes;
  packet.unsubscriptions.forEach((filter, i) => {
    checkUtf8String(filter, () => rawFilters(frame, conn.version, false)[i], "topic filter");
    const shared = parseSharedFilter(filter);
    if (shared === "invalid" || !isValidTopicFilter(filter)) {
      if (conn.version !== 5) throw new ProtocolError(ReasonCode.TopicFilterInvalid, `invalid topic filter ${quoted(filter)}`);
      reasonCodes.push(ReasonCode.TopicFilterInvalid);
      return;
    }
    // Over the topic limits: v5 says 0x8F, unless the session holds it (made before a SIGHUP lowered them).
    if (checkFilterLimits(filter, shared, conn.limits) && !session.subscriptions.has(filter)) {
      reasonCodes.push(ReasonCode.TopicFilterInvalid);
      return;
    }
    const removed = ctx.unsubscribe(session, filter);
    if (removed) ctx.hooks.notify("onUnsubscribed", conn.info, filter);
    reasonCodes.push(removed ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted);
  });
  // mqtt-packet takes UNSUBACK reason codes as `granted` (written for v5 only).
  conn.sendAfter({ cmd: "unsuback", messageId: packet.messageId!, granted: reasonCodes }, ctx.persistence.commitSince(before));
}
