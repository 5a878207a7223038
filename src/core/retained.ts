/** Retained messages: one per topic; an empty payload deletes [MQTT-3.3.1-6, MQTT-3.3.1-7]. */
import type { Message } from "../hooks/types.ts";
import { hasWildcard, topicMatches } from "../protocol/topics.ts";

export class RetainedStore {
  private readonly messages = new Map<string, Message>();

  get size(): number {
    return this.messages.size;
  }

  /** Store or (empty payload) delete the retained message for `message.topic`. */
  set(message: Message): void {
    if (message.payload.length === 0) this.messages.delete(message.topic);
    else this.messages.set(message.topic, message);
  }

  /** Retained messages matching `filter`, dropping expired ones on the way. */
  match(filter: string, now: number): Message[] {
    if (!hasWildcard(filter)) {
      const message = this.messages.get(filter);
      return message && !this.expired(message, now) ? [message] : [];
    }
    const found: Message[] = [];
    for (const [topic, message] of this.messages) {
      if (!topicMatches(filter, topic)) continue;
      if (this.expired(message, now)) continue;
      found.push(message);
    }
    return found;
  }

  private expired(message: Message, now: number): boolean {
    if (message.expiresAt === undefined || message.expiresAt > now) return false;
    this.messages.delete(message.topic);
    return true;
  }
}
