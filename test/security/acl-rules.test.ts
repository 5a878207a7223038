/** ACL rule evaluation, address blocks and ban counting, without sockets. */
import { describe, expect, test } from "bun:test";
import { Acl, filterCovers, filtersOverlap } from "../../src/security/acl.ts";
import { BanList, WindowCounter } from "../../src/security/bans.ts";
import { MemorySecurityStore } from "../../src/security/memory-store.ts";
import type { AclRule } from "../../src/security/types.ts";
import { silentLogger } from "../../src/ports/logger.ts";

const alice = { clientId: "c1", username: "alice" };
const anon = { clientId: "c2" };

describe("ACL", () => {
  test("first match wins; the default applies when nothing matches", () => {
    const rules: AclRule[] = [
      { topic: "a/secret", action: "both", permission: "deny" },
      { topic: "a/#", action: "both", permission: "allow" },
    ];
    const acl = new Acl(rules, "deny");
    expect(acl.checkPublish(alice, "a/secret", 0, false)).toEqual({ allowed: false, rule: 0 });
    expect(acl.checkPublish(alice, "a/b", 0, false)).toEqual({ allowed: true, rule: 1 });
    expect(acl.checkPublish(alice, "b", 0, false)).toEqual({ allowed: false });
    expect(new Acl(rules, "allow").checkPublish(alice, "b", 0, false)).toEqual({ allowed: true });
  });

  test("who: username, client id, anonymous, everyone", () => {
    const acl = new Acl([
      { username: "alice", topic: "u", action: "publish", permission: "allow" },
      { clientId: "c2", topic: "c", action: "publish", permission: "allow" },
      { anonymous: true, topic: "anon", action: "publish", permission: "allow" },
    ], "deny");
    expect(acl.checkPublish(alice, "u", 0, false).allowed).toBe(true);
    expect(acl.checkPublish(anon, "u", 0, false).allowed).toBe(false);
    expect(acl.checkPublish(anon, "c", 0, false).allowed).toBe(true);
    expect(acl.checkPublish(anon, "anon", 0, false).allowed).toBe(true);
    expect(acl.checkPublish(alice, "anon", 0, false).allowed).toBe(false);
  });

  test("%u and %c; a missing or wildcard-bearing identity never widens an allow rule, and still meets a deny rule", () => {
    const acl = new Acl([
      { topic: "deny/%u/#", action: "both", permission: "deny" },
      { topic: "home/%u/#", action: "both", permission: "allow" },
      { topic: "dev/%c", action: "publish", permission: "allow" },
    ], "deny");
    expect(acl.checkPublish(alice, "home/alice/x", 0, false).allowed).toBe(true);
    expect(acl.checkPublish(alice, "home/bob/x", 0, false).allowed).toBe(false);
    expect(acl.checkPublish(anon, "home/undefined/x", 0, false).allowed).toBe(false);
    expect(acl.checkPublish({ clientId: "x", username: "#" }, "home/a/b", 0, false).allowed).toBe(false);
    expect(acl.checkPublish({ clientId: "a/b", username: "u" }, "dev/a/b", 0, false).allowed).toBe(false);
    expect(acl.checkPublish(anon, "deny/whoever/x", 0, false)).toEqual({ allowed: false, rule: 0 });
    expect(acl.checkSubscribe(alice, "home/alice/+")).toMatchObject({ allowed: true, rule: 1 });
  });

  test("allow rules: max QoS denies publishes above it and caps subscriptions; retain false denies retained publishes", () => {
    const acl = new Acl([{ topic: "t/#", action: "both", permission: "allow", maxQos: 1, retain: false }], "deny");
    expect(acl.checkPublish(alice, "t/1", 1, false).allowed).toBe(true);
    expect(acl.checkPublish(alice, "t/1", 2, false)).toMatchObject({ allowed: false, why: "QoS above 1" });
    expect(acl.checkPublish(alice, "t/1", 0, true)).toMatchObject({ allowed: false, why: "retained publishes not allowed" });
    expect(acl.checkSubscribe(alice, "t/+")).toEqual({ allowed: true, maxQos: 1, rule: 0 });
  });

  test("actions: a publish rule says nothing about subscribing and vice versa", () => {
    const acl = new Acl([{ topic: "t", action: "publish", permission: "allow" }], "deny");
    expect(acl.checkPublish(alice, "t", 0, false).allowed).toBe(true);
    expect(acl.checkSubscribe(alice, "t").allowed).toBe(false);
  });

  test("subscriptions (as Mosquitto): refused when a deny rule covers the whole filter or nothing allows it; a deny rule over part of it means each message is checked", () => {
    expect(filterCovers("a/#", "a/b/+")).toBe(true);
    expect(filterCovers("a/#", "a")).toBe(true); // a/# matches the parent level too
    expect(filterCovers("a/+", "a/b")).toBe(true);
    expect(filterCovers("a/b", "a/#")).toBe(false);
    expect(filterCovers("a/+", "a/#")).toBe(false);
    expect(filterCovers("#", "$SYS/x")).toBe(false);
    expect(filtersOverlap("secret/#", "#")).toBe(true);
    expect(filtersOverlap("a/+/c", "a/b/+")).toBe(true);
    expect(filtersOverlap("a/b", "a/c")).toBe(false);
    expect(filtersOverlap("a/b", "a/b/c")).toBe(false);
    const acl = new Acl([
      { topic: "secret/#", action: "subscribe", permission: "deny" },
      { topic: "#", action: "subscribe", permission: "allow" },
    ], "deny");
    expect(acl.checkSubscribe(alice, "#")).toEqual({ allowed: true, maxQos: 2, rule: 1, checkEachMessage: true });
    expect(acl.checkSubscribe(alice, "+/+")).toEqual({ allowed: true, maxQos: 2, rule: 1, checkEachMessage: true });
    expect(acl.checkSubscribe(alice, "public/+")).toEqual({ allowed: true, maxQos: 2, rule: 1 });
    expect(acl.checkSubscribe(alice, "secret/#")).toEqual({ allowed: false, maxQos: 0, rule: 0 });
    expect(acl.checkSubscribe(alice, "secret/+/x")).toEqual({ allowed: false, maxQos: 0, rule: 0 });
    // At delivery: the first rule that matches the topic decides.
    expect(acl.checkRead(alice, "secret/a")).toEqual({ allowed: false, rule: 0 });
    expect(acl.checkRead(alice, "public/a")).toEqual({ allowed: true, rule: 1 });
    // A deny rule after the covering allow rule never decides for any topic of the filter.
    const later = new Acl([
      { topic: "#", action: "subscribe", permission: "allow" },
      { topic: "secret/#", action: "subscribe", permission: "deny" },
    ], "deny");
    expect(later.checkSubscribe(alice, "#")).toEqual({ allowed: true, maxQos: 2, rule: 0 });
    // Default allow with one deny rule (the Paho suite's "refuse test/nosubscribe" setting).
    const paho = new Acl([{ topic: "test/nosubscribe", action: "subscribe", permission: "deny" }], "allow");
    expect(paho.checkSubscribe(alice, "#")).toEqual({ allowed: true, maxQos: 2, checkEachMessage: true });
    expect(paho.checkSubscribe(alice, "test/nosubscribe")).toEqual({ allowed: false, maxQos: 0, rule: 0 });
    expect(paho.checkSubscribe(alice, "other/#")).toEqual({ allowed: true, maxQos: 2 });
    expect(paho.checkRead(alice, "test/nosubscribe")).toEqual({ allowed: false, rule: 0 });
    expect(paho.checkRead(alice, "test/other")).toEqual({ allowed: true });
    // Default deny: a filter no allow rule covers is refused even where no deny rule reaches.
    const strict = new Acl([{ topic: "a/1", action: "subscribe", permission: "allow" }], "deny");
    expect(strict.checkSubscribe(alice, "a/+").allowed).toBe(false);
  });
});

