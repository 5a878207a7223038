/**
 * MQTT 5.0 (OASIS 2019) §3.3.2.3.3 Message Expiry Interval: forwarded with the time spent waiting
 * subtracted, and expired messages (queued for an offline session, or retained) are not delivered.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RUNTIMES, type RunningBroker, startBroker } from "../../helpers/broker.ts";
import { closeAll, connectClient, nextMessage, publish, subscribe, uniqueId } from "../../helpers/clients.ts";
import { type AnyPacket, connectV5Ok, expectNoPublish, nextPublish, type RawClient, rawSubscribe, sleep } from "../../helpers/v5.ts";

const v5 = { protocolVersion: 5 as const };

/** A persistent session subscribed to `topic` at QoS 1, then disconnected normally. */
async function offlineSession(b: RunningBroker, id: string, topic: string): Promise<void> {
  const { raw } = await connectV5Ok(b, id, { clean: false, properties: { sessionExpiryInterval: 60 } });
  await rawSubscribe(raw, [{ topic, qos: 1 }]);
  raw.sendPacket({ cmd: "disconnect", reasonCode: 0 });
  await raw.waitClosed(1_000);
  raw.close();
}

async function resume(b: RunningBroker, id: string): Promise<RawClient> {
  const { raw, connack } = await connectV5Ok(b, id, { clean: false, properties: { sessionExpiryInterval: 60 } });
  expect(connack.sessionPresent).toBe(true);
  return raw;
}

for (const runtime of RUNTIMES) {
  describe(`MQTT 5.0 §3.3.2.3.3 Message Expiry Interval [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({ runtime });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    test("[v5 MQTT-3.3.2-6] an online subscriber receives the Message Expiry Interval (at most the value sent, not 0)", async () => {
      const topic = uniqueId("t/mei");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const got = nextMessage(sub);
        await publish(pub, topic, "m", { qos: 1, properties: { messageExpiryInterval: 60 } });
        const mei = (await got).packet.properties?.messageExpiryInterval;
        expect(typeof mei).toBe("number");
        expect(mei).toBeGreaterThan(0);
        expect(mei).toBeLessThanOrEqual(60);
      } finally {
        await closeAll(sub, pub);
      }
    });

    test("[§3.3.2.3.3] a message without expiry is forwarded without a Message Expiry Interval", async () => {
      const topic = uniqueId("t/nomei");
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const got = nextMessage(sub);
        await publish(pub, topic, "m", { qos: 1 });
        expect((await got).packet.properties?.messageExpiryInterval).toBeUndefined();
      } finally {
        await closeAll(sub, pub);
      }
    });

    // The rules on fake time (4 s offline -> 6 of 10, expiry at exactly 10 s, retained messages, wills):
    // test/core/timing-session.test.ts. Here, once over real sockets and real time:
    test("[v5 MQTT-3.3.2-5] [v5 MQTT-3.3.2-6] queued for an offline session: the expired message is dropped, the others sent (with the waiting time subtracted)", async () => {
      const id = uniqueId("exp");
      const topic = uniqueId("t/exp");
      await offlineSession(b, id, topic);
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      await publish(pub, topic, "expires", { qos: 1, properties: { messageExpiryInterval: 1 } });
      await publish(pub, topic, "aging", { qos: 1, properties: { messageExpiryInterval: 10 } });
      await publish(pub, topic, "stays", { qos: 1 });
      await sleep(1_200); // past the 1 s interval
      const raw = await resume(b, id);
      try {
        const aging: AnyPacket = await nextPublish(raw);
        raw.sendPacket({ cmd: "puback", messageId: aging.messageId, reasonCode: 0 });
        const stays: AnyPacket = await nextPublish(raw);
        raw.sendPacket({ cmd: "puback", messageId: stays.messageId, reasonCode: 0 });
        expect([String(aging.payload), String(stays.payload)]).toEqual(["aging", "stays"]);
        expect(aging.properties?.messageExpiryInterval).toBeLessThanOrEqual(9);
        expect(aging.properties?.messageExpiryInterval).toBeGreaterThanOrEqual(1);
        expect(stays.properties?.messageExpiryInterval).toBeUndefined();
        await expectNoPublish(raw, 300);
      } finally {
        raw.close();
        await closeAll(pub);
      }
    }, 8_000);
  });
}
