/**
 * MQTT 5.0 (OASIS 2019) §4.9 Flow Control: the server's Receive Maximum (set to 2 here) for
 * inbound QoS 1/2 PUBLISHes, and the client's Receive Maximum as the server's send quota.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RUNTIMES, type RunningBroker, startBroker } from "../../helpers/broker.ts";
import { closeAll, collectMessages, connectClient, publish, subscribe, uniqueId } from "../../helpers/clients.ts";
import {
  type AnyPacket,
  connectV5Ok,
  expectDisconnect,
  expectNoPublish,
  nextPublish,
  RC,
  type RawClient,
  rawSubscribe,
  sleep,
} from "../../helpers/v5.ts";

const v5 = { protocolVersion: 5 as const };

function publishes(raw: RawClient): AnyPacket[] {
  return raw.packets().filter((p: AnyPacket) => p.cmd === "publish");
}

for (const runtime of RUNTIMES) {
  describe(`MQTT 5.0 §4.9 Flow Control [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({ runtime, set: { "mqtt.receiveMaximum": 2 } });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    test("[§3.2.2.3.3] CONNACK carries the server's Receive Maximum (2)", async () => {
      const { raw, connack } = await connectV5Ok(b, uniqueId("rm"));
      raw.close();
      expect(connack.properties?.receiveMaximum).toBe(2);
    });

    test("[v5 MQTT-3.3.4-7] a third unacknowledged QoS 2 PUBLISH (no PUBREL sent) exceeds Receive Maximum 2: DISCONNECT 0x93", async () => {
      const topic = uniqueId("t/rmx");
      const { raw } = await connectV5Ok(b, uniqueId("rmx"));
      try {
        for (const id of [1, 2]) {
          raw.sendPacket({ cmd: "publish", topic, payload: String(id), qos: 2, messageId: id });
          expect((await raw.nextPacketOf("pubrec", 2_000)).messageId).toBe(id);
        }
        raw.sendPacket({ cmd: "publish", topic, payload: "3", qos: 2, messageId: 3 });
        await expectDisconnect(raw, RC.receiveMaximumExceeded);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.3.4-7] [v5 MQTT-4.9.0-1] completing QoS 2 flows (PUBREL → PUBCOMP) frees the quota: 2 + 2 PUBLISHes are accepted and delivered", async () => {
      const topic = uniqueId("t/rmok");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const { raw } = await connectV5Ok(b, uniqueId("rmok"));
      try {
        await subscribe(sub, topic, { qos: 2 });
        const msgs = collectMessages(sub);
        for (const round of [[1, 2], [3, 4]]) {
          for (const id of round) {
            raw.sendPacket({ cmd: "publish", topic, payload: String(id), qos: 2, messageId: id });
            await raw.nextPacketOf("pubrec", 2_000);
          }
          for (const id of round) {
            raw.sendPacket({ cmd: "pubrel", messageId: id, reasonCode: 0 });
            expect((await raw.nextPacketOf("pubcomp", 2_000)).messageId).toBe(id);
          }
        }
        const got = await msgs.waitFor(4);
        expect(got.map((m) => m.payload.toString())).toEqual(["1", "2", "3", "4"]);
        expect(raw.closed).toBe(false);
      } finally {
        raw.close();
        await closeAll(sub);
      }
    });

    test("[v5 MQTT-3.3.4-9] [v5 MQTT-4.9.0-2] client Receive Maximum 2: with PUBACKs withheld only 2 of 5 QoS 1 messages arrive; each PUBACK releases the next", async () => {
      const topic = uniqueId("t/quota");
      const { raw } = await connectV5Ok(b, uniqueId("quota"), { properties: { receiveMaximum: 2 } });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await rawSubscribe(raw, [{ topic, qos: 1 }]);
        for (let i = 1; i <= 5; i++) await publish(pub, topic, String(i), { qos: 1 });
        await nextPublish(raw);
        await nextPublish(raw);
        await expectNoPublish(raw, 400);
        expect(publishes(raw).map((p) => String(p.payload))).toEqual(["1", "2"]);

        raw.sendPacket({ cmd: "puback", messageId: publishes(raw)[0].messageId, reasonCode: 0 });
        await nextPublish(raw);
        await expectNoPublish(raw, 300);
        expect(publishes(raw).map((p) => String(p.payload))).toEqual(["1", "2", "3"]);

        for (const p of publishes(raw).slice(1)) raw.sendPacket({ cmd: "puback", messageId: p.messageId, reasonCode: 0 });
        await nextPublish(raw);
        await nextPublish(raw);
        expect(publishes(raw).map((p) => String(p.payload))).toEqual(["1", "2", "3", "4", "5"]);
      } finally {
        raw.close();
        await closeAll(pub);
      }
    });

    test("[v5 MQTT-4.9.0-3] with the send quota at 0 the server still answers PINGREQ and SUBSCRIBE", async () => {
      const topic = uniqueId("t/quota0");
      const { raw } = await connectV5Ok(b, uniqueId("quota0"), { properties: { receiveMaximum: 1 } });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await rawSubscribe(raw, [{ topic, qos: 1 }], { messageId: 1 });
        await publish(pub, topic, "a", { qos: 1 });
        await publish(pub, topic, "b", { qos: 1 });
        await nextPublish(raw); // quota now 0
        raw.send(Buffer.from([0xc0, 0x00]));
        await raw.nextPacketOf("pingresp", 2_000);
        await rawSubscribe(raw, [{ topic: uniqueId("t/other"), qos: 1 }], { messageId: 2 });
        expect(publishes(raw).length).toBe(1);
      } finally {
        raw.close();
        await closeAll(pub);
      }
    });

    test("[§4.9] QoS 2 send quota: a PUBREC (< 0x80) does not free it, the PUBCOMP does; a PUBREC ≥ 0x80 does", async () => {
      const topic = uniqueId("t/quota2");
      const { raw } = await connectV5Ok(b, uniqueId("quota2"), { properties: { receiveMaximum: 1 } });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await rawSubscribe(raw, [{ topic, qos: 2 }]);
        for (const n of ["a", "b", "c"]) await publish(pub, topic, n, { qos: 2 });
        const a: AnyPacket = await nextPublish(raw);
        expect(String(a.payload)).toBe("a");
        raw.sendPacket({ cmd: "pubrec", messageId: a.messageId, reasonCode: 0 });
        await raw.nextPacketOf("pubrel", 2_000);
        await expectNoPublish(raw, 300);
        raw.sendPacket({ cmd: "pubcomp", messageId: a.messageId, reasonCode: 0 });
        const c: AnyPacket = await nextPublish(raw);
        expect(String(c.payload)).toBe("b");
        raw.sendPacket({ cmd: "pubrec", messageId: c.messageId, reasonCode: RC.unspecifiedError });
        const d: AnyPacket = await nextPublish(raw);
        expect(String(d.payload)).toBe("c");
        await sleep(100);
        expect(raw.packets().filter((p: AnyPacket) => p.cmd === "pubrel").length).toBe(1);
      } finally {
        raw.close();
        await closeAll(pub);
      }
    });
  });
}
