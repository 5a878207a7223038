/**
 * MQTT 5.0 (OASIS 2019) §3.3.2.3.4 Topic Alias, in both directions: aliases a client sets and uses
 * towards the server (Topic Alias Maximum 64 by default), and aliases the server may use towards a
 * client, never above the client's Topic Alias Maximum.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RUNTIMES, type RunningBroker, startBroker } from "../../helpers/broker.ts";
import { closeAll, collectMessages, connectClient, expectNoMessage, publish, subscribe, uniqueId } from "../../helpers/clients.ts";
import { type AnyPacket, connectV5Ok, expectDisconnect, nextPublish, RC, rawSubscribe, sleep } from "../../helpers/v5.ts";

const v5 = { protocolVersion: 5 as const };

for (const runtime of RUNTIMES) {
  describe(`MQTT 5.0 §3.3.2.3.4 Topic Alias [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({ runtime });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    test("[v5 MQTT-3.3.2-12] an alias set with a topic and then used with an empty topic is delivered under the full topic", async () => {
      const topic = uniqueId("t/alias");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        await subscribe(sub, topic, { qos: 1 });
        const msgs = collectMessages(sub);
        raw.sendPacket({ cmd: "publish", topic, payload: "set", qos: 0, properties: { topicAlias: 1 } });
        raw.sendPacket({ cmd: "publish", topic: "", payload: "use0", qos: 0, properties: { topicAlias: 1 } });
        raw.sendPacket({ cmd: "publish", topic: "", payload: "use1", qos: 1, messageId: 3, properties: { topicAlias: 1 } });
        const ack = await raw.nextPacketOf("puback", 2_000);
        expect(ack.messageId).toBe(3);
        const got = await msgs.waitFor(3);
        expect(got.map((m) => [m.topic, m.payload.toString()])).toEqual([[topic, "set"], [topic, "use0"], [topic, "use1"]]);
        expect(raw.closed).toBe(false);
      } finally {
        raw.close();
        await closeAll(sub);
      }
    });

    test("[v5 MQTT-3.3.2-12] the highest alias (64) is accepted, and a new topic with the same alias replaces the mapping", async () => {
      const t1 = uniqueId("t/remap1");
      const t2 = uniqueId("t/remap2");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const { raw } = await connectV5Ok(b, uniqueId("pub"));
      try {
        await subscribe(sub, [t1, t2], { qos: 0 });
        const msgs = collectMessages(sub);
        raw.sendPacket({ cmd: "publish", topic: t1, payload: "a", qos: 0, properties: { topicAlias: 64 } });
        raw.sendPacket({ cmd: "publish", topic: t2, payload: "b", qos: 0, properties: { topicAlias: 64 } });
        raw.sendPacket({ cmd: "publish", topic: "", payload: "c", qos: 0, properties: { topicAlias: 64 } });
        const got = await msgs.waitFor(3);
        expect(got.map((m) => [m.topic, m.payload.toString()])).toEqual([[t1, "a"], [t2, "b"], [t2, "c"]]);
      } finally {
        raw.close();
        await closeAll(sub);
      }
    });

    test("[v5 MQTT-3.3.2-8] Topic Alias 0: DISCONNECT 0x94 (Topic Alias invalid)", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("alias0"));
      try {
        raw.sendPacket({ cmd: "publish", topic: uniqueId("t/a0"), payload: "x", qos: 0, properties: { topicAlias: 0 } });
        await expectDisconnect(raw, RC.topicAliasInvalid);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.3.2-9] Topic Alias 65 above the server's Topic Alias Maximum (64): DISCONNECT 0x94, not delivered", async () => {
      const topic = uniqueId("t/a65");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const { raw, connack } = await connectV5Ok(b, uniqueId("alias65"));
      try {
        expect(connack.properties?.topicAliasMaximum).toBe(64);
        await subscribe(sub, topic, { qos: 0 });
        raw.sendPacket({ cmd: "publish", topic, payload: "x", qos: 0, properties: { topicAlias: 65 } });
        await expectDisconnect(raw, RC.topicAliasInvalid);
        await expectNoMessage(sub, 200);
      } finally {
        raw.close();
        await closeAll(sub);
      }
    });

    test("[§3.3.4] an empty topic with an alias that has no mapping: DISCONNECT 0x82 (Protocol Error)", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("nomap"));
      try {
        raw.sendPacket({ cmd: "publish", topic: "", payload: "x", qos: 0, properties: { topicAlias: 9 } });
        await expectDisconnect(raw, RC.protocolError);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.3.2-7] alias mappings are not carried over to a new connection of the same session", async () => {
      const id = uniqueId("carry");
      const topic = uniqueId("t/carry");
      const first = await connectV5Ok(b, id, { clean: false, properties: { sessionExpiryInterval: 30 } });
      first.raw.sendPacket({ cmd: "publish", topic, payload: "set", qos: 1, messageId: 1, properties: { topicAlias: 2 } });
      await first.raw.nextPacketOf("puback", 2_000);
      first.raw.sendPacket({ cmd: "disconnect", reasonCode: 0 });
      await first.raw.waitClosed(1_000);
      first.raw.close();

      const second = await connectV5Ok(b, id, { clean: false, properties: { sessionExpiryInterval: 30 } });
      try {
        expect(second.connack.sessionPresent).toBe(true);
        second.raw.sendPacket({ cmd: "publish", topic: "", payload: "use", qos: 0, properties: { topicAlias: 2 } });
        await expectDisconnect(second.raw, RC.protocolError);
      } finally {
        second.raw.close();
      }
    });

    test("[v5 MQTT-3.1.2-27] the server sends no Topic Alias to a client that did not announce a Topic Alias Maximum", async () => {
      const topic = uniqueId("t/noalias");
      const { raw } = await connectV5Ok(b, uniqueId("sub"));
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await rawSubscribe(raw, [{ topic, qos: 0 }]);
        for (let i = 0; i < 4; i++) await publish(pub, topic, `m${i}`, { qos: 0 });
        for (let i = 0; i < 4; i++) {
          const p = await nextPublish(raw);
          expect(p.topic).toBe(topic);
          expect(p.properties?.topicAlias).toBeUndefined();
        }
      } finally {
        raw.close();
        await closeAll(pub);
      }
    });

    test("[v5 MQTT-3.1.2-26] [v5 MQTT-3.3.2-11] aliases sent to a client with Topic Alias Maximum 1 never exceed 1 and always resolve to the right topic", async () => {
      const base = uniqueId("t/srvalias");
      const topics = [`${base}/a`, `${base}/b`, `${base}/a`, `${base}/a`, `${base}/b`, `${base}/c`, `${base}/c`];
      const { raw } = await connectV5Ok(b, uniqueId("sub"), { properties: { topicAliasMaximum: 1 } });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await rawSubscribe(raw, [{ topic: `${base}/+`, qos: 0 }]);
        for (const [i, t] of topics.entries()) await publish(pub, t, String(i), { qos: 0 });
        const mapping = new Map<number, string>();
        const resolved: string[] = [];
        for (let i = 0; i < topics.length; i++) {
          const p: AnyPacket = await nextPublish(raw);
          const alias: number | undefined = p.properties?.topicAlias;
          if (alias !== undefined) {
            expect(alias).toBeGreaterThanOrEqual(1);
            expect(alias).toBeLessThanOrEqual(1);
            if (p.topic) mapping.set(alias, p.topic);
            else expect(mapping.has(alias)).toBe(true);
            resolved.push(p.topic || mapping.get(alias)!);
          } else {
            expect(p.topic.length).toBeGreaterThan(0);
            resolved.push(p.topic);
          }
          expect(String(p.payload)).toBe(String(i));
        }
        expect(resolved).toEqual(topics);
      } finally {
        raw.close();
        await closeAll(pub);
      }
    });

    test("[v5 MQTT-3.3.2-10] an mqtt.js client with Topic Alias Maximum 4 receives every message under its full topic", async () => {
      const base = uniqueId("t/jsalias");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub"), properties: { topicAliasMaximum: 4 } });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await subscribe(sub, `${base}/#`, { qos: 1 });
        const msgs = collectMessages(sub);
        const sent = [`${base}/x`, `${base}/y`, `${base}/x`, `${base}/z/1`, `${base}/y`, `${base}/x`];
        for (const t of sent) await publish(pub, t, "p", { qos: 1 });
        const got = await msgs.waitFor(sent.length);
        expect(got.map((m) => m.topic)).toEqual(sent);
        await sleep(50);
        expect(sub.connected).toBe(true);
      } finally {
        await closeAll(sub, pub);
      }
    });
  });
}
