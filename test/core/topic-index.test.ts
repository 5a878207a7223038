/**
 * Table-driven unit tests of the topic index (src/core/topic-index.ts), after Mochi-MQTT's
 * topics_test.go: which filters match which topic names, `$` topics, shared groups and their
 * rotation, overlapping subscriptions, removal with pruning, and counts. The index is the same for
 * both protocol versions; where a rule is a spec statement, both versions' ids are given (the
 * statements read the same in 3.1.1 and 5.0).
 */
import { describe, expect, test } from "bun:test";
import { type SharedGroup, type Subscription, TopicIndex } from "../../src/core/topic-index.ts";

function sub(clientId: string, key: string, o: Partial<Subscription> = {}): Subscription {
  const shared = /^\$share\/([^/]+)\/(.*)$/.exec(key);
  return {
    clientId,
    key,
    filter: shared ? shared[2] : key,
    ...(shared ? { shareName: shared[1] } : {}),
    qos: 1,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    ...o,
  };
}

/** What a publish to `topic` reaches: "client filter" for subscriptions, "share:filter [members]" for groups. */
function reached(index: TopicIndex, topic: string): { subscriptions: string[]; groups: string[] } {
  const subscriptions: string[] = [];
  const groups: string[] = [];
  index.match(topic, {
    subscription: (s) => subscriptions.push(`${s.clientId} ${s.key}`),
    sharedGroup: (g) => groups.push(`${g.shareName}:${g.filter} [${[...g.members.keys()].join(",")}]`),
  });
  return { subscriptions: subscriptions.sort(), groups: groups.sort() };
}

/** Nodes under the root: what pruning must give back. */
function nodeCount(index: TopicIndex): number {
  type Node = { children: Map<string, Node> };
  const count = (n: Node): number => [...n.children.values()].reduce((sum, c) => sum + 1 + count(c), 0);
  return count(index["root"] as Node);
}

describe("TopicIndex: matching", () => {
  // [filter, topic, matches]
  const table: Array<[string, string, boolean]> = [
    ["a/b", "a/b", true],
    ["a/b", "a/b/c", false],
    ["a/b", "a", false],
    ["a/b", "A/b", false], // case-sensitive
    ["a/b", "a/b/", false], // a trailing "/" is one more (empty) level
    ["a/+", "a/b", true],
    ["a/+", "a/", true], // "+" matches an empty level
    ["a/+", "a", false],
    ["a/+", "a/b/c", false],
    ["+", "a", true],
    ["+", "a/b", false],
    ["+/+", "/a", true], // the empty first level is a level
    ["/+", "/a", true],
    ["+/b/+", "a/b/c", true],
    ["a/+/c", "a/b/c", true],
    ["a/+/c", "a/b/d", false],
    ["#", "a", true],
    ["#", "a/b/c", true],
    ["#", "/", true],
    ["a/#", "a", true], // "#" also matches the parent level
    ["a/#", "a/b/c/d", true],
    ["a/#", "ab", false],
    ["a/b/#", "a/bb", false],
    ["a/+/#", "a/b", true],
    ["a/+/#", "a/b/c/d", true],
    ["a/+/#", "a", false],
    ["a/b/c", "a/b/c/d", false],
    ["a/b/c/d", "a/b/c", false],
  ];
  for (const [filter, topic, matches] of table) {
    test(`${filter.padEnd(7)} ${matches ? "matches" : "does not match"} ${topic}`, () => {
      const index = new TopicIndex();
      index.add(sub("c", filter));
      expect(reached(index, topic).subscriptions).toEqual(matches ? [`c ${filter}`] : []);
    });
  }
});

