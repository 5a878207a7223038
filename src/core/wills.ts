/**
 * Delayed wills (MQTT 5 section 3.1.3.2): a will with a Will Delay Interval waits after its
 * connection closed; a new connection for the session cancels it, the session ending publishes
 * it at once. Pending wills of persistent sessions are stored, so they survive a restart.
 */
import type { Message } from "../model/message.ts";
import type { Clock } from "../ports/clock.ts";
import type { StoredWill } from "../store/types.ts";
import type { WillMessage } from "./context.ts";
import type { Persistence } from "./persistence.ts";
import type { Session } from "./session.ts";

export class DelayedWills {
  private readonly pending = new Map<Session, { timer: unknown; will: WillMessage }>();

  constructor(
    private readonly clock: Clock,
    private readonly persistence: Persistence,
    private readonly publish: (will: WillMessage) => void,
  ) {}

  /** Publish `will` after `delayMs` unless cancelled first; stored when `persist` is set. */
  schedule(session: Session, will: WillMessage, delayMs: number, persist: boolean): void {
    const timer = this.clock.setTimeout(() => {
      this.cancel(session);
      this.publish(will);
    }, delayMs);
    this.pending.set(session, { timer, will });
    if (persist && session.journal) this.persistence.saveWill(session.clientId, toStored(will, this.clock.now() + delayMs));
  }

  /** Put back a will loaded from the store (due at its stored time). */
  restore(session: Session, stored: StoredWill): void {
    const will: WillMessage = {
      message: { ...stored.message, origin: session.clientId },
      delayInterval: 0,
      messageExpiryInterval: stored.messageExpiryInterval,
    };
    this.schedule(session, will, Math.max(0, stored.publishAt - this.clock.now()), false);
  }

  /** Drop the session's pending will (in memory and store); returns it. */
  cancel(session: Session): WillMessage | undefined {
    const entry = this.pending.get(session);
    if (!entry) return undefined;
    this.clock.clearTimeout(entry.timer);
    this.pending.delete(session);
    if (session.journal) this.persistence.deleteWill(session.clientId);
    return entry.will;
  }

  /** The will waiting for the session's Will Delay Interval, if any. */
  pendingFor(session: Session): WillMessage | undefined {
    return this.pending.get(session)?.will;
  }

  /** Stop every timer (shutdown): stored wills resume at the next start. */
  stopTimers(): void {
    for (const { timer } of this.pending.values()) this.clock.clearTimeout(timer);
  }
}

/** The message a will becomes when it is published (its expiry counts from then). */
export function willMessage(will: WillMessage, now: number): Message {
  const message: Message = { ...will.message };
  if (will.messageExpiryInterval !== undefined) message.expiresAt = now + will.messageExpiryInterval * 1000;
  return message;
}

function toStored(will: WillMessage, publishAt: number): StoredWill {
  const stored: StoredWill = { message: will.message, publishAt };
  if (will.messageExpiryInterval !== undefined) stored.messageExpiryInterval = will.messageExpiryInterval;
  return stored;
}
