/**
 * The broker's side of the Store port: journals for persistent sessions, the write counter that
 * tells a handler whether its acknowledgement must wait for a commit, and the translation of
 * loaded rows back into sessions.
 *
 * Acknowledgement rule: a handler notes `writes` before it acts; if the count moved, its ack
 * waits for `commit()` (one group commit serves every ack of that moment). With a store that is
 * not durable (`persistence.store: memory`) nothing is written at all: the broker's memory already
 * holds the state, and acks go out at once.
 */
import type { Store, StoredDelivery, StoredSubscription, StoredWill } from "../store/types.ts";
import type { Delivery, InflightEntry, SessionJournal } from "./session.ts";
import { Session } from "./session.ts";
import type { Subscription } from "./topic-index.ts";
import type { Message } from "../model/message.ts";
import { parseSharedFilter } from "../protocol/topics.ts";
import { optionsOf } from "../model/subscription.ts";

/** A session rebuilt from the store, with its pending will. */
export interface LoadedSessionState {
  session: Session;
  will?: StoredWill;
}

export class Persistence {
  /** Writes issued so far (only counted for a durable store). */
  writes = 0;
  private nextDeliveryId = 1;

  constructor(readonly store: Store) {}

  get durable(): boolean {
    return this.store.durable;
  }

  /** A commit to wait for when writes happened since `before`, else null. */
  commitSince(before: number): Promise<void> | null {
    return this.writes === before ? null : this.store.commit();
  }

  private count(): void {
    this.writes++;
  }

  journalFor(clientId: string): SessionJournal {
    const { store } = this;
    const count = () => this.count();
    const assignId = (delivery: Delivery) => (delivery.id ??= this.nextDeliveryId++);
    return {
      saveDelivery: (delivery, inflight) => {
        count();
        store.saveDelivery(clientId, toStoredDelivery(assignId(delivery), delivery, inflight));
      },
      deleteDelivery: (delivery) => {
        count();
        store.deleteDelivery(clientId, delivery.id!);
      },
      saveAwaitingRelease: (packetId) => {
        count();
        store.saveAwaitingRelease(clientId, packetId);
      },
      deleteAwaitingRelease: (packetId) => {
        count();
        store.deleteAwaitingRelease(clientId, packetId);
      },
      saveSubscription: (subscription) => {
        count();
        store.saveSubscription(clientId, toStoredSubscription(subscription));
      },
      deleteSubscription: (key) => {
        count();
        store.deleteSubscription(clientId, key);
      },
    };
  }

  /** Make `session` persistent (journal everything it holds) or not (forget it in the store). */
  setPersistent(session: Session, persistent: boolean, connected: boolean): void {
    if (!this.durable) return;
    if (!persistent) {
      if (session.journal) {
        session.journal = null;
        this.deleteSession(session.clientId);
      }
      return;
    }
    this.saveSession(session, connected);
    if (session.journal) return;
    const journal = this.journalFor(session.clientId);
    session.journal = journal;
    for (const subscription of session.subscriptions.values()) journal.saveSubscription(subscription);
    for (const delivery of session.queue) if (delivery.qos > 0) journal.saveDelivery(delivery);
    for (const entry of session.inflight.values()) {
      journal.saveDelivery(entry.delivery, { packetId: entry.packetId, state: entry.state });
    }
    for (const packetId of session.awaitingRelease) journal.saveAwaitingRelease(packetId);
  }

  saveSession(session: Session, connected: boolean): void {
    this.count();
    this.store.saveSession({
      clientId: session.clientId,
      expiryInterval: session.expiryInterval,
      disconnectedAt: connected ? null : session.disconnectedAt,
    });
  }

  deleteSession(clientId: string): void {
    this.count();
    this.store.deleteSession(clientId);
  }

  saveWill(clientId: string, will: StoredWill): void {
    if (!this.durable) return;
    this.count();
    this.store.saveWill(clientId, will);
  }

  deleteWill(clientId: string): void {
    if (!this.durable) return;
    this.count();
    this.store.deleteWill(clientId);
  }

  saveRetained(message: Message): void {
    if (!this.durable) return;
    this.count();
    if (message.payload.length === 0) this.store.deleteRetained(message.topic);
    else this.store.saveRetained(message);
  }

  /** Sessions as they were stored, rebuilt in memory (offline), with their wills. */
  async restore(): Promise<{ sessions: LoadedSessionState[]; retained: Message[] }> {
    const state = await this.store.load();
    const sessions = state.sessions.map((stored) => {
      const session = new Session(stored.clientId);
      session.expiryInterval = stored.expiryInterval;
      session.disconnectedAt = stored.disconnectedAt ?? 0;
      for (const s of stored.subscriptions) session.restoreSubscription(fromStoredSubscription(stored.clientId, s));
      for (const d of [...stored.deliveries].sort((a, b) => a.id - b.id)) {
        this.nextDeliveryId = Math.max(this.nextDeliveryId, d.id + 1);
        const delivery: Delivery = { message: d.message, qos: d.qos, retain: d.retain, id: d.id };
        if (d.subscriptionIdentifiers) delivery.subscriptionIdentifiers = d.subscriptionIdentifiers;
        if (d.packetId !== undefined) {
          session.restoreInflight({ packetId: d.packetId, delivery, state: d.state ?? "awaitingAck" });
        } else {
          session.restoreQueued(delivery);
        }
      }
      for (const packetId of stored.awaitingRelease) session.restoreAwaitingRelease(packetId);
      session.journal = this.journalFor(stored.clientId);
      return { session, will: stored.will };
    });
    return { sessions, retained: state.retained };
  }
}

function toStoredDelivery(
  id: number,
  delivery: Delivery,
  inflight?: { packetId: number; state: InflightEntry["state"] },
): StoredDelivery {
  const stored: StoredDelivery = { id, message: delivery.message, qos: delivery.qos, retain: delivery.retain };
  if (delivery.subscriptionIdentifiers) stored.subscriptionIdentifiers = delivery.subscriptionIdentifiers;
  if (inflight) {
    stored.packetId = inflight.packetId;
    stored.state = inflight.state;
  }
  return stored;
}

function toStoredSubscription(s: Subscription): StoredSubscription {
  return { key: s.key, ...optionsOf(s) };
}

function fromStoredSubscription(clientId: string, s: StoredSubscription): Subscription {
  const shared = parseSharedFilter(s.key);
  const isShared = shared !== null && shared !== "invalid";
  const subscription: Subscription = { clientId, key: s.key, filter: isShared ? shared.filter : s.key, ...optionsOf(s) };
  if (isShared) subscription.shareName = shared.shareName;
  return subscription;
}
