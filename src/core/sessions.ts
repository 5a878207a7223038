/**
 * Session lifecycle: open (with takeover), owner gone, expiry, end, and the wills that go with
 * them. The broker routes; this file decides when a session starts, who owns it and when it ends.
 *
 * Design note on connection takeover (MQTT 5 section 3.1.4): a CONNECT for a client id that is
 * already connected detaches the session from the old owner first, then ends it (v5 reason
 * 0x8E). The old connection's will is published at once unless it has a Will Delay Interval,
 * which the new connection cancels; if the new connection starts clean, the old session ends and
 * any will still pending is published then. Owners are anything implementing SessionOwner: a
 * client connection, or an in-process owner such as a bridge.
 */
import type { Clock } from "../ports/clock.ts";
import type { Logger } from "../ports/logger.ts";
import type { LoadedSessionState } from "./persistence.ts";
import type { Persistence } from "./persistence.ts";
import type { WillMessage } from "./context.ts";
import { DelayedWills, willMessage } from "./wills.ts";
import type { Message } from "../model/message.ts";
import { Session, type SessionOwner } from "./session.ts";
import type { TopicIndex } from "./topic-index.ts";

const NEVER_EXPIRES = 0xffffffff;

export interface SessionsDeps {
  clock: Clock;
  logger: Logger;
  persistence: Persistence;
  index: TopicIndex;
  /** Route a will that is due. */
  publish(message: Message): void;
}

export class Sessions {
  private readonly byClientId = new Map<string, Session>();
  readonly wills: DelayedWills;

  constructor(private readonly deps: SessionsDeps) {
    this.wills = new DelayedWills(deps.clock, deps.persistence, (will) => this.publishWill(will));
  }

  get size(): number {
    return this.byClientId.size;
  }

  /** Client id -> session, for routing (read only). */
  get map(): ReadonlyMap<string, Session> {
    return this.byClientId;
  }

  get(clientId: string): Session | undefined {
    return this.byClientId.get(clientId);
  }

  values(): IterableIterator<Session> {
    return this.byClientId.values();
  }

  /** Put back what the store held at start; sessions connected when the broker stopped count as offline now. */
  restore(loaded: LoadedSessionState[]): void {
    const now = this.deps.clock.now();
    for (const { session, will } of loaded) {
      this.byClientId.set(session.clientId, session);
      for (const subscription of session.subscriptions.values()) this.deps.index.add(subscription);
      if (session.disconnectedAt === 0) session.disconnectedAt = now;
      if (will) this.wills.restore(session, will);
      this.startExpiry(session, session.disconnectedAt + session.expiryInterval * 1000 - now);
    }
  }

  /** Attach `owner` to the client id's session, taking it over from any current owner. */
  open(
    owner: SessionOwner,
    clientId: string,
    cleanStart: boolean,
    expiryInterval: number,
    logger: Logger,
  ): { session: Session; present: boolean } {
    let session = this.byClientId.get(clientId);
    if (session?.owner) {
      const old = session.owner;
      session.owner = null;
      const will = old.takenOver(cleanStart);
      if (will) this.publishWill(will);
    }
    if (session) {
      this.deps.clock.clearTimeout(session.expiryTimer);
      // A new connection before the Will Delay Interval cancels the will, unless the session ends now.
      const will = this.wills.cancel(session);
      if (will && cleanStart) this.publishWill(will);
    }
    const present = !!session && !cleanStart;
    if (session && cleanStart) this.end(session);
    if (!session || !present) {
      session = new Session(clientId);
      this.byClientId.set(clientId, session);
    }
    if (present && session.droppedMessages > 0) {
      logger.info("messages were dropped while the client was away", { clientId, dropped: session.droppedMessages });
    }
    session.droppedMessages = 0; // from now on, drops are the owner's to report
    session.owner = owner;
    session.expiryInterval = expiryInterval;
    this.deps.persistence.setPersistent(session, expiryInterval > 0, true);
    return { session, present };
  }

  /** The owner went away: publish or schedule its will, start the session's expiry. */
  ownerGone(owner: SessionOwner, session: Session, will: WillMessage | null, logger: Logger, reason: string): void {
    if (session.owner !== owner) return;
    session.owner = null;
    session.droppedMessages = 0; // counts the drops while offline
    session.disconnectedAt = this.deps.clock.now();
    logger.info("client gone", { reason, sessionExpiry: session.expiryInterval });
    if (session.journal) this.deps.persistence.saveSession(session, false);
    if (will) {
      const delay = Math.min(will.delayInterval, session.expiryInterval);
      if (delay === 0) this.publishWill(will);
      else this.wills.schedule(session, will, delay * 1000, true);
    }
    if (session.expiryInterval === 0) this.end(session);
    else this.startExpiry(session, session.expiryInterval * 1000);
  }

  /**
   * Management: end a session now, connected or not. Its owner is disconnected (v5 reason
   * `reasonCode`) and its will published; its persistent state leaves the store.
   */
  delete(clientId: string, reasonCode: number): boolean {
    const session = this.byClientId.get(clientId);
    if (!session) return false;
    const owner = session.owner;
    if (owner) {
      session.owner = null;
      const will = owner.takenOver(true, reasonCode, "session deleted by an administrator");
      if (will) this.publishWill(will);
    }
    this.deps.logger.info("session deleted", { clientId });
    this.end(session);
    return true;
  }

  private startExpiry(session: Session, remainingMs: number): void {
    if (session.expiryInterval === NEVER_EXPIRES) return;
    if (remainingMs <= 0) return this.end(session);
    session.expiryTimer = this.deps.clock.setTimeout(() => {
      this.deps.logger.info("session expired", { clientId: session.clientId });
      this.end(session);
    }, remainingMs);
  }

  /** Remove a session and its subscriptions; a will still waiting goes out now (the session ended). */
  private end(session: Session): void {
    for (const subscription of session.subscriptions.values()) this.deps.index.remove(subscription);
    session.clearSubscriptions();
    this.deps.clock.clearTimeout(session.expiryTimer);
    const will = this.wills.cancel(session);
    if (will) this.publishWill(will);
    this.deps.persistence.setPersistent(session, false, false);
    if (this.byClientId.get(session.clientId) === session) this.byClientId.delete(session.clientId);
  }

  private publishWill(will: WillMessage): void {
    const message = willMessage(will, this.deps.clock.now());
    this.deps.logger.debug("publishing will", { clientId: message.origin, topic: message.topic });
    this.deps.publish(message);
  }

  /** Shutdown: stop expiry and will timers (both resume from the store at the next start). */
  stopTimers(): void {
    for (const session of this.byClientId.values()) this.deps.clock.clearTimeout(session.expiryTimer);
    this.wills.stopTimers();
  }
}
