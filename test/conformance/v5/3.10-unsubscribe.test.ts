/**
 * MQTT 5.0 (OASIS 2019) sections 3.10 UNSUBSCRIBE and 3.11 UNSUBACK: reason codes per filter
 * (0x00 Success, 0x11 No subscription existed), exact filter comparison, and malformed packets.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RUNTIMES, type RunningBroker, startBroker } from "../../helpers/broker.ts";
import { closeAll, connectClient, publish, uniqueId } from "../../helpers/clients.ts";
import { connectV5Ok, expectDisconnect, expectNoPublish, hex, nextPublish, packet, props, RC, type RawClient, rawSubscribe, utf8 } from "../../helpers/v5.ts";
import { u16 } from "../../helpers/raw.ts";

const v5 = { protocolVersion: 5 as const };

async function rawUnsubscribe(raw: RawClient, topics: string[], messageId = 2) {
  raw.sendPacket({ cmd: "unsubscribe", messageId, unsubscriptions: topics });
  const unsuback = await raw.nextPacketOf("unsuback", 2_000);
  expect(unsuback.messageId).toBe(messageId);
  return unsuback;
}

for (const runtime of RUNTIMES) {
  describe(`MQTT 5.0 §3.10 UNSUBSCRIBE [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({ runtime });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    test("[v5 MQTT-3.10.4-4] [v5 MQTT-3.10.4-5] [v5 MQTT-3.11.3-1] [v5 MQTT-3.11.3-2] UNSUBACK has the same Packet Identifier and, in order, 0x00 for an existing subscription and 0x11 for none", async () => {
      const base = uniqueId("t/unsub");
      const { raw } = await connectV5Ok(b, uniqueId("unsub"));
      try {
        await rawSubscribe(raw, [{ topic: `${base}/a`, qos: 1 }, { topic: `${base}/+`, qos: 0 }]);
        const unsuback = await rawUnsubscribe(raw, [`${base}/a`, `${base}/never`, `${base}/+`], 3131);
        // mqtt-packet exposes the v5 UNSUBACK reason codes as `granted`.
        expect(unsuback.granted.map(hex)).toEqual([RC.success, RC.noSubscriptionExisted, RC.success].map(hex));
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.10.4-5] UNSUBSCRIBE when nothing is subscribed still gets UNSUBACK (0x11)", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("nothing"));
      try {
        const unsuback = await rawUnsubscribe(raw, [uniqueId("t/none")], 9);
        expect(unsuback.granted.map(hex)).toEqual([hex(RC.noSubscriptionExisted)]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.10.4-2] [v5 MQTT-3.10.4-6] after UNSUBSCRIBE of several filters no new messages match them", async () => {
      const base = uniqueId("t/stop");
      const { raw } = await connectV5Ok(b, uniqueId("stop"));
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await rawSubscribe(raw, [{ topic: `${base}/x`, qos: 1 }, { topic: `${base}/y`, qos: 0 }, { topic: `${base}/z`, qos: 0 }]);
        await rawUnsubscribe(raw, [`${base}/x`, `${base}/y`]);
        await publish(pub, `${base}/x`, "x", { qos: 1 });
        await publish(pub, `${base}/y`, "y", { qos: 0 });
        await publish(pub, `${base}/z`, "z", { qos: 0 });
        const p = await nextPublish(raw);
        expect(String(p.payload)).toBe("z");
        expect(raw.packets().filter((x: { cmd: string }) => x.cmd === "publish").length).toBe(1);
      } finally {
        raw.close();
        await closeAll(pub);
      }
    });

    test("[v5 MQTT-3.10.4-1] filters are compared character by character: UNSUBSCRIBE 'a/b' does not remove 'a/+' (0x11), other subscriptions stay", async () => {
      const base = uniqueId("t/exact");
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      const { raw } = await connectV5Ok(b, uniqueId("exact"));
      try {
        await rawSubscribe(raw, [{ topic: `${base}/+`, qos: 0 }, { topic: `${base}/#`, qos: 0 }]);
        const u1 = await rawUnsubscribe(raw, [`${base}/b`], 5);
        expect(u1.granted.map(hex)).toEqual([hex(RC.noSubscriptionExisted)]);
        const u2 = await rawUnsubscribe(raw, [`${base}/+`], 6);
        expect(u2.granted.map(hex)).toEqual([hex(RC.success)]);
        await publish(pub, `${base}/b`, "via-hash", { qos: 0 });
        const p = await nextPublish(raw);
        expect(String(p.payload)).toBe("via-hash");
        await expectNoPublish(raw, 200); // only one copy: 'a/+' is gone
      } finally {
        raw.close();
        await closeAll(pub);
      }
    });

    test("[v5 MQTT-3.10.4-1] UNSUBSCRIBE of a shared subscription ($share/g/t) removes it (0x00)", async () => {
      const topic = uniqueId("t/shunsub");
      const { raw } = await connectV5Ok(b, uniqueId("member"));
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await rawSubscribe(raw, [{ topic: `$share/g/${topic}`, qos: 0 }]);
        const unsuback = await rawUnsubscribe(raw, [`$share/g/${topic}`]);
        expect(unsuback.granted.map(hex)).toEqual([hex(RC.success)]);
        await publish(pub, topic, "after", { qos: 0 });
        await expectNoPublish(raw, 300);
      } finally {
        raw.close();
        await closeAll(pub);
      }
    });

    test("[v5 MQTT-3.10.1-1] UNSUBSCRIBE with fixed header flags 0000: Malformed Packet, DISCONNECT 0x81", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("unflags"));
      try {
        raw.send(packet(0xa0, u16(1), props(), utf8(uniqueId("t/x"))));
        await expectDisconnect(raw, RC.malformedPacket);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.10.3-2] UNSUBSCRIBE without any Topic Filter is a Protocol Error: DISCONNECT 0x82", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("unempty"));
      try {
        raw.send(packet(0xa2, u16(1), props()));
        await expectDisconnect(raw, RC.protocolError);
      } finally {
        raw.close();
      }
    });
  });
}
