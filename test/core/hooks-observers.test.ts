/**
 * The hook contract (src/hooks/types.ts), beforePublish and the observers, on the in-process
 * broker: when each is called, with what arguments (ClientInfo, message, SubscriptionInfo), and
 * what beforePublish's answer does. Observers are called in registration order.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { ClientInfo, Hooks, Message } from "../../src/mod.ts";
import { callsOf, pointsOf, rc, recorder, text, VERSIONS } from "../helpers/hooks.ts";
import { type InProcessBroker, inProcessBroker, type InProcessOptions } from "../helpers/in-process.ts";

let b: InProcessBroker;
afterEach(async () => {
  await b.close();
});

function start(hooks: Hooks[], options: Omit<InProcessOptions, "hooks"> = {}): Promise<InProcessBroker> {
  return inProcessBroker({ ...options, hooks }).then((broker) => (b = broker));
}

describe("beforePublish", () => {
  test("gets the publisher's ClientInfo (undefined for broker.publish) and may transform: the next hook and subscribers see the result", async () => {
    const rewrite = recorder("rewrite", {
      beforePublish: (_c, m) => ({
        ...m,
        topic: `site/${m.topic}`,
        payload: new TextEncoder().encode(`[${text(m.payload)}]`),
      }),
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
    expect(calls.map(([c]) => c)).toEqual([{
      clientId: "pub",
      username: "p",
      protocolVersion: 4,
      remote: pub.transport.remote,
    }, undefined]);
    expect(calls.map(([, m]) => [m.topic, text(m.payload)])).toEqual([["t", "raw"], ["in-process", "local"]]);
    expect(callsOf(second, "beforePublish").map(([, m]) => (m as Message).topic)).toEqual([
      "site/t",
      "site/in-process",
    ]);
    const delivered = [await sub.expectPacket("publish"), await sub.expectPacket("publish")];
    expect(delivered.map((p) => [p.topic, String(p.payload)])).toEqual([["site/t", "[raw]"], [
      "site/in-process",
      "[local]",
    ]]);
  });

  test("a transformed retained message is what the broker keeps", async () => {
    await start([{
      id: "stamp",
      beforePublish: (_c, m) => ({ ...m, properties: { ...m.properties, contentType: "stamped" } }),
    }]);
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
    const { client } = await b.connect({
      version: 5,
      clientId: "dev",
      username: "u",
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    const info = { clientId: "dev", username: "u", protocolVersion: 5, remote: client.transport.remote };
    expect(callsOf(hook, "onConnected")).toEqual([[info, false]]);
    await client.disconnect();
    const { client: again } = await b.connect({
      version: 5,
      clientId: "dev",
      username: "u",
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
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
    test(`${name}: onDisconnected once with the ClientInfo and why: DISCONNECT, a dropped connection, a session taken over, a keepalive timeout, an administrator's kick`, async () => {
      const hook = recorder("watch");
      await start([hook]);
      const { client: polite } = await b.connect({ version, clientId: "polite" });
      await polite.disconnect();
      const { client: dropped } = await b.connect({ version, clientId: "dropped" });
      await dropped.drop();
      const { client: old } = await b.connect({ version, clientId: "twin" });
      await b.connect({ version, clientId: "twin" });
      expect(old.closed).toBe(true);
      const { client: quiet } = await b.connect({ version, clientId: "quiet", keepalive: 10 });
      await b.advance(15_000); // 1.5 times the keepalive
      expect(quiet.closed).toBe(true);
      const { client: kicked } = await b.connect({ version, clientId: "kicked" });
      expect(b.broker.disconnectClient("kicked")).toBe(true);
      await b.settle();
      const infos = callsOf(hook, "onDisconnected").map((
        [info, reason],
      ) => [(info as ClientInfo).clientId, (info as ClientInfo).remote.port, reason]);
      expect(infos).toEqual([
        ["polite", polite.transport.remote.port, "client disconnected"],
        ["dropped", dropped.transport.remote.port, "connection lost"],
        ["twin", old.transport.remote.port, "session taken over"],
        ["quiet", quiet.transport.remote.port, "keepalive timeout"],
        ["kicked", kicked.transport.remote.port, "disconnected by an administrator"],
      ]);
      // The operator's "client gone" line says the same (not for the takeover: the session lives on, taken).
      const gone = b.logs.filter((l) => l.msg === "client gone").map((l) => l.fields.reason);
      expect(gone).toEqual(["client disconnected", "connection lost", "keepalive timeout", "disconnected by an administrator"]);
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
    client.send({
      cmd: "unsubscribe",
      messageId: client.packetId(),
      unsubscriptions: ["$share/g/x/#", "never-subscribed"],
    });
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
    expect(calls.map(([c, m]) => [c?.clientId, m.topic, text(m.payload)])).toEqual([["pub", "x/t", "a"], [
      undefined,
      "x/local",
      "b",
    ]]);
    expect(pointsOf(hook).filter((p) => p === "beforePublish" || p === "onPublished")).toEqual([
      "beforePublish",
      "onPublished",
      "beforePublish",
      "onPublished",
    ]);
  });

  test("a will reaches beforePublish and onPublished without a ClientInfo (its client has gone), with the client id as origin", async () => {
    const hook = recorder("watch");
    await start([hook]);
    const { client } = await b.connect({
      version: 4,
      clientId: "dev",
      will: { topic: "status/dev", payload: Buffer.from("gone") },
    });
    await client.drop();
    for (const point of ["beforePublish", "onPublished"]) {
      const calls = callsOf(hook, point) as Array<[ClientInfo | undefined, Message]>;
      expect(calls.map(([c, m]) => [c, m.topic, m.origin])).toEqual([[undefined, "status/dev", "dev"]]);
    }
  });

  test("onDelivered: once per subscriber as the PUBLISH is sent, with the subscriber's ClientInfo and the message; a queued message when it goes out", async () => {
    const hook = recorder("watch");
    await start([hook]);
    const { client: live } = await b.connect({ version: 4, clientId: "live" });
    await live.subscribe("t", { qos: 1 });
    const { client: away } = await b.connect({
      version: 5,
      clientId: "away",
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await away.subscribe("t", { qos: 1 });
    await away.drop();
    const { client: pub } = await b.connect({ version: 5, clientId: "pub" });
    await pub.publish("t", "m", { qos: 1 });
    await live.expectPacket("publish");
    const delivered = () => callsOf(hook, "onDelivered") as Array<[ClientInfo, Message]>;
    expect(delivered().map(([c, m]) => [c.clientId, c.protocolVersion, m.topic, text(m.payload), m.origin])).toEqual([[
      "live",
      4,
      "t",
      "m",
      "pub",
    ]]);

    const { client: back } = await b.connect({
      version: 5,
      clientId: "away",
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await back.expectPacket("publish");
    expect(delivered().map(([c]) => [c.clientId, c.remote.port])).toEqual([["live", live.transport.remote.port], [
      "away",
      back.transport.remote.port,
    ]]);
  });

  test("a retained message sent on SUBSCRIBE is delivered (onDelivered) but not published again (no onPublished)", async () => {
    const hook = recorder("watch");
    await start([hook]);
    b.broker.publish({ topic: "r", payload: "kept", retain: true });
    const { client } = await b.connect({ version: 5, clientId: "late" });
    await client.subscribe("r");
    expect((await client.expectPacket("publish")).retain).toBe(true);
    expect(callsOf(hook, "onPublished").length).toBe(1);
    expect(callsOf(hook, "onDelivered").map(([c, m]) => [(c as ClientInfo).clientId, (m as Message).topic])).toEqual([[
      "late",
      "r",
    ]]);
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
