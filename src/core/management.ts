/**
 * The management seam: read-only queries over sessions, subscriptions and retained messages that
 * return plain snapshot objects (never live Session or Connection objects), for the admin API,
 * bridges and tests. They run only when asked: nothing here is on the publish path.
 */
import type { MessageProperties, ProtocolVersion, QoS } from "../model/message.ts";
import { optionsOf, type SubscriptionOptions } from "../model/subscription.ts";
import { isValidTopicFilter, topicMatches } from "../protocol/topics.ts";
import { localSessionKind } from "./internal-client-ids.ts";
import type { RetainedStore } from "./retained.ts";
import type { Session } from "./session.ts";
import type { Subscription } from "./topic-index.ts";

export interface Page<T> {
  items: T[];
  total: number;
  offset: number;
  limit: number;
}

export interface PageQuery {
  /** Default 0. */
  offset?: number;
  /** Default 100, at most 1000. */
  limit?: number;
}

export interface SessionQuery extends PageQuery {
  /** Substring of the client id, user name or address (case-insensitive). */
  search?: string;
  /** Default "all". */
  state?: "connected" | "offline" | "all";
  sort?: "clientId" | "connectedAt" | "queued" | "messagesIn" | "messagesOut";
  order?: "asc" | "desc";
}

export interface SessionSummary {
  clientId: string;
  connected: boolean;
  username?: string;
  protocolVersion?: ProtocolVersion;
  /** "address:port" of the connection, "in-process" for a local owner. */
  address?: string;
  listener?: string;
  /** Clock times (ms). */
  connectedAt?: number;
  disconnectedAt?: number;
  /** Seconds; 0xFFFFFFFF = never. */
  expiryInterval: number;
  subscriptions: number;
  inflight: number;
  queued: number;
  queuedBytes: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** The broker's own in-process session: a bridge's queue or a console topic viewer. */
  internal?: "bridge" | "console";
}

export interface SubscriptionSnapshot extends SubscriptionOptions {
  clientId: string;
  /** The filter as sent, `$share/name/` prefix included. */
  filter: string;
  shareName?: string;
}

export interface SessionDetail extends SessionSummary {
  cleanStart?: boolean;
  keepalive?: number;
  lastPacketAt?: number;
  /** Messages dropped for this session (full queue) since it was last attached or detached. */
  dropped: number;
  subscriptionList: SubscriptionSnapshot[];
  will?: { topic: string; qos: QoS; retain: boolean; delayInterval: number };
}

export interface RetainedSnapshot {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  properties: MessageProperties;
  expiresAt?: number;
}

export interface SubscriptionQuery extends PageQuery {
  /** An exact filter as sent, or a topic: subscriptions whose filter matches it. */
  filter?: string;
  clientId?: string;
}

export interface RetainedQuery extends PageQuery {
  /** An MQTT topic filter; default "#". */
  filter?: string;
}

export interface ListenerSnapshot {
  name: string;
  connections: number;
}

/** One bridge to an upstream broker (src/bridge), as plain data for the admin API and /metrics. */
export interface BridgeSnapshot {
  name: string;
  /** The upstream's URL, credentials removed. */
  url: string;
  state: "connecting" | "connected" | "backingOff" | "stalled" | "stopped";
  /** Clock time (ms) of the last state change. */
  since: number;
  lastError?: string;
  queued: number;
  queuedBytes: number;
  inflight: number;
  /** Seconds since the oldest queued message was queued (0 when none). */
  oldestQueuedAge: number;
  forwarded: number;
  received: number;
  dropped: number;
}

function page<T>(all: T[], query: PageQuery): Page<T> {
  const offset = Math.max(0, Math.floor(query.offset ?? 0));
  const limit = Math.min(1000, Math.max(1, Math.floor(query.limit ?? 100)));
  return { items: all.slice(offset, offset + limit), total: all.length, offset, limit };
}

export function subscriptionSnapshot(s: Subscription): SubscriptionSnapshot {
  const snapshot: SubscriptionSnapshot = { clientId: s.clientId, filter: s.key, ...optionsOf(s) };
  if (s.shareName !== undefined) snapshot.shareName = s.shareName;
  return snapshot;
}

