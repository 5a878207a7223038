/**
 * Topic mapping between the local broker and an upstream: a rule maps a filter on one side to a
 * filter on the other by swapping their fixed prefixes (the levels before the first wildcard),
 * as Mosquitto's `topic pattern out 1 local-prefix remote-prefix` does:
 * `plant/#` -> `site17/plant/#` sends local `plant/line1/temp` as `site17/plant/line1/temp`.
 */
import { isValidTopicFilter, topicMatches } from "../protocol/topics.ts";

export interface TopicMapping {
  /** Filter on the side messages come from. */
  readonly from: string;
  /** Filter on the side they go to. */
  readonly to: string;
  readonly qos: 0 | 1 | 2;
}

/** The fixed prefix of a filter and the wildcard part after it. */
function split(filter: string): { prefix: string; rest: string } {
  const levels = filter.split("/");
  const first = levels.findIndex((level) => level === "+" || level === "#");
  if (first === -1) return { prefix: filter, rest: "" };
  return { prefix: levels.slice(0, first).map((l) => l + "/").join(""), rest: levels.slice(first).join("/") };
}

/** Why a rule cannot work, or undefined when it is fine. */
export function checkMapping(from: string, to: string): string | undefined {
  if (!isValidTopicFilter(from)) return `"${from}" is not a valid topic filter`;
  if (!isValidTopicFilter(to)) return `"${to}" is not a valid topic filter`;
  if (split(from).rest !== split(to).rest) {
    return `"${from}" and "${to}" must end in the same wildcard part (only the prefix before it is swapped)`;
  }
  return undefined;
}

/** The topic on the other side, or undefined when `topic` does not match the rule. */
export function mapTopic(mapping: TopicMapping, topic: string): string | undefined {
  if (!topicMatches(mapping.from, topic)) return undefined;
  const from = split(mapping.from).prefix;
  const to = split(mapping.to).prefix;
  if (split(mapping.from).rest === "") return mapping.to; // exact topic
  // `plant/#` also matches `plant` itself: that maps to the other prefix without its slash.
  if (topic.length < from.length) return to.slice(0, -1);
  return to + topic.slice(from.length);
}

/** The first rule matching `topic`, with the mapped topic. */
export function firstMatch(mappings: readonly TopicMapping[], topic: string): { mapping: TopicMapping; topic: string } | undefined {
  for (const mapping of mappings) {
    const mapped = mapTopic(mapping, topic);
    if (mapped !== undefined) return { mapping, topic: mapped };
  }
  return undefined;
}
