/**
 * Hooks that fail (src/hooks/runner.ts): a decision hook that throws or rejects counts as deny for
 * that request, with the protocol's reaction to a deny; an observer or beforePublish that throws
 * (or an async observer that rejects) is skipped, and routing, $SYS and the connection go on.
 * Every failure is one error line "hook failed" {hook, point, clientId, error, outcome}, at most 20 lines
 * per 10 s, the next line carrying the count of those left out (`suppressed`).
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { ClientInfo, Hooks, Message } from "../../src/mod.ts";
import { type InProcessBroker, inProcessBroker, type TestClient, type Version } from "../helpers/in-process.ts";

let b: InProcessBroker;
afterEach(async () => {
  await b.close();
});

const VERSIONS: Array<{ version: Version; name: string }> = [{ version: 5, name: "v5" }, { version: 4, name: "3.1.1" }];

/** How a hook fails: a synchronous throw, or a promise that rejects (with a plain string, not an Error). */
const FAILURES = [
  {
    how: "throws",
    fail: (point: string): never => {
      throw new Error(`${point} broke`);
    },
    error: (point: string) => `${point} broke`,
  },
  {
    how: "rejects",
    fail: (point: string) => Promise.reject(`${point} gave up`),
    error: (point: string) => `${point} gave up`,
  },
] as const;

function start(hooks: Hooks[], configure?: Parameters<typeof inProcessBroker>[0]): Promise<InProcessBroker> {
  return inProcessBroker({ ...configure, hooks }).then((broker) => (b = broker));
}

/** The "hook failed" lines so far: level and fields. */
const failures = (): Array<Record<string, unknown>> =>
  b.logs.filter((l) => l.msg === "hook failed").map((l) => ({ level: l.level, ...l.fields }));

/** The connection is still open and served. */
async function stillServed(client: TestClient): Promise<void> {
  expect(client.closed).toBe(false);
  client.pingreq();
  await client.expectPacket("pingresp");
}

