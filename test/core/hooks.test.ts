/**
 * The hook contract (src/hooks/types.ts, src/hooks/runner.ts), decision hooks one by one, on the
 * in-process broker: when each is called, with what arguments, and what its answer does on the
 * wire. Decisions chain in registration order (constructor hooks, then addHooks): the first answer
 * that is not "defer" decides, the broker's default applies when all defer. beforePublish and the
 * observers are in hooks-observers.test.ts, enhanced authentication in hooks-enhanced-auth.test.ts,
 * hooks that throw in hooks-failures.test.ts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { AuthenticateRequest, ClientInfo, Decision, Hooks, Message, SubscriptionInfo } from "../../src/mod.ts";
import { bytes, callsOf, connackCode, rc, recorder, text, VERSIONS } from "../helpers/hooks.ts";
import { type InProcessBroker, inProcessBroker, type InProcessOptions } from "../helpers/in-process.ts";

let b: InProcessBroker;
afterEach(async () => {
  await b.close();
});

function start(hooks: Hooks[], options: Omit<InProcessOptions, "hooks"> = {}): Promise<InProcessBroker> {
  return inProcessBroker({ ...options, hooks }).then((broker) => (b = broker));
}

describe("admitConnection", () => {
  test("called once per new socket with its RemoteInfo, before any byte; deny closes it at once and logs", async () => {
    const seen: unknown[] = [];
    await start([{
      id: "bans",
      admitConnection: (remote) => (seen.push(remote), remote.port === 50_001 ? "deny" : "allow"),
    }]);
    const allowed = b.open();
    const banned = b.open();
    expect(seen).toEqual([allowed.transport.remote, banned.transport.remote]);
    expect(seen[0]).toEqual({ address: "127.0.0.1", port: 50_000, kind: "tcp" });
    expect(banned.closed).toBe(true);
    expect(b.logs.filter((l) => l.msg === "connection refused: address banned").map((l) => l.fields.remote)).toEqual([
      "127.0.0.1:50001",
    ]);
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
      const hook = recorder("bans", {
        authenticate: () => ({ decision: "deny", reasonCode: 0x8a, reason: "banned by operator" }),
      });
      await start([hook]);
      const client = b.open(version);
      const connack = await client.connect({ clientId: "banned", username: "u", password: "p" });
      expect(connackCode(client, connack)).toBe(version === 5 ? 0x8a : 5);
      if (version === 5) expect(connack.properties?.reasonString).toBe("banned by operator");
      expect(connack.sessionPresent).toBe(false);
      expect(client.closed).toBe(true);
      expect(callsOf(hook, "onAuthenticationFailed")).toEqual([]);
      expect(b.logs.find((l) => l.msg === "connection refused")?.fields).toMatchObject({
        reason: "banned by operator",
        reasonCode: 0x8a,
      });
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
      expect(info).toEqual({
        clientId: "pub",
        username: "alice",
        protocolVersion: version,
        remote: client.transport.remote,
      });
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
    pub.send({
      cmd: "publish",
      topic: "t",
      payload: Buffer.from("two"),
      qos: 2,
      retain: false,
      dup: false,
      messageId: 77,
    });
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

  for (const { version, name } of VERSIONS) {
    test(`${name}: a will is authorized at CONNECT (once authenticated) with the ClientInfo and the will message; allowed, it is published later without asking again`, async () => {
      const order: string[] = [];
      const hook = recorder("acl", {
        authenticate: () => (order.push("authenticate"), "allow"),
        authorizePublish: () => (order.push("authorizePublish"), "allow"),
      });
      await start([hook]);
      const { client: sub } = await b.connect({ version, clientId: "sub" });
      await sub.subscribe("status/dev");
      order.length = 0;
      const will = { topic: "status/dev", payload: Buffer.from("gone"), qos: 1, retain: true };
      const { client } = await b.connect({ version, clientId: "dev", username: "u", password: "p", will });
      expect(order).toEqual(["authenticate", "authorizePublish"]);
      const [[info, message]] = callsOf(hook, "authorizePublish") as [[ClientInfo, Message]];
      expect(info).toEqual({
        clientId: "dev",
        username: "u",
        protocolVersion: version,
        remote: client.transport.remote,
      });
      expect(message).toMatchObject({ topic: "status/dev", qos: 1, retain: true, origin: "dev" });
      expect(text(message.payload)).toBe("gone");
      await client.drop();
      expect(String((await sub.expectPacket("publish")).payload)).toBe("gone");
      expect(callsOf(hook, "authorizePublish").length).toBe(1);
    });

    test(`${name}: a will the client may not publish refuses the CONNECT (${version === 5 ? "0x87" : "5"} Not authorized); no session, no will, no onAuthenticationFailed`, async () => {
      const hook = recorder("acl", { authorizePublish: (_c, m) => (m.topic === "plc/cmd" ? "deny" : "defer") });
      await start([hook]);
      const { client: sub } = await b.connect({ version, clientId: "sub" });
      await sub.subscribe("plc/cmd");
      const client = b.open(version);
      const connack = await client.connect({
        clientId: "sneaky",
        will: { topic: "plc/cmd", payload: Buffer.from("stop") },
      });
      expect(connackCode(client, connack)).toBe(version === 5 ? 0x87 : 5);
      expect(client.closed).toBe(true);
      await sub.expectNoPacket();
      expect(b.broker.session("sneaky")).toBeUndefined();
      expect(callsOf(hook, "onAuthenticationFailed")).toEqual([]);
      expect(callsOf(hook, "onConnected").map(([c]) => (c as ClientInfo).clientId)).toEqual(["sub"]);
      expect(b.logs.find((l) => l.msg === "connection refused")?.fields).toMatchObject({
        reason: "will topic not authorized",
      });
    });
  }
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
    expect(calls.map(([info]) => info)).toEqual(
      [0, 1].map(() => ({ clientId: "sub", username: "bob", protocolVersion: 5, remote: client.transport.remote })),
    );
    expect(calls.map(([, s]) => s)).toEqual([
      { filter: "a/#", qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionIdentifier: 7 },
      {
        filter: "b/+",
        shareName: "grp",
        qos: 2,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
        subscriptionIdentifier: 7,
      },
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
      const suback = await client.subscribe([{ topic: "open/#", qos: 1 }, { topic: "secret/#", qos: 1 }, {
        topic: "other",
        qos: 2,
      }]);
      expect(suback.granted).toEqual([1, version === 5 ? 0x87 : 0x80, 2]);
      expect(callsOf(second, "authorizeSubscribe").map(([, s]) => (s as SubscriptionInfo).filter)).toEqual([
        "open/#",
        "other",
      ]);
      expect(callsOf(first, "onSubscribed").map(([, s]) => (s as SubscriptionInfo).filter)).toEqual([
        "open/#",
        "other",
      ]);
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
