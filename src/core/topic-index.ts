/**
 * Topic index: a trie of subscription filters, one node per topic level.
 *
 * Design note: each node keeps normal subscriptions (by client id) and shared subscriptions
 * (by share name, each a group of members) in separate buckets, as Mochi-MQTT does, so a
 * publish walks the trie once and gets both. `+` and `#` are ordinary child keys; matching
 * follows the literal level, `+` and `#` at each depth. Topics starting with `$` are not matched
 * by a wildcard in the first level [3.1.1 MQTT-4.7.2-1] [v5 MQTT-4.7.2-1].
 */
import type { Subscription } from "../model/subscription.ts";

export type { Subscription };

/** Members of one `$share/name/filter` group, with a round-robin cursor. */
export class SharedGroup {
  readonly members = new Map<string, Subscription>();
  private cursor = 0;

  constructor(readonly shareName: string, readonly filter: string) {}

  /** Members in round-robin order starting after the last one picked. */
  *rotation(): Generator<Subscription> {
    const list = [...this.members.values()];
    for (let i = 0; i < list.length; i++) yield list[(this.cursor + i) % list.length];
  }

  advancePast(member: Subscription): void {
    const list = [...this.members.values()];
    this.cursor = (list.indexOf(member) + 1) % Math.max(1, list.length);
  }
}

class TrieNode {
  readonly children = new Map<string, TrieNode>();
  readonly subscribers = new Map<string, Subscription>();
  readonly shared = new Map<string, SharedGroup>();

  get isEmpty(): boolean {
    return this.children.size === 0 && this.subscribers.size === 0 && this.shared.size === 0;
  }
}

export interface MatchVisitor {
  subscription(subscription: Subscription): void;
  sharedGroup(group: SharedGroup): void;
}

export class TopicIndex {
  private readonly root = new TrieNode();
  private count = 0;

  /** Number of subscriptions (normal and shared members). */
  get size(): number {
    return this.count;
  }

  add(subscription: Subscription): void {
    let node = this.root;
    for (const level of subscription.filter.split("/")) {
      let child = node.children.get(level);
      if (!child) {
        child = new TrieNode();
        node.children.set(level, child);
      }
      node = child;
    }
    if (subscription.shareName === undefined) {
      if (!node.subscribers.has(subscription.clientId)) this.count++;
      node.subscribers.set(subscription.clientId, subscription);
      return;
    }
    let group = node.shared.get(subscription.shareName);
    if (!group) {
      group = new SharedGroup(subscription.shareName, subscription.filter);
      node.shared.set(subscription.shareName, group);
    }
    if (!group.members.has(subscription.clientId)) this.count++;
    group.members.set(subscription.clientId, subscription);
  }

  remove(subscription: Pick<Subscription, "clientId" | "filter" | "shareName">): boolean {
    const path: TrieNode[] = [this.root];
    const levels = subscription.filter.split("/");
    for (const level of levels) {
      const child = path[path.length - 1].children.get(level);
      if (!child) return false;
      path.push(child);
    }
    const node = path[path.length - 1];
    let removed: boolean;
    if (subscription.shareName === undefined) {
      removed = node.subscribers.delete(subscription.clientId);
    } else {
      const group = node.shared.get(subscription.shareName);
      removed = group?.members.delete(subscription.clientId) ?? false;
      if (group && group.members.size === 0) node.shared.delete(subscription.shareName);
    }
    if (removed) this.count--;
    // Prune empty nodes so the trie does not keep every filter ever used.
    for (let i = path.length - 1; i > 0 && path[i].isEmpty; i--) {
      path[i - 1].children.delete(levels[i - 1]);
    }
    return removed;
  }

  match(topic: string, visitor: MatchVisitor): void {
    const levels = topic.split("/");
    this.walk(this.root, levels, 0, topic.startsWith("$"), visitor);
  }

  private walk(node: TrieNode, levels: string[], depth: number, dollar: boolean, visitor: MatchVisitor): void {
    const wildcardAllowed = !(dollar && depth === 0);
    const hash = wildcardAllowed ? node.children.get("#") : undefined;
    if (hash) this.visit(hash, visitor);
    if (depth === levels.length) {
      this.visit(node, visitor);
      return;
    }
    const exact = node.children.get(levels[depth]);
    if (exact) this.walk(exact, levels, depth + 1, dollar, visitor);
    const plus = wildcardAllowed ? node.children.get("+") : undefined;
    if (plus) this.walk(plus, levels, depth + 1, dollar, visitor);
  }

  private visit(node: TrieNode, visitor: MatchVisitor): void {
    for (const subscription of node.subscribers.values()) visitor.subscription(subscription);
    for (const group of node.shared.values()) visitor.sharedGroup(group);
  }
}