describe("TopicIndex: topics starting with $", () => {
  const table: Array<[string, string, boolean]> = [
    ["#", "$SYS/broker/uptime", false],
    ["+/broker/uptime", "$SYS/broker/uptime", false],
    ["+/#", "$SYS/x", false],
    ["$SYS/#", "$SYS/broker/uptime", true],
    ["$SYS/+/uptime", "$SYS/broker/uptime", true],
    ["$SYS", "$SYS", true],
    ["$SYS/#", "$SYS", true],
    ["a/#", "a/$x", true], // "$" only matters at the first level
    ["a/+", "a/$x", true],
    ["#", "x/$SYS", true],
    ["$share-like/+", "$share-like/x", true],
  ];
  for (const [filter, topic, matches] of table) {
    test(`[v5 MQTT-4.7.2-1] [3.1.1 MQTT-4.7.2-1] ${filter} ${matches ? "matches" : "does not match"} ${topic}`, () => {
      const index = new TopicIndex();
      index.add(sub("c", filter));
      expect(reached(index, topic).subscriptions).toEqual(matches ? [`c ${filter}`] : []);
    });
  }

  test("[v5 MQTT-4.7.2-1] shared subscriptions with a leading wildcard do not match $ topics either", () => {
    const index = new TopicIndex();
    index.add(sub("c", "$share/g/#"));
    index.add(sub("d", "$share/g/$SYS/#"));
    expect(reached(index, "$SYS/x").groups).toEqual(["g:$SYS/# [d]"]);
  });
});

describe("TopicIndex: overlapping subscriptions", () => {
  test("one client's overlapping filters are each visited (the router merges them)", () => {
    const index = new TopicIndex();
    for (const f of ["a/#", "a/+", "a/b", "+/b", "#", "a/c"]) index.add(sub("c", f));
    expect(reached(index, "a/b").subscriptions).toEqual(["c #", "c +/b", "c a/#", "c a/+", "c a/b"]);
  });

  test("several clients on one filter are each visited once", () => {
    const index = new TopicIndex();
    for (const id of ["x", "y", "z"]) index.add(sub(id, "s/+"));
    expect(reached(index, "s/1").subscriptions).toEqual(["x s/+", "y s/+", "z s/+"]);
  });

  test("a filter added again by the same client replaces its options, not adds a second entry", () => {
    const index = new TopicIndex();
    index.add(sub("c", "r", { qos: 0 }));
    index.add(sub("c", "r", { qos: 2, noLocal: true }));
    const seen: Subscription[] = [];
    index.match("r", { subscription: (s) => seen.push(s), sharedGroup: () => {} });
    expect(seen.map((s) => [s.qos, s.noLocal])).toEqual([[2, true]]);
    expect(index.size).toBe(1);
  });

  test("normal and shared subscriptions on the same filter are both reached", () => {
    const index = new TopicIndex();
    index.add(sub("n", "m/+"));
    index.add(sub("s1", "$share/g/m/+"));
    index.add(sub("s2", "$share/g/m/+"));
    index.add(sub("s3", "$share/h/m/#"));
    expect(reached(index, "m/1")).toEqual({ subscriptions: ["n m/+"], groups: ["g:m/+ [s1,s2]", "h:m/# [s3]"] });
  });
});

describe("TopicIndex: shared groups", () => {
  function group(index: TopicIndex, topic: string): SharedGroup {
    let found: SharedGroup | undefined;
    index.match(topic, { subscription: () => {}, sharedGroup: (g) => (found = g) });
    if (!found) throw new Error(`no shared group matches ${topic}`);
    return found;
  }
  /** Pick the first member of the rotation `n` times, advancing past each, as the router does. */
  function picks(g: SharedGroup, n: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const member = g.rotation().next().value as Subscription;
      out.push(member.clientId);
      g.advancePast(member);
    }
    return out;
  }

  test("the same filter under two share names is two groups; one name on two filters is two groups", () => {
    const index = new TopicIndex();
    index.add(sub("a", "$share/one/t/+"));
    index.add(sub("b", "$share/two/t/+"));
    index.add(sub("c", "$share/one/t/#"));
    expect(reached(index, "t/x").groups).toEqual(["one:t/# [c]", "one:t/+ [a]", "two:t/+ [b]"]);
  });

  test("round robin: members take turns in the order they joined", () => {
    const index = new TopicIndex();
    for (const id of ["a", "b", "c"]) index.add(sub(id, "$share/g/q"));
    expect(picks(group(index, "q"), 7)).toEqual(["a", "b", "c", "a", "b", "c", "a"]);
  });

  test("rotation lists every member once, starting after the last one picked (for skipping offline members)", () => {
    const index = new TopicIndex();
    for (const id of ["a", "b", "c"]) index.add(sub(id, "$share/g/q"));
    const g = group(index, "q");
    g.advancePast(g.members.get("b")!);
    expect([...g.rotation()].map((s) => s.clientId)).toEqual(["c", "a", "b"]);
  });

  test("a member leaving mid-rotation: the others keep taking turns", () => {
    const index = new TopicIndex();
    for (const id of ["a", "b", "c"]) index.add(sub(id, "$share/g/q"));
    const g = group(index, "q");
    expect(picks(g, 1)).toEqual(["a"]);
    index.remove(sub("b", "$share/g/q"));
    expect(picks(g, 4)).toEqual(["c", "a", "c", "a"]);
  });

  test("a client joining twice stays one member (its options replaced)", () => {
    const index = new TopicIndex();
    index.add(sub("a", "$share/g/q", { qos: 0 }));
    index.add(sub("a", "$share/g/q", { qos: 2 }));
    const g = group(index, "q");
    expect([...g.members.values()].map((s) => [s.clientId, s.qos])).toEqual([["a", 2]]);
    expect(index.size).toBe(1);
  });

  test("the last member leaving removes the group", () => {
    const index = new TopicIndex();
    index.add(sub("a", "$share/g/q"));
    index.add(sub("n", "q"));
    expect(index.remove(sub("a", "$share/g/q"))).toBe(true);
    expect(reached(index, "q")).toEqual({ subscriptions: ["n q"], groups: [] });
  });
});

