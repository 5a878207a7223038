/**
 * The hook contract (src/hooks/types.ts, src/hooks/runner.ts), hook by hook, on the in-process
 * broker: when each hook is called, with what arguments, and what its answer does on the wire.
 * Decision hooks chain in registration order (constructor hooks, then addHooks): the first answer
 * that is not "defer" decides, the broker's default applies when all defer. Enhanced
 * authentication is in hooks-enhanced-auth.test.ts, hooks that throw in hooks-failures.test.ts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { AuthenticateRequest, ClientInfo, Decision, Hooks, Message, SubscriptionInfo } from "../../src/mod.ts";
import { type InProcessBroker, inProcessBroker, type InProcessOptions, type TestClient, type Version } from "../helpers/in-process.ts";

let b: InProcessBroker;
afterEach(async () => {
  await b.close();
});

const VERSIONS: Array<{ version: Version; name: string }> = [{ version: 5, name: "v5" }, { version: 4, name: "3.1.1" }];
const bytes = (s: string) => Array.from(new TextEncoder().encode(s));
const text = (payload: Uint8Array) => new TextDecoder().decode(payload);
/** The reason code of an ack, 0 when the short form left it out. */
const rc = (p: { reasonCode?: number }) => p.reasonCode ?? 0;
/** The CONNACK's reason code (v5) or return code (3.1.1). */
const connackCode = (client: TestClient, connack: { reasonCode?: number; returnCode?: number }) =>
  client.version === 5 ? connack.reasonCode : connack.returnCode;

function start(hooks: Hooks[], options: Omit<InProcessOptions, "hooks"> = {}): Promise<InProcessBroker> {
  return inProcessBroker({ ...options, hooks }).then((broker) => (b = broker));
}

/** A hook that records the calls of the given points as [point, ...args] and answers with `answers`. */
function recorder(id: string, answers: Partial<Hooks> = {}): Hooks & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  const hook: Hooks & { calls: unknown[][] } = { id, calls };
  const points = [
    "admitConnection", "authenticate", "authorizePublish", "authorizeSubscribe", "beforePublish",
    "onConnected", "onAuthenticationFailed", "onDisconnected", "onSubscribed", "onUnsubscribed", "onPublished", "onDelivered",
  ] as const;
  for (const point of points) {
    const answer = answers[point] as ((...args: unknown[]) => unknown) | undefined;
    (hook as unknown as Record<string, unknown>)[point] = (...args: unknown[]) => {
      calls.push([point, ...args]);
      if (answer) return answer(...args);
      if (point === "beforePublish") return args[1];
      if (point.startsWith("on")) return undefined;
      return "defer";
    };
  }
  return hook;
}

const pointsOf = (hook: { calls: unknown[][] }) => hook.calls.map((c) => c[0]);
const callsOf = (hook: { calls: unknown[][] }, point: string) => hook.calls.filter((c) => c[0] === point).map((c) => c.slice(1));

describe("admitConnection", () => {
  test("called once per new socket with its RemoteInfo, before any byte; deny closes it at once and logs", async () => {
    const seen: unknown[] = [];
    await start([{ id: "bans", admitConnection: (remote) => (seen.push(remote), remote.port === 50_001 ? "deny" : "allow") }]);
    const allowed = b.open();
    const banned = b.open();
    expect(seen).toEqual([allowed.transport.remote, banned.transport.remote]);
    expect(seen[0]).toEqual({ address: "127.0.0.1", port: 50_000, kind: "tcp" });
    expect(banned.closed).toBe(true);
    expect(b.logs.filter((l) => l.msg === "connection refused: address banned").map((l) => l.fields.remote)).toEqual(["127.0.0.1:50001"]);
    expect(connackCode(allowed, await allowed.connect({ clientId: "ok" }))).toBe(0);
    expect(b.broker.stats.clientsConnected).toBe(1);
  });

  test("every hook may refuse: a deny after another hook's allow still refuses; defer and allow admit", async () => {
    const order: string[] = [];
    const answer = (id: string, decision: (port: number) => Decision): Hooks => ({
      id,
      admitConnection: (remote) => (order.push(`${id}:${remote.port}`), decision(remote.port)),
    });
    await start([answer("first", () => "allow"), answer("second", (port) => (port === 50_000 ? "deny" : "defer"))]);
    const refused = b.open();
    const admitted = b.open();
    expect(order).toEqual(["first:50000", "second:50000", "first:50001", "second:50001"]);
    expect(refused.closed).toBe(true);
    expect(admitted.closed).toBe(false);
  });
});

