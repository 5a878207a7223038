/** topicMatcher (src/protocol/topics.ts): the same answers as topicMatches, for every small filter and topic. */
import { describe, expect, test } from "bun:test";
import { isValidTopicFilter, isValidTopicName, topicMatcher, topicMatches } from "../../src/protocol/topics.ts";

/** Every string of 1..3 levels drawn from `levels`. */
function combinations(levels: string[]): string[] {
  const out: string[] = [];
  const grow = (prefix: string[]) => {
    if (prefix.length > 0) out.push(prefix.join("/"));
    if (prefix.length === 3) return;
    for (const level of levels) grow([...prefix, level]);
  };
  grow([]);
  return out;
}

const topics = combinations(["a", "b", "", "$s", "ab"]).filter(isValidTopicName);
const filters = combinations(["a", "b", "", "$s", "+", "#"]).filter(isValidTopicFilter);

describe("topicMatcher", () => {
  test(`agrees with topicMatches on ${filters.length} filters x ${topics.length} topics`, () => {
    const disagreements: string[] = [];
    let matching = 0;
    for (const filter of filters) {
      const matches = topicMatcher(filter);
      for (const topic of topics) {
        const expected = topicMatches(filter, topic);
        if (expected) matching++;
        if (matches(topic) !== expected) disagreements.push(`${filter} ~ ${topic}`);
      }
    }
    expect(disagreements).toEqual([]);
    // The universe covers both answers in numbers, not a few corner cases.
    expect(matching).toBeGreaterThan(1000);
    expect(filters.length * topics.length - matching).toBeGreaterThan(1000);
  });

  test("[v5 MQTT-4.7.2-1] [3.1.1 MQTT-4.7.2-1] a leading wildcard does not match a topic starting with $", () => {
    expect(topicMatcher("#")("$SYS/broker/uptime")).toBe(false);
    expect(topicMatcher("+/broker/uptime")("$SYS/broker/uptime")).toBe(false);
    expect(topicMatcher("$SYS/#")("$SYS/broker/uptime")).toBe(true);
    expect(topicMatcher("$SYS/+/uptime")("$SYS/broker/uptime")).toBe(true);
  });

  test("multi-level wildcard: the parent level and every level below it [§4.7.1.2]", () => {
    const matches = topicMatcher("sport/tennis/player1/#");
    for (const topic of ["sport/tennis/player1", "sport/tennis/player1/ranking", "sport/tennis/player1/score/wimbledon"]) {
      expect(matches(topic)).toBe(true);
    }
    expect(matches("sport/tennis/player10")).toBe(false);
    expect(matches("sport/tennis")).toBe(false);
  });

  test("single-level wildcard: exactly one level, possibly empty [§4.7.1.3]", () => {
    expect(topicMatcher("sport/+")("sport/")).toBe(true);
    expect(topicMatcher("sport/+")("sport")).toBe(false);
    expect(topicMatcher("sport/+")("sport/tennis/player1")).toBe(false);
    expect(topicMatcher("+/+")("/finance")).toBe(true);
    expect(topicMatcher("/+")("/finance")).toBe(true);
    expect(topicMatcher("+")("/finance")).toBe(false);
  });
});