describe("TopicIndex: removal, pruning and counts", () => {
  // [subscriptions added, removed, expected remove() results, size after, nodes after]
  const table: Array<[string, Array<[string, string]>, Array<[string, string]>, boolean[], number, number]> = [
    ["removing the only subscription prunes every node", [["c", "a/b/c"]], [["c", "a/b/c"]], [true], 0, 0],
    ["an unknown filter is not removed", [["c", "a/b"]], [["c", "a/x"]], [false], 1, 2],
    ["a filter that is a prefix of a subscribed one is not removed", [["c", "a/b"]], [["c", "a"]], [false], 1, 2],
    ["another client's subscription is not removed", [["c", "a"]], [["d", "a"]], [false], 1, 1],
    ["removing twice: true, then false", [["c", "a"]], [["c", "a"], ["c", "a"]], [true, false], 0, 0],
    ["a shared branch stays while another filter uses it", [["c", "a/b"], ["c", "a/c"]], [["c", "a/b"]], [true], 1, 2],
    ["a node with subscribers of its own is kept", [["c", "a"], ["c", "a/b"]], [["c", "a/b"]], [true], 1, 1],
    ["a node kept for its children loses only its subscriber", [["c", "a"], ["c", "a/b"]], [["c", "a"]], [true], 1, 2],
    ["shared members count and prune like the others", [["c", "$share/g/s/t"], ["d", "$share/g/s/t"]], [["c", "$share/g/s/t"], [
      "d",
      "$share/g/s/t",
    ]], [true, true], 0, 0],
    ["a shared member is not removed as a normal subscription", [["c", "$share/g/s"]], [["c", "s"]], [false], 1, 1],
    ["wildcard levels prune too", [["c", "+/#"], ["d", "+/+"]], [["c", "+/#"], ["d", "+/+"]], [true, true], 0, 0],
  ];
  for (const [title, added, removed, results, size, nodes] of table) {
    test(title, () => {
      const index = new TopicIndex();
      for (const [id, key] of added) index.add(sub(id, key));
      expect(index.size).toBe(added.length);
      expect(removed.map(([id, key]) => index.remove(sub(id, key)))).toEqual(results);
      expect(index.size).toBe(size);
      expect(nodeCount(index)).toBe(nodes);
    });
  }

  test("counts: normal subscriptions and shared members, re-adds not counted twice", () => {
    const index = new TopicIndex();
    const keys = ["a", "a/+", "#", "$share/g/a", "$share/h/a"];
    for (const id of ["x", "y"]) for (const key of keys) index.add(sub(id, key));
    for (const key of keys) index.add(sub("x", key));
    expect(index.size).toBe(10);
    for (const key of keys) index.remove(sub("x", key));
    expect(index.size).toBe(5);
    expect(reached(index, "a")).toEqual({ subscriptions: ["y #", "y a"], groups: ["g:a [y]", "h:a [y]"] });
  });
});