describe("authenticate", () => {
  for (const { version, name } of VERSIONS) {
    test(`${name}: called once per CONNECT with client id, user name, password bytes, protocol version and remote`, async () => {
      const hook = recorder("auth");
      await start([hook]);
      const client = b.open(version);
      await client.connect({ clientId: "dev-1", username: "alice", password: "s3cret" });
      const calls = callsOf(hook, "authenticate");
      expect(calls.length).toBe(1);
      const request = calls[0][0] as AuthenticateRequest;
      expect(request.clientId).toBe("dev-1");
      expect(request.username).toBe("alice");
      expect(Array.from(request.password!)).toEqual(bytes("s3cret"));
      expect(request.protocolVersion).toBe(version);
      expect(request.remote).toEqual(client.transport.remote);
      expect(request.certificateAuthenticated).toBe(false);
    });
  }

  test("a CONNECT without user name and password: both undefined in the request", async () => {
    const hook = recorder("auth");
    await start([hook]);
    await b.connect({ version: 5, clientId: "anon" });
    const request = callsOf(hook, "authenticate")[0][0] as AuthenticateRequest;
    expect(request.username).toBeUndefined();
    expect(request.password).toBeUndefined();
  });

  test("hooks are asked in order until one does not defer: defer, allow, and the third is never asked", async () => {
    const asked: string[] = [];
    const answer = (id: string, decision: Decision): Hooks => ({ id, authenticate: () => (asked.push(id), decision) });
    await start([answer("first", "defer"), answer("second", "allow")], { mqtt: { allowAnonymous: false } });
    b.broker.addHooks(answer("third", "deny"));
    await b.connect({ version: 5, clientId: "chained", username: "u", password: "p" });
    expect(asked).toEqual(["first", "second"]);
  });

  test("an async answer (a promise) decides like a plain one", async () => {
    await start([{ id: "slow", authenticate: (r) => Promise.resolve(r.username === "ok" ? "allow" : "deny") }], {
      mqtt: { allowAnonymous: false },
    });
    await b.connect({ version: 5, clientId: "a", username: "ok", password: "x" });
    const refused = b.open(5);
    expect((await refused.connect({ clientId: "b", username: "nope", password: "x" })).reasonCode).toBe(0x86);
  });

  const denials = [
    { what: "with a password", login: { username: "u", password: "wrong" }, v5: 0x86, v311: 4 },
    { what: "with a user name only", login: { username: "u" }, v5: 0x87, v311: 5 },
    { what: "anonymous", login: {}, v5: 0x87, v311: 5 },
  ];
  for (const { version, name } of VERSIONS) {
    for (const denial of denials) {
      const expected = version === 5 ? `0x${denial.v5.toString(16)}` : `${denial.v311}`;
      test(`${name}: deny ${denial.what}: CONNACK ${expected}, later hooks not asked, onAuthenticationFailed gets the request`, async () => {
        const denier = recorder("denier", { authenticate: () => "deny" });
        const later = recorder("later", { authenticate: () => "allow" });
        await start([denier, later]);
        const client = b.open(version);
        const connack = await client.connect({ clientId: "refused", ...denial.login });
        expect(connackCode(client, connack)).toBe(version === 5 ? denial.v5 : denial.v311);
        expect(connack.sessionPresent).toBe(false);
        expect(client.closed).toBe(true);
        expect(callsOf(later, "authenticate")).toEqual([]);
        const [request] = callsOf(denier, "authenticate")[0];
        expect(callsOf(denier, "onAuthenticationFailed")).toEqual([[request]]);
        expect(callsOf(later, "onAuthenticationFailed")).toEqual([[request]]);
        expect(callsOf(denier, "onConnected")).toEqual([]);
        expect(callsOf(denier, "onDisconnected")).toEqual([]);
      });
    }
  }

  test("all hooks defer: the broker's default decides (anonymous allowed, or refused with 0x87 and onAuthenticationFailed)", async () => {
    const hook = recorder("defers");
    await start([hook, recorder("defers too")]);
    await b.connect({ version: 5, clientId: "anon-ok" });
    await b.close();

    const strict = recorder("defers");
    await start([strict], { mqtt: { allowAnonymous: false } });
    const client = b.open(5);
    expect((await client.connect({ clientId: "anon-refused" })).reasonCode).toBe(0x87);
    expect(callsOf(strict, "onAuthenticationFailed").length).toBe(1);
  });

  for (const { version, name } of VERSIONS) {
    const cited = version === 5 ? "[v5 MQTT-3.2.2-6] [v5 MQTT-3.2.2-7]" : "[3.1.1 MQTT-3.2.2-4] [3.1.1 MQTT-3.2.2-5]";
    test(`${cited} ${name}: a Refusal's reason code goes in the CONNACK (0x8A Banned; 3.1.1 Not authorized), then close; not an authentication failure`, async () => {
      const hook = recorder("bans", { authenticate: () => ({ decision: "deny", reasonCode: 0x8a, reason: "banned by operator" }) });
      await start([hook]);
      const client = b.open(version);
      const connack = await client.connect({ clientId: "banned", username: "u", password: "p" });
      expect(connackCode(client, connack)).toBe(version === 5 ? 0x8a : 5);
      if (version === 5) expect(connack.properties?.reasonString).toBe("banned by operator");
      expect(connack.sessionPresent).toBe(false);
      expect(client.closed).toBe(true);
      expect(callsOf(hook, "onAuthenticationFailed")).toEqual([]);
      expect(b.logs.find((l) => l.msg === "connection refused")?.fields).toMatchObject({ reason: "banned by operator", reasonCode: 0x8a });
    });
  }
});

