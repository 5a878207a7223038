/** Retained messages: one per topic; an empty payload deletes [v5 MQTT-3.3.1-5, MQTT-3.3.1-6, MQTT-3.3.1-7]. */
import { type CompactMessage, compactMessage, expiresAtOf, toMessage, toMessages } from "./compact-message.ts";
import type { Message } from "../model/message.ts";
import { hasWildcard, topicMatcher } from "../protocol/topics.ts";

const isSys = (topic: string) => topic.startsWith("$SYS/");

/**
 * Kept compact (src/core/compact-message.ts: most messages as one string holding QoS, publisher
 * and payload): a retained message may sit here for months, 100,000 of them on a gateway.
 * Reads hand out fresh Messages (a message with a large payload is kept, and read, as it came).
 */
export class RetainedStore {
  private readonly messages = new Map<string, CompactMessage>();
  /** Retained `$SYS/...` topics: the broker's own, not counted against maxRetainedMessages. */
  private sysTopics = 0;

  get size(): number {
    return this.messages.size;
  }

  /** Whether a retained message for `topic` fits under `limit` (0 = none): replacing one always does. */
  accepts(topic: string, limit: number): boolean {
    return limit === 0 || this.messages.size - this.sysTopics < limit || this.messages.has(topic);
  }

  /** Store or (empty payload) delete the retained message for `message.topic`. */
  set(message: Message): void {
    if (message.payload.length === 0) return this.delete(message.topic);
    if (isSys(message.topic) && !this.messages.has(message.topic)) this.sysTopics++;
    this.messages.set(message.topic, compactMessage(message));
  }

  /** The retained message of `topic` (not a filter), unless it expired. */
  get(topic: string, now: number): Message | undefined {
    const kept = this.messages.get(topic);
    return kept !== undefined && !this.expired(topic, kept, now) ? toMessage(topic, kept) : undefined;
  }

  /** Retained messages matching `filter`, dropping expired ones on the way. */
  match(filter: string, now: number): Message[] {
    if (!hasWildcard(filter)) {
      const message = this.get(filter, now);
      return message ? [message] : [];
    }
    const matches = topicMatcher(filter);
    const topics: string[] = [];
    const found: CompactMessage[] = [];
    for (const [topic, kept] of this.messages) {
      if (!matches(topic)) continue;
      if (this.expired(topic, kept, now)) continue;
      topics.push(topic);
      found.push(kept);
    }
    return toMessages(topics, found);
  }

  private delete(topic: string): void {
    if (this.messages.delete(topic) && isSys(topic)) this.sysTopics--;
  }

  private expired(topic: string, kept: CompactMessage, now: number): boolean {
    const expiresAt = expiresAtOf(kept);
    if (expiresAt === undefined || expiresAt > now) return false;
    this.delete(topic);
    return true;
  }
}