export function sessionSummary(session: Session): SessionSummary {
  const owner = session.owner?.describe();
  const summary: SessionSummary = {
    clientId: session.clientId,
    connected: session.owner?.connected ?? false,
    expiryInterval: session.expiryInterval,
    subscriptions: session.subscriptions.size,
    inflight: session.inflight.size,
    queued: session.queue.length,
    queuedBytes: session.queuedBytes,
    messagesIn: owner?.messagesIn ?? 0,
    messagesOut: owner?.messagesOut ?? 0,
    bytesIn: owner?.bytesIn ?? 0,
    bytesOut: owner?.bytesOut ?? 0,
  };
  const internal = localSessionKind(session.clientId);
  if (internal) summary.internal = internal;
  if (owner) {
    summary.username = owner.username;
    summary.protocolVersion = owner.protocolVersion;
    summary.address = owner.address;
    summary.listener = owner.listener;
    summary.connectedAt = owner.connectedAt;
  } else {
    summary.disconnectedAt = session.disconnectedAt;
  }
  return summary;
}

export function sessionDetail(session: Session, pendingWill: SessionDetail["will"]): SessionDetail {
  const owner = session.owner?.describe();
  return {
    ...sessionSummary(session),
    cleanStart: owner?.cleanStart,
    keepalive: owner?.keepalive,
    lastPacketAt: owner?.lastPacketAt,
    dropped: session.droppedMessages,
    subscriptionList: [...session.subscriptions.values()].map(subscriptionSnapshot),
    will: owner ? owner.will : pendingWill,
  };
}

const SORT_KEYS = {
  clientId: (s: SessionSummary) => s.clientId,
  connectedAt: (s: SessionSummary) => s.connectedAt ?? s.disconnectedAt ?? 0,
  queued: (s: SessionSummary) => s.queued,
  messagesIn: (s: SessionSummary) => s.messagesIn,
  messagesOut: (s: SessionSummary) => s.messagesOut,
} as const;

export function listSessions(sessions: Iterable<Session>, query: SessionQuery = {}): Page<SessionSummary> {
  const state = query.state ?? "all";
  const needle = query.search?.toLowerCase();
  const matches: SessionSummary[] = [];
  for (const session of sessions) {
    const connected = session.owner?.connected ?? false;
    if ((state === "connected" && !connected) || (state === "offline" && connected)) continue;
    const summary = sessionSummary(session);
    if (needle && ![summary.clientId, summary.username, summary.address].some((v) => v?.toLowerCase().includes(needle))) {
      continue;
    }
    matches.push(summary);
  }
  const key = SORT_KEYS[query.sort ?? "clientId"];
  const direction = query.order === "desc" ? -1 : 1;
  matches.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return (x < y ? -1 : x > y ? 1 : a.clientId < b.clientId ? -1 : 1) * direction;
  });
  return page(matches, query);
}

export function listSubscriptions(sessions: Iterable<Session>, query: SubscriptionQuery = {}): Page<SubscriptionSnapshot> {
  const found: SubscriptionSnapshot[] = [];
  const byTopic = query.filter !== undefined && !query.filter.includes("+") && !query.filter.includes("#");
  for (const session of sessions) {
    if (query.clientId !== undefined && session.clientId !== query.clientId) continue;
    for (const s of session.subscriptions.values()) {
      if (query.filter !== undefined && s.key !== query.filter && !(byTopic && topicMatches(s.filter, query.filter))) continue;
      found.push(subscriptionSnapshot(s));
    }
  }
  found.sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : a.filter < b.filter ? -1 : 1));
  return page(found, query);
}

export function retainedSnapshot(message: { topic: string; payload: Uint8Array; qos: QoS; properties: MessageProperties; expiresAt?: number }): RetainedSnapshot {
  const snapshot: RetainedSnapshot = {
    topic: message.topic,
    payload: message.payload.slice(), // a copy: the snapshot must not alias the broker's state
    qos: message.qos,
    properties: message.properties,
  };
  if (message.expiresAt !== undefined) snapshot.expiresAt = message.expiresAt;
  return snapshot;
}

/** Retained messages matching `filter` (default "#"; `$` topics only for a filter that names them), sorted by topic. */
export function listRetained(retained: RetainedStore, now: number, query: RetainedQuery = {}): Page<RetainedSnapshot> {
  const filter = query.filter ?? "#";
  if (!isValidTopicFilter(filter)) throw new RangeError(`invalid topic filter ${JSON.stringify(filter.slice(0, 100))}`);
  const messages = retained.match(filter, now).sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  return page(messages.map(retainedSnapshot), query);
}