describe("authorizePublish", () => {
  for (const { version, name } of VERSIONS) {
    test(`${name}: called per PUBLISH with the publisher's ClientInfo and the message (topic, payload, QoS, retain, origin)`, async () => {
      const hook = recorder("acl");
      await start([hook]);
      const { client } = await b.connect({ version, clientId: "pub", username: "alice" });
      await client.publish("plant/line1", "42", { qos: 1, retain: true });
      const [[info, message]] = callsOf(hook, "authorizePublish") as [[ClientInfo, Message]];
      expect(info).toEqual({ clientId: "pub", username: "alice", protocolVersion: version, remote: client.transport.remote });
      expect(message).toMatchObject({ topic: "plant/line1", qos: 1, retain: true, origin: "pub" });
      expect(text(message.payload)).toBe("42");
    });
  }

  test("v5: the message carries the PUBLISH properties and the expiry as an absolute deadline", async () => {
    const hook = recorder("acl");
    await start([hook]);
    const { client } = await b.connect({ version: 5, clientId: "pub" });
    await client.publish("t", "x", {
      qos: 1,
      properties: { contentType: "text/plain", messageExpiryInterval: 30, userProperties: { site: "north" } },
    });
    const [[, message]] = callsOf(hook, "authorizePublish") as [[ClientInfo, Message]];
    expect(message.properties).toEqual({ contentType: "text/plain", userProperties: [["site", "north"]] });
    expect(message.expiresAt).toBe(b.clock.now() + 30_000);
  });

  test("defer, then allow: delivered; the third hook is not asked", async () => {
    const third = recorder("third", { authorizePublish: () => "deny" });
    await start([recorder("first"), recorder("second", { authorizePublish: () => "allow" }), third]);
    const { client: sub } = await b.connect({ version: 5, clientId: "sub" });
    await sub.subscribe("t", { qos: 1 });
    const { client: pub } = await b.connect({ version: 5, clientId: "pub" });
    expect(rc((await pub.publish("t", "x", { qos: 1 }))!)).toBe(0);
    expect(text((await sub.expectPacket("publish")).payload)).toBe("x");
    expect(callsOf(third, "authorizePublish")).toEqual([]);
  });

  test("all defer: allowed (the broker's default)", async () => {
    await start([recorder("a"), recorder("b")]);
    const { client: sub } = await b.connect({ version: 5, clientId: "sub" });
    await sub.subscribe("t");
    const { client: pub } = await b.connect({ version: 5, clientId: "pub" });
    await pub.publish("t", "x");
    await sub.expectPacket("publish");
  });

  test("[v5 MQTT-3.4.2-1] v5: deny answers PUBACK 0x87 / PUBREC 0x87; nothing is delivered or retained, no onPublished", async () => {
    const hook = recorder("acl", { authorizePublish: () => "deny" });
    await start([hook]);
    const { client: sub } = await b.connect({ version: 5, clientId: "sub" });
    await sub.subscribe("t", { qos: 2 });
    const { client: pub } = await b.connect({ version: 5, clientId: "pub" });
    expect(rc((await pub.publish("t", "one", { qos: 1, retain: true }))!)).toBe(0x87);
    pub.send({ cmd: "publish", topic: "t", payload: Buffer.from("two"), qos: 2, retain: false, dup: false, messageId: 77 });
    const pubrec = await pub.expectPacket("pubrec");
    expect([pubrec.messageId, rc(pubrec)]).toEqual([77, 0x87]);
    await sub.expectNoPacket();
    expect(b.broker.retainedMessage("t")).toBeUndefined();
    expect(callsOf(hook, "onPublished")).toEqual([]);
    expect(b.logs.filter((l) => l.msg === "publish denied").length).toBe(2);
  });

  test("[3.1.1 MQTT-3.3.5-2] 3.1.1: deny completes the QoS 1 and 2 flows as usual and drops the message; the connection stays", async () => {
    await start([recorder("acl", { authorizePublish: () => "deny" })]);
    const { client: sub } = await b.connect({ clientId: "sub" });
    await sub.subscribe("t", { qos: 2 });
    const { client: pub } = await b.connect({ clientId: "pub" });
    expect((await pub.publish("t", "one", { qos: 1 }))?.cmd).toBe("puback");
    expect((await pub.publish("t", "two", { qos: 2 }))?.cmd).toBe("pubcomp");
    await pub.publish("t", "zero");
    await sub.expectNoPacket();
    pub.pingreq();
    await pub.expectPacket("pingresp");
  });
});