describe("bans", () => {
  test("a window counter fires once when the threshold is reached, and starts over after the window", () => {
    const counter = new WindowCounter(3, 1000);
    expect([counter.hit("k", 0), counter.hit("k", 10), counter.hit("k", 20), counter.hit("k", 30)]).toEqual([false, false, true, false]);
    expect(counter.hit("k", 1000)).toBe(false);
    counter.prune(5000);
    expect(counter.size).toBe(0);
  });

  test("flapping and authentication failures ban, stored; bans match by client id, user name and block", async () => {
    const store = new MemorySecurityStore();
    const bans = new BanList(store, silentLogger, {
      flapping: { enabled: true, threshold: 2, window: 60, duration: 10 },
      authFailures: { enabled: true, threshold: 2, window: 60, duration: 10 },
      refreshInterval: 5,
    });
    expect(bans.connected("c", 0)).toBeUndefined();
    expect(bans.connected("c", 1)).toBeUndefined();
    expect(bans.connected("c", 2)).toMatchObject({ kind: "clientId", value: "c", expiresAt: 10_002 });
    expect(bans.find({ clientId: "c" }, 3)).toBeDefined();
    expect(bans.find({ clientId: "c" }, 10_002)).toBeUndefined(); // expired
    expect(bans.authenticationFailed("10.1.1.1", 0)).toBeUndefined();
    expect(bans.authenticationFailed("10.1.1.1", 1)).toMatchObject({ kind: "address", value: "10.1.1.1" });
    expect(bans.find({ address: "::ffff:10.1.1.1" }, 2)).toBeDefined();
    await store.addBan({ kind: "address", value: "192.168.0.0/16", reason: "cli", createdAt: 0, expiresAt: null });
    await store.addBan({ kind: "username", value: "eve", reason: "cli", createdAt: 0, expiresAt: null });
    await bans.refresh(3);
    expect(bans.find({ address: "192.168.44.2" }, 3)?.reason).toBe("cli");
    expect(bans.find({ clientId: "x", username: "eve" }, 3)?.kind).toBe("username");
    expect(bans.find({ clientId: "x", username: "bob", address: "172.16.0.1" }, 3)).toBeUndefined();
  });

  test("the counters track a bounded number of keys (random client ids cannot grow memory)", () => {
    const counter = new WindowCounter(5, 60_000);
    for (let i = 0; i < 100_010; i++) counter.hit(`id-${i}`, 0);
    expect(counter.size).toBe(100_000);
  });
});
