/**
 * ACL rules: checked in order, the first rule that applies to the client, covers the action and
 * matches the topic decides; when none does, the default does.
 *
 * Publishing: the rule's filter must match the topic name. Subscribing works as in Mosquitto: the
 * subscription is refused only when a deny rule covers the whole requested filter, or no allow rule
 * (nor the default) covers it (rule `a/#` covers `a/b/+`, rule `a/b` does not cover `a/#`). A deny
 * rule that covers only part of it (`secret/#` against a subscription to `#`) does not refuse it:
 * the subscription is granted with `checkEachMessage`, and each message it matches is checked with
 * `checkRead` at delivery, so `secret/x` is not delivered while everything else is. Subscriptions no
 * deny rule can reach (the common case) are never checked again.
 *
 * `%u` and `%c` are replaced by the user name and client id. A rule whose placeholder has no value,
 * or a value with `/`, `+` or `#` (which would widen the filter), does not apply if it allows, and
 * applies with a `+` in its place if it denies: a strange identity never gains access.
 */
import type { QoS } from "../model/message.ts";
import { topicMatches } from "../protocol/topics.ts";
import type { AclPermission, AclRule } from "./types.ts";

export interface AclClient {
  clientId: string;
  username?: string;
}

export interface SubscribeVerdict {
  allowed: boolean;
  /** Highest QoS the matching allow rule grants (2 when it sets none). */
  maxQos: QoS;
  /** The deciding rule's position in the list (undefined: the default decided). */
  rule?: number;
  /** Granted, but an earlier deny rule matches part of the filter: check each message with checkRead. */
  checkEachMessage?: boolean;
}

export interface PublishVerdict {
  allowed: boolean;
  rule?: number;
  /** Why an allow rule still refused: the QoS or the retain flag. */
  why?: string;
}

/** A rule as the CLI lists it: permission, action, who, topic, qualifiers. */
export function describeRule(rule: AclRule): string[] {
  const who = rule.username !== undefined
    ? `user ${rule.username}`
    : rule.clientId !== undefined
    ? `client ${rule.clientId}`
    : rule.anonymous
    ? "anonymous"
    : "everyone";
  const extra = [
    rule.maxQos !== undefined ? `maxQos=${rule.maxQos}` : "",
    rule.retain !== undefined ? `retain=${rule.retain}` : "",
  ].filter(Boolean).join(" ");
  return [rule.permission, rule.action, who, rule.topic, extra];
}

/** The rule in one line, e.g. "deny publish everyone secret/#". */
export const ruleText = (rule: AclRule): string => describeRule(rule).filter(Boolean).join(" ");

const UNSAFE = /[/+#]/;

function appliesTo(rule: AclRule, client: AclClient): boolean {
  if (rule.username !== undefined) return client.username === rule.username;
  if (rule.clientId !== undefined) return client.clientId === rule.clientId;
  if (rule.anonymous) return client.username === undefined;
  return true;
}

/** The rule's filter for this client, or undefined when it does not apply (see the note above). */
function filterFor(rule: AclRule, client: AclClient): string | undefined {
  if (!rule.topic.includes("%")) return rule.topic;
  let unsafe = false;
  const value = (v: string | undefined): string => {
    if (v === undefined || v === "" || UNSAFE.test(v)) {
      unsafe = true;
      return "+";
    }
    return v;
  };
  const filter = rule.topic.replace(/%[uc]/g, (p) => value(p === "%u" ? client.username : client.clientId));
  return unsafe && rule.permission === "allow" ? undefined : filter;
}

/** Does allow-filter `rule` match every topic that `requested` matches? */
export function filterCovers(rule: string, requested: string): boolean {
  const r = rule.split("/");
  const q = requested.split("/");
  for (let i = 0; i < r.length; i++) {
    if (r[i] === "#") return !(i === 0 && requested.startsWith("$") && !rule.startsWith("$"));
    if (i >= q.length) return false;
    if (q[i] === "#") return false;
    if (r[i] === "+") {
      if (i === 0 && q[i].startsWith("$")) return false;
      continue;
    }
    if (r[i] !== q[i]) return false;
  }
  return r.length === q.length;
}

/** Could some topic match both filters? */
export function filtersOverlap(a: string, b: string): boolean {
  const x = a.split("/");
  const y = b.split("/");
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === "#" || y[i] === "#") return true;
    if (i >= x.length || i >= y.length) return false;
    if (x[i] === "+" || y[i] === "+" || x[i] === y[i]) continue;
    return false;
  }
  return true;
}

export class Acl {
  constructor(readonly rules: readonly AclRule[], readonly defaultPermission: AclPermission) {}

  checkPublish(client: AclClient, topic: string, qos: QoS, retain: boolean): PublishVerdict {
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i];
      if (rule.action === "subscribe" || !appliesTo(rule, client)) continue;
      const filter = filterFor(rule, client);
      if (filter === undefined || !topicMatches(filter, topic)) continue;
      if (rule.permission === "deny") return { allowed: false, rule: i };
      if (rule.maxQos !== undefined && qos > rule.maxQos) return { allowed: false, rule: i, why: `QoS above ${rule.maxQos}` };
      if (rule.retain === false && retain) return { allowed: false, rule: i, why: "retained publishes not allowed" };
      return { allowed: true, rule: i };
    }
    return { allowed: this.defaultPermission === "allow" };
  }

  /**
   * Rules are read in order as for a topic: a rule after an allow rule that covers the whole filter
   * never decides for any topic the subscription matches, so only deny rules before it count.
   */
  checkSubscribe(client: AclClient, requested: string): SubscribeVerdict {
    let partlyDenied = false;
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i];
      if (rule.action === "publish" || !appliesTo(rule, client)) continue;
      const filter = filterFor(rule, client);
      if (filter === undefined) continue;
      if (rule.permission === "deny") {
        if (filterCovers(filter, requested)) return { allowed: false, maxQos: 0, rule: i };
        if (filtersOverlap(filter, requested)) partlyDenied = true;
      } else if (filterCovers(filter, requested)) {
        return this.granted(rule.maxQos ?? 2, i, partlyDenied);
      }
    }
    if (this.defaultPermission === "deny") return { allowed: false, maxQos: 0 };
    return this.granted(2, undefined, partlyDenied);
  }

  private granted(maxQos: QoS, rule: number | undefined, checkEachMessage: boolean): SubscribeVerdict {
    const verdict: SubscribeVerdict = { allowed: true, maxQos };
    if (rule !== undefined) verdict.rule = rule;
    if (checkEachMessage) verdict.checkEachMessage = true;
    return verdict;
  }

  /** May the client receive a message on `topic` (the subscribe rules, read as for a topic)? */
  checkRead(client: AclClient, topic: string): { allowed: boolean; rule?: number } {
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i];
      if (rule.action === "publish" || !appliesTo(rule, client)) continue;
      const filter = filterFor(rule, client);
      if (filter === undefined || !topicMatches(filter, topic)) continue;
      return { allowed: rule.permission === "allow", rule: i };
    }
    return { allowed: this.defaultPermission === "allow" };
  }
}