describe("authorizeSubscribe", () => {
  test("v5: called per filter with the subscriber's ClientInfo and SubscriptionInfo (options, identifier, share name)", async () => {
    const hook = recorder("acl");
    await start([hook]);
    const { client } = await b.connect({ version: 5, clientId: "sub", username: "bob" });
    await client.subscribe(
      [{ topic: "a/#", qos: 1, nl: true, rap: true, rh: 2 }, { topic: "$share/grp/b/+", qos: 2, rh: 0 }],
      { properties: { subscriptionIdentifier: 7 } },
    );
    const calls = callsOf(hook, "authorizeSubscribe") as Array<[ClientInfo, SubscriptionInfo]>;
    expect(calls.map(([info]) => info)).toEqual([0, 1].map(() => ({ clientId: "sub", username: "bob", protocolVersion: 5, remote: client.transport.remote })));
    expect(calls.map(([, s]) => s)).toEqual([
      { filter: "a/#", qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionIdentifier: 7 },
      { filter: "b/+", shareName: "grp", qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionIdentifier: 7 },
    ]);
  });

  test("3.1.1: the SubscriptionInfo has the QoS and every v5 option at its default", async () => {
    const hook = recorder("acl");
    await start([hook]);
    const { client } = await b.connect({ clientId: "sub" });
    await client.subscribe("a/+", { qos: 2 });
    expect(callsOf(hook, "authorizeSubscribe").map(([, s]) => s)).toEqual([
      { filter: "a/+", qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 },
    ]);
  });

  for (const { version, name } of VERSIONS) {
    const failure = version === 5 ? "0x87" : "0x80";
    const cited = version === 5 ? "[v5 MQTT-3.9.3-2]" : "[3.1.1 MQTT-3.9.3-2]";
    test(`${cited} ${name}: deny gives SUBACK ${failure} for that filter only; defer chains; all defer grants; no onSubscribed for the denied one`, async () => {
      const first = recorder("first", { authorizeSubscribe: (_c, s) => (s.filter === "secret/#" ? "deny" : "defer") });
      const second = recorder("second", { authorizeSubscribe: (_c, s) => (s.filter === "open/#" ? "allow" : "defer") });
      await start([first, second]);
      const { client } = await b.connect({ version, clientId: "sub" });
      const suback = await client.subscribe([{ topic: "open/#", qos: 1 }, { topic: "secret/#", qos: 1 }, { topic: "other", qos: 2 }]);
      expect(suback.granted).toEqual([1, version === 5 ? 0x87 : 0x80, 2]);
      expect(callsOf(second, "authorizeSubscribe").map(([, s]) => (s as SubscriptionInfo).filter)).toEqual(["open/#", "other"]);
      expect(callsOf(first, "onSubscribed").map(([, s]) => (s as SubscriptionInfo).filter)).toEqual(["open/#", "other"]);
      expect(b.broker.listSubscriptions().items.map((s) => s.filter).sort()).toEqual(["open/#", "other"]);
      expect(b.logs.filter((l) => l.msg === "subscription denied").map((l) => l.fields.filter)).toEqual(["secret/#"]);
    });
  }

  for (const { version, name } of VERSIONS) {
    const cited = version === 5 ? "[v5 MQTT-3.8.4-8] " : "";
    test(`${cited}${name}: GrantAtMost caps the SUBACK QoS, deliveries and what onSubscribed sees; a lower request stays as asked`, async () => {
      const hook = recorder("acl", { authorizeSubscribe: () => ({ decision: "allow", maxQos: 1 }) });
      await start([hook]);
      const { client: sub } = await b.connect({ version, clientId: "sub" });
      expect((await sub.subscribe([{ topic: "high", qos: 2 }, { topic: "low", qos: 0 }])).granted).toEqual([1, 0]);
      expect(callsOf(hook, "onSubscribed").map(([, s]) => (s as SubscriptionInfo).qos)).toEqual([1, 0]);
      const { client: pub } = await b.connect({ version, clientId: "pub" });
      await pub.publish("high", "x", { qos: 2 });
      expect((await sub.expectPacket("publish")).qos).toBe(1);
    });
  }
});

