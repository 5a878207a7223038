/**
 * Matching one message to sessions: every matching subscription of a client merges into one
 * delivery (highest QoS, all Subscription Identifiers), and each shared group picks one member.
 */
import type { Message, QoS } from "../model/message.ts";
import type { Session } from "./session.ts";
import type { SharedGroup, Subscription } from "./topic-index.ts";

/** Per-client result of matching one message: overlapping subscriptions merge into one delivery. */
export interface Target {
  session: Session;
  qos: QoS;
  retainAsPublished: boolean;
  subscriptionIdentifiers?: number[];
}

/** Add a matching subscription to the message's targets, merging overlapping ones per client. */
export function mergeTarget(
  targets: Map<string, Target>,
  s: Subscription,
  message: Message,
  sessions: ReadonlyMap<string, Session>,
): void {
  if (s.noLocal && s.clientId === message.origin) return; // [v5 MQTT-3.8.3-3]
  if (s.mayRead !== undefined && !s.mayRead(message.topic)) return; // partly denied by the ACL (rare)
  const existing = targets.get(s.clientId);
  if (!existing) {
    const session = sessions.get(s.clientId);
    if (!session) return;
    targets.set(s.clientId, {
      session,
      qos: s.qos,
      retainAsPublished: s.retainAsPublished,
      subscriptionIdentifiers: s.subscriptionIdentifier !== undefined ? [s.subscriptionIdentifier] : undefined,
    });
    return;
  }
  // Overlapping subscriptions: one message at the highest QoS with every identifier [v5 MQTT-3.3.4-2, MQTT-3.3.4-3].
  existing.qos = Math.max(existing.qos, s.qos) as QoS;
  existing.retainAsPublished ||= s.retainAsPublished;
  if (s.subscriptionIdentifier !== undefined) {
    (existing.subscriptionIdentifiers ??= []).push(s.subscriptionIdentifier);
  }
}

/** Round-robin over the group, preferring members that are online. */
export function pickMember(group: SharedGroup, sessions: ReadonlyMap<string, Session>): Subscription | undefined {
  let fallback: Subscription | undefined;
  for (const member of group.rotation()) {
    const session = sessions.get(member.clientId);
    if (!session) continue;
    if (session.owner?.connected) {
      group.advancePast(member);
      return member;
    }
    fallback ??= member;
  }
  if (fallback) group.advancePast(fallback);
  return fallback;
}