describe("a decision hook that fails counts as deny", () => {
  test("admitConnection throws: the socket is refused at once; later hooks are not asked; one line", async () => {
    const asked: number[] = [];
    await start([
      {
        id: "geoip",
        admitConnection: () => {
          throw new Error("database missing");
        },
      },
      { id: "later", admitConnection: (r) => (asked.push(r.port), "allow") },
    ]);
    const client = b.open();
    expect(client.closed).toBe(true);
    expect(asked).toEqual([]);
    expect(failures()).toEqual([{
      level: "error",
      hook: "geoip",
      point: "admitConnection",
      error: "database missing",
      outcome: "connection refused",
    }]);
  });

  for (const { how, fail, error } of FAILURES) {
    for (const { version, name } of VERSIONS) {
      test(`${name}: authenticate ${how}: CONNACK ${version === 5 ? "0x86" : "4"} (bad credentials), onAuthenticationFailed, later hooks not asked; one line`, async () => {
        const failed: string[] = [];
        const asked: string[] = [];
        await start([
          { id: "ldap", authenticate: () => fail("authenticate") },
          {
            id: "later",
            authenticate: (r) => (asked.push(r.clientId), "allow"),
            onAuthenticationFailed: (r) => failed.push(r.clientId),
          },
        ]);
        const client = b.open(version);
        const connack = await client.connect({ clientId: "dev", username: "u", password: "p" });
        expect(version === 5 ? connack.reasonCode : connack.returnCode).toBe(version === 5 ? 0x86 : 4);
        expect(client.closed).toBe(true);
        expect(asked).toEqual([]);
        expect(failed).toEqual(["dev"]);
        expect(failures()).toEqual([{
          level: "error",
          hook: "ldap",
          point: "authenticate",
          clientId: "dev",
          error: error("authenticate"),
          outcome: "connection refused",
        }]);
      });
    }

    test(`enhancedAuthenticate ${how}: on CONNECT and on a later AUTH, CONNACK 0x87 and close; on re-authentication, DISCONNECT 0x87; one line each`, async () => {
      await start([{
        id: "scram",
        enhancedAuthenticate: (r) => {
          const failsNow = r.clientId === "at-connect" || (r.clientId === "at-auth" && r.step === 1) ||
            r.reauthenticate;
          return failsNow
            ? fail("enhancedAuthenticate")
            : r.clientId === "at-auth"
            ? { result: "continue" }
            : { result: "allow" };
        },
      }]);
      const connectWith = (clientId: string) => {
        const client = b.open(5);
        client.send({
          cmd: "connect",
          protocolVersion: 5,
          clientId,
          clean: true,
          keepalive: 0,
          properties: { authenticationMethod: "M" },
        });
        return client;
      };
      const auth = (client: TestClient, reasonCode: number) =>
        client.send({ cmd: "auth", reasonCode, properties: { authenticationMethod: "M" } });

      const atConnect = connectWith("at-connect");
      expect((await atConnect.expectPacket("connack")).reasonCode).toBe(0x87);
      expect(atConnect.closed).toBe(true);

      const atAuth = connectWith("at-auth");
      await atAuth.expectPacket("auth");
      auth(atAuth, 0x18);
      expect((await atAuth.expectPacket("connack")).reasonCode).toBe(0x87);
      expect(atAuth.closed).toBe(true);

      const reauth = connectWith("reauth");
      expect((await reauth.expectPacket("connack")).reasonCode).toBe(0);
      auth(reauth, 0x19);
      expect((await reauth.expectPacket("disconnect")).reasonCode).toBe(0x87);
      expect(reauth.closed).toBe(true);

      const line = (clientId: string) => ({
        level: "error",
        hook: "scram",
        point: "enhancedAuthenticate",
        clientId,
        error: error("enhancedAuthenticate"),
        outcome: "connection refused",
      });
      expect(failures()).toEqual([line("at-connect"), line("at-auth"), line("reauth")]);
    });

    for (const { version, name } of VERSIONS) {
      const reaction = version === 5 ? "PUBACK 0x87" : "the usual PUBACK";
      const cited = version === 5 ? "[v5 MQTT-3.4.2-1]" : "[3.1.1 MQTT-3.3.5-2]";
      test(`${cited} ${name}: authorizePublish ${how}: ${reaction}, not delivered, later hooks not asked, the connection stays; one line`, async () => {
        const asked: string[] = [];
        await start([
          { id: "acl", authorizePublish: (_c, m) => (m.topic === "bad" ? fail("authorizePublish") : "defer") },
          { id: "later", authorizePublish: (_c, m) => (asked.push(m.topic), "allow") },
        ]);
        const { client: sub } = await b.connect({ version, clientId: "sub" });
        await sub.subscribe("#", { qos: 1 });
        const { client: pub } = await b.connect({ version, clientId: "pub" });
        const puback = (await pub.publish("bad", "x", { qos: 1 }))!;
        expect(puback.cmd).toBe("puback");
        expect(puback.reasonCode ?? 0).toBe(version === 5 ? 0x87 : 0);
        await pub.publish("good", "y", { qos: 1 });
        expect((await sub.expectPacket("publish")).topic).toBe("good");
        await sub.expectNoPacket();
        expect(asked).toEqual(["good"]);
        await stillServed(pub);
        expect(failures()).toEqual([{
          level: "error",
          hook: "acl",
          point: "authorizePublish",
          clientId: "pub",
          error: error("authorizePublish"),
          outcome: "publish denied",
        }]);
      });
    }

    test(`authorizePublish ${how} for a will at CONNECT: refused with 0x87; one line`, async () => {
      await start([{ id: "acl", authorizePublish: () => fail("authorizePublish") }]);
      const client = b.open(5);
      const connack = await client.connect({ clientId: "dev", will: { topic: "w", payload: Buffer.from("bye") } });
      expect(connack.reasonCode).toBe(0x87);
      expect(client.closed).toBe(true);
      expect(failures()).toEqual([{
        level: "error",
        hook: "acl",
        point: "authorizePublish",
        clientId: "dev",
        error: error("authorizePublish"),
        outcome: "publish denied",
      }]);
    });

    for (const { version, name } of VERSIONS) {
      const refused = version === 5 ? 0x87 : 0x80;
      const cited = version === 5 ? "[v5 MQTT-3.9.3-2]" : "[3.1.1 MQTT-3.9.3-2]";
      test(`${cited} ${name}: authorizeSubscribe ${how}: SUBACK 0x${refused.toString(16)} for that filter, the others granted, the connection stays; one line`, async () => {
        await start([{
          id: "acl",
          authorizeSubscribe: (_c, s) => (s.filter === "bad/#" ? fail("authorizeSubscribe") : "allow"),
        }]);
        const { client } = await b.connect({ version, clientId: "sub" });
        expect(
          (await client.subscribe([{ topic: "a", qos: 1 }, { topic: "bad/#", qos: 1 }, { topic: "b", qos: 2 }]))
            .granted,
        ).toEqual([1, refused, 2]);
        expect(b.broker.listSubscriptions().items.map((s) => s.filter).sort()).toEqual(["a", "b"]);
        await stillServed(client);
        expect(failures()).toEqual([{
          level: "error",
          hook: "acl",
          point: "authorizeSubscribe",
          clientId: "sub",
          error: error("authorizeSubscribe"),
          outcome: "subscription refused",
        }]);
      });
    }
  }
});

