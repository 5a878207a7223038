/**
 * The memory store: nothing survives a restart (`persistence: memory`, and tests). It keeps what
 * it is given in Maps, so the store contract suite runs against it like against SQLite: writes
 * are snapshots taken at call time (Message objects are shared, as the core never changes them),
 * and load() returns copies. Like the SQLite store (foreign keys), a write for a client with no
 * stored session is not kept and makes the next commit() reject.
 */
import type { Message } from "../model/message.ts";
import { MemorySecurityStore } from "../security/memory-store.ts";
import { MemoryAdminStore } from "../security/admin-memory-store.ts";
import { StoreWriteError } from "./errors.ts";
import type {
  LoadedSession,
  LoadedState,
  Store,
  StoredDelivery,
  StoredSession,
  StoredSubscription,
  StoredWill,
} from "./types.ts";

export interface MemoryStoreOptions {
  /** Clock time in ms, to drop expired messages at load (default Date.now). */
  now?: () => number;
}

interface MemorySession {
  session: StoredSession;
  subscriptions: Map<string, StoredSubscription>;
  deliveries: Map<number, StoredDelivery>;
  awaitingRelease: Set<number>;
  will?: StoredWill;
}

const done = Promise.resolve();

export class MemoryStore implements Store {
  readonly durable = false;
  readonly security = new MemorySecurityStore();
  readonly admin = new MemoryAdminStore();
  private readonly sessions = new Map<string, MemorySession>();
  private readonly retained = new Map<string, Message>();
  private readonly now: () => number;
  private error: Error | undefined;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.now = options.now ?? (() => Date.now());
  }

  load(): Promise<LoadedState> {
    const now = this.now();
    const live = (m: Message) => m.expiresAt === undefined || m.expiresAt > now;
    const sessions: LoadedSession[] = [];
    for (const s of this.sessions.values()) {
      for (const [id, d] of s.deliveries) if (!live(d.message)) s.deliveries.delete(id);
      const loaded: LoadedSession = {
        ...s.session,
        subscriptions: [...s.subscriptions.values()].map((sub) => ({ ...sub })),
        deliveries: [...s.deliveries.values()].sort((a, b) => a.id - b.id).map(copyDelivery),
        awaitingRelease: [...s.awaitingRelease],
      };
      if (s.will) loaded.will = { ...s.will };
      sessions.push(loaded);
    }
    for (const [topic, m] of this.retained) if (!live(m)) this.retained.delete(topic);
    return Promise.resolve({ sessions, retained: [...this.retained.values()] });
  }

  /** The client's stored session, or undefined (and the next commit() rejects). */
  private of(clientId: string, what: string): MemorySession | undefined {
    const s = this.sessions.get(clientId);
    if (!s) {
      this.error ??= new StoreWriteError(`${what} for client ${JSON.stringify(clientId)}, which has no stored session`);
    }
    if (this.closed) this.error ??= new StoreWriteError(`${what} after close(): not stored`);
    return s;
  }

  saveSession(session: StoredSession): void {
    const s = this.sessions.get(session.clientId);
    if (s) s.session = { ...session };
    else {
      this.sessions.set(session.clientId, {
        session: { ...session },
        subscriptions: new Map(),
        deliveries: new Map(),
        awaitingRelease: new Set(),
      });
    }
  }
  deleteSession(clientId: string): void {
    this.sessions.delete(clientId);
  }
  saveSubscription(clientId: string, subscription: StoredSubscription): void {
    this.of(clientId, "saveSubscription")?.subscriptions.set(subscription.key, { ...subscription });
  }
  deleteSubscription(clientId: string, key: string): void {
    this.sessions.get(clientId)?.subscriptions.delete(key);
  }
  saveDelivery(clientId: string, delivery: StoredDelivery): void {
    this.of(clientId, "saveDelivery")?.deliveries.set(delivery.id, copyDelivery(delivery));
  }
  deleteDelivery(clientId: string, id: number): void {
    this.sessions.get(clientId)?.deliveries.delete(id);
  }
  saveAwaitingRelease(clientId: string, packetId: number): void {
    this.of(clientId, "saveAwaitingRelease")?.awaitingRelease.add(packetId);
  }
  deleteAwaitingRelease(clientId: string, packetId: number): void {
    this.sessions.get(clientId)?.awaitingRelease.delete(packetId);
  }
  saveWill(clientId: string, will: StoredWill): void {
    const s = this.of(clientId, "saveWill");
    if (s) s.will = { ...will };
  }
  deleteWill(clientId: string): void {
    const s = this.sessions.get(clientId);
    if (s) delete s.will;
  }
  saveRetained(message: Message): void {
    this.retained.set(message.topic, message);
  }
  deleteRetained(topic: string): void {
    this.retained.delete(topic);
  }

  commit(): Promise<void> {
    const error = this.error;
    this.error = undefined;
    if (error) return Promise.reject(error);
    return this.closed ? Promise.reject(new StoreWriteError("memory store is closed")) : done;
  }
  close(): Promise<void> {
    this.closed = true;
    return done;
  }
}

function copyDelivery(d: StoredDelivery): StoredDelivery {
  const copy: StoredDelivery = { ...d };
  if (d.subscriptionIdentifiers) copy.subscriptionIdentifiers = [...d.subscriptionIdentifiers];
  return copy;
}
