/** Reads the whole database back into the Store port's LoadedState (messages read once, shared by reference). */
import type { Message } from "../../model/message.ts";
import type { LoadedSession, LoadedState, StoredDelivery, StoredSubscription } from "../types.ts";
import type { SqlExecutor, SqlRow } from "./executor.ts";
import { bytes, decodeProperties, num, optNum, optStr, qos, str } from "./rows.ts";

export interface LoadResult {
  state: LoadedState;
  /** Every message read, by its row id (the store reuses the ids for these objects). */
  messages: Map<number, Message>;
  /** Deliveries and retained messages dropped because their message expired (to delete). */
  expiredDeliveries: Array<{ clientId: string; id: number }>;
  expiredRetained: string[];
}

export async function loadAll(db: SqlExecutor, now: number): Promise<LoadResult> {
  const messages = new Map<number, Message>();
  for (const row of await db.all("SELECT * FROM messages")) messages.set(num(row, "id"), messageFromRow(row));
  const messageOf = (row: SqlRow): Message => {
    const message = messages.get(num(row, "message_id"));
    if (!message) throw new Error(`corrupt database: message ${row.message_id} is referenced but missing`);
    return message;
  };
  const expired = (m: Message) => m.expiresAt !== undefined && m.expiresAt <= now;

  const sessions = new Map<string, LoadedSession>();
  for (const row of await db.all("SELECT * FROM sessions ORDER BY client_id")) {
    const clientId = str(row, "client_id");
    sessions.set(clientId, {
      clientId,
      expiryInterval: num(row, "expiry_interval"),
      disconnectedAt: optNum(row, "disconnected_at") ?? null,
      subscriptions: [],
      deliveries: [],
      awaitingRelease: [],
    });
  }
  // Rows of a session that is not stored can only exist without foreign keys (a libSQL server): skipped.
  for (const row of await db.all("SELECT * FROM subscriptions ORDER BY client_id, rowid")) {
    sessions.get(str(row, "client_id"))?.subscriptions.push(subscriptionFromRow(row));
  }
  const expiredDeliveries: LoadResult["expiredDeliveries"] = [];
  for (const row of await db.all("SELECT * FROM deliveries ORDER BY client_id, id")) {
    const clientId = str(row, "client_id");
    const delivery = deliveryFromRow(row, messageOf(row));
    if (expired(delivery.message)) expiredDeliveries.push({ clientId, id: delivery.id });
    else sessions.get(clientId)?.deliveries.push(delivery);
  }
  for (const row of await db.all("SELECT * FROM awaiting_release ORDER BY client_id, packet_id")) {
    sessions.get(str(row, "client_id"))?.awaitingRelease.push(num(row, "packet_id"));
  }
  for (const row of await db.all("SELECT * FROM wills")) {
    const session = sessions.get(str(row, "client_id"));
    if (!session) continue;
    session.will = { message: messageOf(row), publishAt: num(row, "publish_at") };
    const interval = optNum(row, "message_expiry_interval");
    if (interval !== undefined) session.will.messageExpiryInterval = interval;
  }
  const retained: Message[] = [];
  const expiredRetained: string[] = [];
  for (const row of await db.all("SELECT * FROM retained ORDER BY topic")) {
    const message = messageOf(row);
    if (expired(message)) expiredRetained.push(str(row, "topic"));
    else retained.push(message);
  }
  return { state: { sessions: [...sessions.values()], retained }, messages, expiredDeliveries, expiredRetained };
}

function messageFromRow(row: SqlRow): Message {
  const message: Message = {
    topic: str(row, "topic"),
    payload: bytes(row, "payload"),
    qos: qos(row, "qos"),
    retain: num(row, "retain") !== 0,
    properties: decodeProperties(optStr(row, "properties") ?? null),
  };
  const expiresAt = optNum(row, "expires_at");
  if (expiresAt !== undefined) message.expiresAt = expiresAt;
  const origin = optStr(row, "origin");
  if (origin !== undefined) message.origin = origin;
  return message;
}

function subscriptionFromRow(row: SqlRow): StoredSubscription {
  const retainHandling = num(row, "retain_handling");
  if (retainHandling !== 0 && retainHandling !== 1 && retainHandling !== 2) {
    throw new Error(`corrupt database: retain_handling ${retainHandling}`);
  }
  const subscription: StoredSubscription = {
    key: str(row, "key"),
    qos: qos(row, "qos"),
    noLocal: num(row, "no_local") !== 0,
    retainAsPublished: num(row, "retain_as_published") !== 0,
    retainHandling,
  };
  const identifier = optNum(row, "subscription_identifier");
  if (identifier !== undefined) subscription.subscriptionIdentifier = identifier;
  return subscription;
}

function deliveryFromRow(row: SqlRow, message: Message): StoredDelivery {
  const delivery: StoredDelivery = {
    id: num(row, "id"),
    message,
    qos: qos(row, "qos"),
    retain: num(row, "retain") !== 0,
  };
  const identifiers = optStr(row, "subscription_identifiers");
  if (identifiers !== undefined) {
    const parsed: unknown = JSON.parse(identifiers);
    if (!Array.isArray(parsed) || !parsed.every((n) => typeof n === "number")) {
      throw new Error(`corrupt database: subscription_identifiers ${identifiers}`);
    }
    delivery.subscriptionIdentifiers = parsed;
  }
  const packetId = optNum(row, "packet_id");
  if (packetId !== undefined) delivery.packetId = packetId;
  const state = optStr(row, "state");
  if (state === "awaitingAck" || state === "awaitingComp") delivery.state = state;
  else if (state !== undefined) throw new Error(`corrupt database: delivery state ${state}`);
  return delivery;
}
