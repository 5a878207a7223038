/**
 * One message routed to many subscribers is encoded once and its bytes reused (src/core/outbound.ts):
 * each copy must still be right for its client — its own packet id at QoS 1, its protocol version,
 * its topic alias, its subscription identifier — and a non-ASCII topic keeps its UTF-8 bytes
 * (src/protocol/publish-encoder.ts copies ASCII topics by a loop).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { type InProcessBroker, inProcessBroker } from "../helpers/in-process.ts";

let b: InProcessBroker;
afterEach(async () => {
  await b.close();
});

describe("a message encoded once for many subscribers", () => {
  test("[3.1.1 MQTT-2.3.1-2] [v5 MQTT-2.2.1-4] QoS 1 copies carry each client's own packet id", async () => {
    b = await inProcessBroker();
    // The v5 client connects between the 3.1.1 clients' CONNECT and SUBSCRIBE: their SUBSCRIBEs must
    // still be read as 3.1.1 (the broker's parsers are shared per protocol version).
    const { client: first } = await b.connect({ clientId: "first" });
    const { client: second } = await b.connect({ clientId: "second" });
    const { client: third } = await b.connect({ clientId: "third", version: 5 });
    await first.subscribe("f/#", { qos: 1 });
    await second.subscribe([{ topic: "f/#", qos: 1 }, { topic: "only/second", qos: 1 }]);
    await third.subscribe("f/#", { qos: 1 });
    const { client: pub } = await b.connect({ clientId: "pub", version: 5 });
    // The second subscriber's session has used packet id 1 already (unacknowledged).
    await pub.publish("only/second", "warm-up", { qos: 1 });
    const held = await second.expectPacket("publish");

    await pub.publish("f/1", "shared", { qos: 1 });
    const copies = [await first.expectPacket("publish"), await second.expectPacket("publish"), await third.expectPacket("publish")];
    expect(copies.map((p) => [p.topic, String(p.payload), p.qos])).toEqual([
      ["f/1", "shared", 1],
      ["f/1", "shared", 1],
      ["f/1", "shared", 1],
    ]);
    expect(copies[1].messageId).not.toBe(held.messageId);
    expect(copies[0].messageId).toBe(held.messageId); // both sessions' first id
    // Acknowledging the ids received completes each flow: nothing more is pending or resent.
    first.puback(copies[0].messageId);
    second.puback(held.messageId);
    second.puback(copies[1].messageId);
    third.puback(copies[2].messageId);
    await b.settle();
    for (const id of ["first", "second", "third"]) {
      expect(b.broker.session(id)?.inflight).toBe(0);
    }
  });

  test("[v5 MQTT-3.3.2-11] [v5 MQTT-3.3.4-3] 3.1.1 and v5 clients, a topic alias and a subscription identifier each get their own bytes", async () => {
    b = await inProcessBroker();
    const { client: old } = await b.connect({ clientId: "old" });
    await old.subscribe("m/#");
    const { client: plain } = await b.connect({ clientId: "plain", version: 5 });
    const { client: aliased } = await b.connect({ clientId: "aliased", version: 5, properties: { topicAliasMaximum: 4 } });
    const { client: identified } = await b.connect({ clientId: "identified", version: 5 });
    await plain.subscribe("m/#");
    await aliased.subscribe("m/#");
    await identified.subscribe("m/#", { properties: { subscriptionIdentifier: 7 } });
    const { client: pub } = await b.connect({ clientId: "pub", version: 5 });
    for (const payload of ["one", "two"]) {
      await pub.publish("m/x", payload, { properties: { userProperties: { k: "v" } } });
      const o = await old.expectPacket("publish");
      expect([o.topic, String(o.payload), o.properties]).toEqual(["m/x", payload, undefined]);
      const p = await plain.expectPacket("publish");
      expect([p.topic, String(p.payload), p.properties?.topicAlias, p.properties?.userProperties]).toEqual(["m/x", payload, undefined, { k: "v" }]);
      const a = await aliased.expectPacket("publish");
      expect([String(a.payload), a.properties?.topicAlias]).toEqual([payload, 1]);
      expect(a.topic).toBe(payload === "one" ? "m/x" : ""); // the alias alone the second time
      const i = await identified.expectPacket("publish");
      expect([i.topic, String(i.payload), i.properties?.subscriptionIdentifier]).toEqual(["m/x", payload, 7]);
    }
  });

  test("[3.1.1 MQTT-1.5.3-1] [v5 MQTT-1.5.4-1] a non-ASCII topic arrives as the same UTF-8 string", async () => {
    b = await inProcessBroker();
    const topic = "zähler/°C/温度/🐦";
    const { client: old } = await b.connect({ clientId: "old" });
    await old.subscribe("#");
    const { client: recent } = await b.connect({ clientId: "recent", version: 5 });
    await recent.subscribe("#");
    const { client: pub } = await b.connect({ clientId: "pub", version: 5 });
    await pub.publish(topic, "x", { qos: 1 });
    expect((await old.expectPacket("publish")).topic).toBe(topic);
    expect((await recent.expectPacket("publish")).topic).toBe(topic);
  });
});