describe("beforePublish or an observer that fails is skipped", () => {
  test("beforePublish throws: the message goes on as the hooks before it left it; later hooks, subscribers and onPublished see that", async () => {
    const seen: string[] = [];
    const published: string[] = [];
    const text = (m: Message) => new TextDecoder().decode(m.payload);
    await start([
      { id: "tag", beforePublish: (_c, m) => ({ ...m, payload: new TextEncoder().encode(`${text(m)}+tag`) }) },
      {
        id: "broken",
        beforePublish: () => {
          throw new Error("enricher down");
        },
      },
      {
        id: "later",
        beforePublish: (_c, m) => (seen.push(text(m)), m),
        onPublished: (_c, m) => published.push(text(m)),
      },
    ]);
    const { client: sub } = await b.connect({ version: 5, clientId: "sub" });
    await sub.subscribe("t", { qos: 1 });
    const { client: pub } = await b.connect({ version: 5, clientId: "pub" });
    expect((await pub.publish("t", "v", { qos: 1 }))!.reasonCode ?? 0).toBe(0);
    expect(String((await sub.expectPacket("publish")).payload)).toBe("v+tag");
    expect(seen).toEqual(["v+tag"]);
    expect(published).toEqual(["v+tag"]);
    await stillServed(pub);
    expect(failures()).toEqual([{
      level: "error",
      hook: "broken",
      point: "beforePublish",
      clientId: "pub",
      error: "enricher down",
      outcome: "skipped, message unchanged",
    }]);
  });

  const OBSERVERS = [
    "onConnected",
    "onAuthenticationFailed",
    "onDisconnected",
    "onSubscribed",
    "onUnsubscribed",
    "onPublished",
    "onDelivered",
  ] as const;
  /** Whose call each observer's failure line names, in order (the failure line carries the client id). */
  const OBSERVER_CLIENTS: Record<(typeof OBSERVERS)[number], string[]> = {
    onConnected: ["sub", "pub"],
    onAuthenticationFailed: ["intruder"],
    onDisconnected: ["pub"],
    onSubscribed: ["sub"],
    onUnsubscribed: ["sub"],
    onPublished: ["pub"],
    onDelivered: ["sub"],
  };
  for (const { how, fail, error } of FAILURES) {
    for (const point of OBSERVERS) {
      test(`${point} ${how}: delivery, the connections and the next hook's ${point} go on; one line per call`, async () => {
        const unhandled: unknown[] = [];
        const onUnhandled = (reason: unknown) => unhandled.push(reason);
        process.on("unhandledRejection", onUnhandled);
        try {
          const calls: string[] = [];
          const good: Hooks = {
            id: "good",
            authenticate: (r) => (r.clientId === "intruder" ? "deny" : "defer"),
            onConnected: () => calls.push("onConnected"),
            onAuthenticationFailed: () => calls.push("onAuthenticationFailed"),
            onDisconnected: () => calls.push("onDisconnected"),
            onSubscribed: () => calls.push("onSubscribed"),
            onUnsubscribed: () => calls.push("onUnsubscribed"),
            onPublished: () => calls.push("onPublished"),
            onDelivered: () => calls.push("onDelivered"),
          };
          await start([{ id: "bad", [point]: () => fail(point) }, good]);

          expect((await b.open(5).connect({ clientId: "intruder" })).reasonCode).toBe(0x87);
          const { client: sub } = await b.connect({ version: 5, clientId: "sub" });
          expect((await sub.subscribe("t", { qos: 1 })).granted).toEqual([1]);
          const { client: pub } = await b.connect({ version: 4, clientId: "pub" });
          expect((await pub.publish("t", "v", { qos: 1 }))?.cmd).toBe("puback");
          const delivered = await sub.expectPacket("publish");
          expect([delivered.topic, String(delivered.payload)]).toEqual(["t", "v"]);
          sub.puback(delivered.messageId);
          sub.send({ cmd: "unsubscribe", messageId: sub.packetId(), unsubscriptions: ["t"] });
          expect((await sub.expectPacket("unsuback")).granted).toEqual([0]);
          await pub.disconnect();
          await stillServed(sub);
          await b.settle();

          // Two clients connected (sub, pub); every other point fired once.
          const times = point === "onConnected" ? 2 : 1;
          expect(calls.filter((c) => c === point).length).toBe(times);
          expect(calls.length).toBe(OBSERVERS.length + 1);
          const line = (clientId: string) => ({ level: "error", hook: "bad", point, clientId, error: error(point), outcome: "ignored" });
          expect(failures()).toEqual(OBSERVER_CLIENTS[point].map(line));
          expect(unhandled).toEqual([]);
        } finally {
          process.off("unhandledRejection", onUnhandled);
        }
      });
    }
  }

  test("$SYS goes on while beforePublish and onPublished throw on every message", async () => {
    await start([{
      id: "broken",
      beforePublish: () => {
        throw new Error("no");
      },
      onPublished: () => {
        throw new Error("no");
      },
    }], { configure: (config) => (config.sys.interval = 10) });
    const { client } = await b.connect({ version: 5, clientId: "ops" });
    await client.subscribe("$SYS/broker/uptime");
    for (const seconds of [0, 10, 20]) {
      await b.advance(seconds === 0 ? 0 : 10_000);
      expect(String((await client.expectPacket("publish")).payload)).toBe(`${seconds} seconds`);
    }
    expect(new Set(failures().map((f) => f.point))).toEqual(new Set(["beforePublish", "onPublished"]));
  });
});

describe("the bound on failure lines", () => {
  test("a hook failing on every publish: 20 lines per 10 s, then the next line carries the count left out", async () => {
    const asked: ClientInfo[] = [];
    await start([{
      id: "acl",
      authorizePublish: (c) => (asked.push(c), Promise.reject(new Error("acl service down"))),
    }]);
    const { client } = await b.connect({ version: 4, clientId: "chatty" });
    for (let i = 0; i < 50; i++) await client.publish("t", `${i}`);
    await b.settle();
    expect(asked.length).toBe(50);
    expect(failures().length).toBe(20);
    expect(failures().every((f) => f.suppressed === undefined)).toBe(true);

    await b.advance(10_000);
    await client.publish("t", "late");
    await b.settle();
    expect(failures().length).toBe(21);
    expect(failures()[20]).toEqual({
      level: "error",
      hook: "acl",
      point: "authorizePublish",
      clientId: "chatty",
      error: "acl service down",
      outcome: "publish denied",
      suppressed: 30,
    });
    await stillServed(client);
  });
});