describe("beforePublish", () => {
  test("gets the publisher's ClientInfo (undefined for broker.publish) and may transform: the next hook and subscribers see the result", async () => {
    const rewrite = recorder("rewrite", {
      beforePublish: (_c, m) => ({ ...m, topic: `site/${m.topic}`, payload: new TextEncoder().encode(`[${text(m.payload)}]`) }),
    });
    const second = recorder("second");
    await start([rewrite, second]);
    const { client: sub } = await b.connect({ version: 5, clientId: "sub" });
    await sub.subscribe("site/#", { qos: 1 });
    const { client: pub } = await b.connect({ version: 4, clientId: "pub", username: "p" });
    await pub.publish("t", "raw", { qos: 1 });
    b.broker.publish({ topic: "in-process", payload: "local" });
    await b.settle();

    const calls = callsOf(rewrite, "beforePublish") as Array<[ClientInfo | undefined, Message]>;
    expect(calls.map(([c]) => c)).toEqual([{ clientId: "pub", username: "p", protocolVersion: 4, remote: pub.transport.remote }, undefined]);
    expect(calls.map(([, m]) => [m.topic, text(m.payload)])).toEqual([["t", "raw"], ["in-process", "local"]]);
    expect(callsOf(second, "beforePublish").map(([, m]) => (m as Message).topic)).toEqual(["site/t", "site/in-process"]);
    const delivered = [await sub.expectPacket("publish"), await sub.expectPacket("publish")];
    expect(delivered.map((p) => [p.topic, String(p.payload)])).toEqual([["site/t", "[raw]"], ["site/in-process", "[local]"]]);
  });

  test("a transformed retained message is what the broker keeps", async () => {
    await start([{ id: "stamp", beforePublish: (_c, m) => ({ ...m, properties: { ...m.properties, contentType: "stamped" } }) }]);
    const { client: pub } = await b.connect({ version: 5, clientId: "pub" });
    await pub.publish("r", "v", { qos: 1, retain: true });
    expect(b.broker.retainedMessage("r")?.properties.contentType).toBe("stamped");
  });

  test("null drops the message: later hooks are not asked, nothing is delivered or retained, no onPublished; v5 PUBACK 0x10", async () => {
    const dropper = recorder("dropper", { beforePublish: (_c, m) => (m.topic === "drop" ? null : m) });
    const later = recorder("later");
    await start([dropper, later]);
    const { client: sub } = await b.connect({ version: 5, clientId: "sub" });
    await sub.subscribe("#");
    const { client: pub } = await b.connect({ version: 5, clientId: "pub" });
    expect(rc((await pub.publish("drop", "x", { qos: 1, retain: true }))!)).toBe(0x10);
    expect(b.broker.publish({ topic: "drop", payload: "y" })).toBe(0);
    await sub.expectNoPacket();
    expect(b.broker.retainedMessage("drop")).toBeUndefined();
    expect(callsOf(later, "beforePublish")).toEqual([]);
    expect(callsOf(dropper, "onPublished")).toEqual([]);
    await pub.publish("keep", "z");
    expect((await sub.expectPacket("publish")).topic).toBe("keep");
  });
});

