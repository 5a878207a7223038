/**
 * Topic names and filters (MQTT 3.1.1 section 4.7, MQTT 5 section 4.7): validation, matching and
 * shared-subscription parsing. Strings here are already decoded and checked for UTF-8 validity.
 */

/** Longest topic accepted, in UTF-16 code units (the wire limit is 65,535 bytes). */
export const MAX_TOPIC_LENGTH = 65_535;

/** A PUBLISH topic: non-empty, no wildcards, no U+0000 [3.1.1 MQTT-4.7.3-1, MQTT-3.3.2-2, MQTT-4.7.3-2] [v5 MQTT-4.7.3-1, MQTT-3.3.2-2, MQTT-4.7.3-2]. */
export function isValidTopicName(topic: string): boolean {
  if (topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) return false;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x23 /* # */ || c === 0x2b /* + */ || c === 0) return false;
  }
  return true;
}

/** A subscription filter: `#` only last and alone in its level, `+` alone in its level [3.1.1 MQTT-4.7.1-2, MQTT-4.7.1-3] [v5 MQTT-4.7.1-1, MQTT-4.7.1-2]. */
export function isValidTopicFilter(filter: string): boolean {
  if (filter.length === 0 || filter.length > MAX_TOPIC_LENGTH || filter.includes("\u0000")) return false;
  const levels = filter.split("/");
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.includes("#") && (level !== "#" || i !== levels.length - 1)) return false;
    if (level.includes("+") && level !== "+") return false;
  }
  return true;
}

export function hasWildcard(filter: string): boolean {
  return filter.includes("+") || filter.includes("#");
}

export interface SharedFilter {
  shareName: string;
  filter: string;
}

/**
 * `$share/{ShareName}/{filter}` (MQTT 5 section 4.8.2). Returns null for a normal filter and
 * "invalid" for a malformed shared one (empty share name, wildcard in it, no filter).
 */
export function parseSharedFilter(filter: string): SharedFilter | null | "invalid" {
  if (!filter.startsWith("$share/")) return null;
  const rest = filter.slice("$share/".length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return "invalid";
  const shareName = rest.slice(0, slash);
  const inner = rest.slice(slash + 1);
  if (shareName.includes("+") || shareName.includes("#") || !isValidTopicFilter(inner)) return "invalid";
  return { shareName, filter: inner };
}

/** Does `filter` match `topic`? `$`-topics are not matched by a leading wildcard [3.1.1 MQTT-4.7.2-1] [v5 MQTT-4.7.2-1]. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length) return false;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * `topicMatches(filter, ·)` made once for many topics (a wildcard SUBSCRIBE over every retained
 * message): the filter is split once, and topics are compared in place instead of split each.
 */
export function topicMatcher(filter: string): (topic: string) => boolean {
  const leadingWildcard = filter.startsWith("+") || filter.startsWith("#");
  const levels = filter.split("/");
  const multiLevel = levels[levels.length - 1] === "#";
  if (!levels.includes("+")) {
    if (!multiLevel) return (topic) => topic === filter;
    // `a/b/#` is every topic under `a/b/`, and `a/b` itself (the parent level) [§4.7.1.2].
    const prefix = filter.slice(0, -1);
    const parent = filter.length > 1 ? filter.slice(0, -2) : undefined;
    return (topic) => {
      if (leadingWildcard && topic.startsWith("$")) return false;
      return topic.startsWith(prefix) || topic === parent;
    };
  }
  const fixed = multiLevel ? levels.length - 1 : levels.length; // levels before a trailing `#`
  return (topic) => {
    if (leadingWildcard && topic.startsWith("$")) return false;
    let start = 0; // where the topic's next level begins; topic.length + 1 once none is left
    for (let i = 0; i < fixed; i++) {
      if (start > topic.length) return false;
      let end = topic.indexOf("/", start);
      if (end < 0) end = topic.length;
      const level = levels[i];
      if (level !== "+" && (end - start !== level.length || !topic.startsWith(level, start))) return false;
      start = end + 1;
    }
    return multiLevel || start === topic.length + 1;
  };
}
