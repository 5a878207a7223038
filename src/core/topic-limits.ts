/**
 * Operator limits on topic names and filters (mqtt.maxTopicLevels, mqtt.maxTopicLength).
 *
 * These run on every inbound PUBLISH, so the common case costs a comparison or two: the exact
 * UTF-8 length is computed only when the UTF-16 length cannot decide it, and '/' is counted only
 * when the topic is long enough to hold too many levels.
 */

export interface TopicLimits {
  /** Most levels ("a/b/c" has 3). */
  maxTopicLevels: number;
  /** Most bytes, UTF-8 encoded. */
  maxTopicLength: number;
}

/** Why a topic is over the limits, or null when it is within them. */
export type TopicLimitViolation = "length" | "levels" | null;

export function checkTopicLimits(topic: string, limits: TopicLimits): TopicLimitViolation {
  const units = topic.length;
  // A UTF-16 code unit encodes to 1..3 UTF-8 bytes (a surrogate pair, two units, to 4).
  if (units > limits.maxTopicLength) return "length";
  if (units * 3 > limits.maxTopicLength && utf8Length(topic) > limits.maxTopicLength) return "length";
  // n characters hold at most n + 1 levels.
  if (units < limits.maxTopicLevels) return null;
  let levels = 1;
  for (let i = topic.indexOf("/"); i !== -1; i = topic.indexOf("/", i + 1)) {
    if (++levels > limits.maxTopicLevels) return "levels";
  }
  return null;
}

/**
 * The limits on a SUBSCRIBE or UNSUBSCRIBE filter. For `$share/{shareName}/{filter}` levels and
 * length count on the filter part (a client may subscribe to whatever it may publish to, shared or
 * not), and the share name may be no longer than maxTopicLength either: without that, a 64 KiB
 * share name slipped past the limit into memory and the store.
 */
export function checkFilterLimits(
  filter: string,
  shared: { shareName: string; filter: string } | null,
  limits: TopicLimits,
): TopicLimitViolation {
  if (!shared) return checkTopicLimits(filter, limits);
  const nameTooLong = checkTopicLimits(shared.shareName, limits) === "length"; // a share name has one level
  return nameTooLong ? "length" : checkTopicLimits(shared.filter, limits);
}

/** A readable reason for logs and reason strings. */
export function describeViolation(violation: "length" | "levels", limits: TopicLimits): string {
  return violation === "length"
    ? `topic longer than ${limits.maxTopicLength} bytes`
    : `topic has more than ${limits.maxTopicLevels} levels`;
}

function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      bytes += 4; // a surrogate pair is one code point
      i++;
    } else bytes += 3;
  }
  return bytes;
}