describe("observers", () => {
  test("onConnected: the ClientInfo and Session Present, after the CONNACK; false for a new session, true when resumed", async () => {
    const hook = recorder("watch");
    await start([hook]);
    const { client } = await b.connect({ version: 5, clientId: "dev", username: "u", clean: false, properties: { sessionExpiryInterval: 60 } });
    const info = { clientId: "dev", username: "u", protocolVersion: 5, remote: client.transport.remote };
    expect(callsOf(hook, "onConnected")).toEqual([[info, false]]);
    await client.disconnect();
    const { client: again } = await b.connect({ version: 5, clientId: "dev", username: "u", clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(callsOf(hook, "onConnected")[1]).toEqual([{ ...info, remote: again.transport.remote }, true]);
  });

  test("onConnected is not called for a refused CONNECT; onDisconnected only for connections that were connected", async () => {
    const hook = recorder("watch", { authenticate: (r) => (r.clientId === "bad" ? "deny" : "defer") });
    await start([hook]);
    await b.open(5).connect({ clientId: "bad" });
    b.open(5).transport.drop(); // closed before any CONNECT
    await b.settle();
    expect(callsOf(hook, "onConnected")).toEqual([]);
    expect(callsOf(hook, "onDisconnected")).toEqual([]);
  });

  for (const { version, name } of VERSIONS) {
    test(`${name}: onDisconnected once with the ClientInfo, on DISCONNECT, on a dropped connection, and for a session taken over`, async () => {
      const hook = recorder("watch");
      await start([hook]);
      const { client: polite } = await b.connect({ version, clientId: "polite" });
      await polite.disconnect();
      const { client: dropped } = await b.connect({ version, clientId: "dropped" });
      await dropped.drop();
      const { client: old } = await b.connect({ version, clientId: "twin" });
      await b.connect({ version, clientId: "twin" });
      expect(old.closed).toBe(true);
      const infos = callsOf(hook, "onDisconnected").map(([info, reason]) => [(info as ClientInfo).clientId, (info as ClientInfo).remote.port, reason]);
      expect(infos).toEqual([
        ["polite", polite.transport.remote.port, "closed"],
        ["dropped", dropped.transport.remote.port, "closed"],
        ["twin", old.transport.remote.port, "closed"],
      ]);
    });
  }

  test("onSubscribed per granted filter with the SubscriptionInfo; onUnsubscribed with the filter as sent, only when one was removed", async () => {
    const hook = recorder("watch");
    await start([hook]);
    const { client } = await b.connect({ version: 5, clientId: "sub" });
    await client.subscribe([{ topic: "$share/g/x/#", qos: 1 }, { topic: "y", qos: 0, rap: true }]);
    const info = { clientId: "sub", protocolVersion: 5, remote: client.transport.remote, username: undefined };
    expect(callsOf(hook, "onSubscribed")).toEqual([
      [info, { filter: "x/#", shareName: "g", qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
      [info, { filter: "y", qos: 0, noLocal: false, retainAsPublished: true, retainHandling: 0 }],
    ]);
    client.send({ cmd: "unsubscribe", messageId: client.packetId(), unsubscriptions: ["$share/g/x/#", "never-subscribed"] });
    expect((await client.expectPacket("unsuback")).granted).toEqual([0x00, 0x11]);
    expect(callsOf(hook, "onUnsubscribed")).toEqual([[info, "$share/g/x/#"]]);
  });

  test("onPublished after routing, with the publisher's ClientInfo (undefined in-process) and the routed message, also with no subscriber", async () => {
    const hook = recorder("watch", { beforePublish: (_c, m) => ({ ...m, topic: `x/${m.topic}` }) });
    await start([hook]);
    const { client: pub } = await b.connect({ version: 5, clientId: "pub" });
    await pub.publish("t", "a", { qos: 1 });
    b.broker.publish({ topic: "local", payload: "b" });
    const calls = callsOf(hook, "onPublished") as Array<[ClientInfo | undefined, Message]>;
    expect(calls.map(([c, m]) => [c?.clientId, m.topic, text(m.payload)])).toEqual([["pub", "x/t", "a"], [undefined, "x/local", "b"]]);
    expect(pointsOf(hook).filter((p) => p === "beforePublish" || p === "onPublished")).toEqual([
      "beforePublish", "onPublished", "beforePublish", "onPublished",
    ]);
  });

  test("onDelivered: once per subscriber as the PUBLISH is sent, with the subscriber's ClientInfo and the message; a queued message when it goes out", async () => {
    const hook = recorder("watch");
    await start([hook]);
    const { client: live } = await b.connect({ version: 4, clientId: "live" });
    await live.subscribe("t", { qos: 1 });
    const { client: away } = await b.connect({ version: 5, clientId: "away", clean: false, properties: { sessionExpiryInterval: 60 } });
    await away.subscribe("t", { qos: 1 });
    await away.drop();
    const { client: pub } = await b.connect({ version: 5, clientId: "pub" });
    await pub.publish("t", "m", { qos: 1 });
    await live.expectPacket("publish");
    const delivered = () => callsOf(hook, "onDelivered") as Array<[ClientInfo, Message]>;
    expect(delivered().map(([c, m]) => [c.clientId, c.protocolVersion, m.topic, text(m.payload), m.origin])).toEqual([["live", 4, "t", "m", "pub"]]);

    const { client: back } = await b.connect({ version: 5, clientId: "away", clean: false, properties: { sessionExpiryInterval: 60 } });
    await back.expectPacket("publish");
    expect(delivered().map(([c]) => [c.clientId, c.remote.port])).toEqual([["live", live.transport.remote.port], ["away", back.transport.remote.port]]);
  });

  test("a retained message sent on SUBSCRIBE is delivered (onDelivered) but not published again (no onPublished)", async () => {
    const hook = recorder("watch");
    await start([hook]);
    b.broker.publish({ topic: "r", payload: "kept", retain: true });
    const { client } = await b.connect({ version: 5, clientId: "late" });
    await client.subscribe("r");
    expect((await client.expectPacket("publish")).retain).toBe(true);
    expect(callsOf(hook, "onPublished").length).toBe(1);
    expect(callsOf(hook, "onDelivered").map(([c, m]) => [(c as ClientInfo).clientId, (m as Message).topic])).toEqual([["late", "r"]]);
  });

  test("hooks added with addHooks are called after the constructor's, in the order added", async () => {
    const order: string[] = [];
    const hook = (id: string): Hooks => ({ id, onConnected: () => order.push(id) });
    await start([hook("given")]);
    b.broker.addHooks(hook("added 1"));
    b.broker.addHooks(hook("added 2"));
    await b.connect({ clientId: "c" });
    expect(order).toEqual(["given", "added 1", "added 2"]);
  });
});
