/**
 * MQTT 3.1.1 (OASIS 2014) session state: §3.1.2.4 CleanSession, §3.1.4 takeover, §3.2.2.2 Session
 * Present, offline queueing of QoS 1/2 and §4.4 redelivery of unacknowledged messages on reconnect.
 */
import { describe, expect, test } from "bun:test";
import { RUNTIMES } from "../../helpers/broker.ts";
import {
  closeAll,
  collectMessages,
  connectClient,
  connectCollecting,
  expectNoMessage,
  nextMessage,
  publish,
  subscribe,
  uniqueId,
  waitClose,
} from "../../helpers/clients.ts";
import { connectRaw, rawAck, rawPublish, rawSubscribe } from "../../helpers/raw.ts";
import { expectClosed, expectOpen, useBroker } from "../../helpers/suite.ts";

const DISCONNECT = Buffer.from([0xe0, 0x00]);

for (const runtime of RUNTIMES) {
  describe(`MQTT 3.1.1 sessions [${runtime}]`, () => {
    const b = useBroker(runtime);

    test("[3.1.1 MQTT-3.1.4-2] a CONNECT with the client id of a connected client closes the existing connection", async () => {
      const clientId = uniqueId("take");
      const first = await connectClient(b(), { clientId });
      const closed = waitClose(first, 3_000);
      const second = await connectClient(b(), { clientId });
      try {
        expect(await closed).toBe(true);
        // The new connection is fully functional.
        const topic = uniqueId("t/take");
        await subscribe(second, topic, { qos: 1 });
        const got = nextMessage(second);
        await publish(second, topic, "still here", { qos: 1 });
        expect((await got).payload.toString()).toBe("still here");
      } finally {
        await closeAll(first, second);
      }
    });

    test("[3.1.1 MQTT-3.1.4-2] [3.1.1 MQTT-3.2.2-2] takeover with CleanSession=0 keeps the session: Session Present 1 and the subscription works", async () => {
      const clientId = uniqueId("take0");
      const topic = uniqueId("t/take0");
      const a = await connectRaw(b(), { clientId, clean: false });
      await rawSubscribe(a.raw, [{ topic, qos: 1 }]);
      const c = await connectRaw(b(), { clientId, clean: false });
      try {
        await expectClosed(a.raw);
        expect(c.connack.sessionPresent).toBe(true);
        const pub = await connectClient(b(), { clientId: uniqueId("pub") });
        await publish(pub, topic, "to the new connection", { qos: 1 });
        await closeAll(pub);
        const p = await c.raw.nextPacketOf("publish");
        expect(p.topic).toBe(topic);
        expect(p.payload.toString()).toBe("to the new connection");
        rawAck(c.raw, p);
      } finally {
        a.raw.close();
        c.raw.send(DISCONNECT);
        c.raw.close();
      }
    });

    test("[3.1.1 MQTT-3.2.2-3] CleanSession=0 without a stored session: Session Present 0; [3.1.1 MQTT-3.2.2-2] with one: Session Present 1", async () => {
      const clientId = uniqueId("sp");
      const one = await connectRaw(b(), { clientId, clean: false });
      expect(one.connack.returnCode).toBe(0);
      expect(one.connack.sessionPresent).toBe(false);
      one.raw.send(DISCONNECT);
      await expectClosed(one.raw);
      const two = await connectRaw(b(), { clientId, clean: false });
      expect(two.connack.returnCode).toBe(0);
      expect(two.connack.sessionPresent).toBe(true);
      two.raw.send(DISCONNECT);
      two.raw.close();
    });

    test("[3.1.1 MQTT-3.2.2-1] CleanSession=1: Session Present 0 even when a session was stored", async () => {
      const clientId = uniqueId("sp1");
      const one = await connectRaw(b(), { clientId, clean: false });
      await rawSubscribe(one.raw, [{ topic: uniqueId("t/sp1"), qos: 1 }]);
      one.raw.send(DISCONNECT);
      await expectClosed(one.raw);
      const two = await connectRaw(b(), { clientId, clean: true });
      expect(two.connack.returnCode).toBe(0);
      expect(two.connack.sessionPresent).toBe(false);
      two.raw.send(DISCONNECT);
      two.raw.close();
    });

    test("[3.1.1 MQTT-3.1.2-4] CleanSession=0: subscriptions survive a disconnect and deliver after reconnecting", async () => {
      const clientId = uniqueId("keep");
      const topic = uniqueId("t/keep");
      const one = await connectClient(b(), { clientId, clean: false });
      await subscribe(one, topic, { qos: 1 });
      await closeAll(one);
      const two = await connectClient(b(), { clientId, clean: false });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        const got = nextMessage(two);
        await publish(pub, topic, "no resubscribe needed", { qos: 1 });
        expect((await got).payload.toString()).toBe("no resubscribe needed");
      } finally {
        await closeAll(two, pub);
        const clean = await connectClient(b(), { clientId, clean: true });
        await closeAll(clean);
      }
    });

    test("[3.1.1 MQTT-3.1.2-6] CleanSession=1 discards the previous session: old subscriptions are gone", async () => {
      const clientId = uniqueId("wipe");
      const topic = uniqueId("t/wipe");
      const one = await connectClient(b(), { clientId, clean: false });
      await subscribe(one, topic, { qos: 1 });
      await closeAll(one);
      const wipe = await connectClient(b(), { clientId, clean: true });
      await closeAll(wipe);
      const three = await connectRaw(b(), { clientId, clean: false });
      expect(three.connack.sessionPresent).toBe(false);
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        await publish(pub, topic, "nobody listens", { qos: 1 });
        await expectOpen(three.raw);
        await new Promise((r) => setTimeout(r, 300));
        expect(three.raw.packets().filter((p) => p.cmd === "publish")).toEqual([]);
      } finally {
        await closeAll(pub);
        three.raw.close();
      }
    });

    test("[3.1.1 MQTT-3.1.2-6] a CleanSession=1 session ends with its connection: nothing is queued after it closes", async () => {
      const clientId = uniqueId("eph");
      const topic = uniqueId("t/eph");
      const one = await connectClient(b(), { clientId, clean: true });
      await subscribe(one, topic, { qos: 1 });
      await closeAll(one);
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      await publish(pub, topic, "lost", { qos: 1 });
      await closeAll(pub);
      const { client, col } = await connectCollecting(b(), { clientId, clean: false });
      try {
        await new Promise((r) => setTimeout(r, 400));
        expect(col.messages.map((m) => m.payload.toString())).toEqual([]);
      } finally {
        await closeAll(client);
      }
    });

    test("[3.1.1 MQTT-3.1.2-5] offline QoS 1 and QoS 2 messages are queued and delivered on reconnect; QoS 0 is not queued by default", async () => {
      const clientId = uniqueId("offl");
      const topic = uniqueId("t/offl");
      const one = await connectClient(b(), { clientId, clean: false });
      await subscribe(one, topic, { qos: 2 });
      await closeAll(one);
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      await publish(pub, topic, "zero", { qos: 0 });
      await publish(pub, topic, "one", { qos: 1 });
      await publish(pub, topic, "two", { qos: 2 });
      await closeAll(pub);
      const { client, col } = await connectCollecting(b(), { clientId, clean: false });
      try {
        await col.waitFor(2, 3_000);
        await new Promise((r) => setTimeout(r, 300)); // anything else (the QoS 0 message) would show up now
        expect(col.messages.map((m) => [m.payload.toString(), m.packet.qos])).toEqual([["one", 1], ["two", 2]]);
      } finally {
        await closeAll(client);
        await closeAll(await connectClient(b(), { clientId, clean: true }));
      }
    });

    test("[3.1.1 MQTT-3.1.2-5] [3.1.1 MQTT-4.6.0-6] many queued messages arrive complete and in publish order", async () => {
      const clientId = uniqueId("order");
      const topic = uniqueId("t/order");
      const one = await connectClient(b(), { clientId, clean: false });
      await subscribe(one, topic, { qos: 1 });
      await closeAll(one);
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      const n = 100;
      await Promise.all(Array.from({ length: n }, (_, i) => publish(pub, topic, String(i), { qos: 1 }, 5_000)));
      await closeAll(pub);
      const { client, col } = await connectCollecting(b(), { clientId, clean: false });
      try {
        await col.waitFor(n, 5_000);
        expect(col.messages.map((m) => Number(m.payload.toString()))).toEqual(Array.from({ length: n }, (_, i) => i));
      } finally {
        await closeAll(client);
        await closeAll(await connectClient(b(), { clientId, clean: true }));
      }
    });

    test("[3.1.1 MQTT-4.4.0-1] an unacknowledged QoS 1 PUBLISH is re-sent on reconnect with DUP=1 and its original packet id", async () => {
      const clientId = uniqueId("redel1");
      const topic = uniqueId("t/redel1");
      const one = await connectRaw(b(), { clientId, clean: false });
      await rawSubscribe(one.raw, [{ topic, qos: 1 }]);
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      await publish(pub, topic, "ack me", { qos: 1 });
      await closeAll(pub);
      const first = await one.raw.nextPacketOf("publish");
      expect(first.qos).toBe(1);
      expect(first.dup).toBe(false);
      one.raw.close(); // no PUBACK
      await expectClosed(one.raw);

      const two = await connectRaw(b(), { clientId, clean: false });
      try {
        expect(two.connack.sessionPresent).toBe(true);
        const again = await two.raw.nextPacketOf("publish");
        expect(again.topic).toBe(topic);
        expect(again.payload.toString()).toBe("ack me");
        expect(again.qos).toBe(1);
        expect(again.dup).toBe(true);
        expect(again.messageId).toBe(first.messageId);
        rawAck(two.raw, again);
        await expectOpen(two.raw);
      } finally {
        two.raw.send(DISCONNECT);
        two.raw.close();
        await closeAll(await connectClient(b(), { clientId, clean: true }));
      }
    });

    test("[3.1.1 MQTT-4.4.0-1] an unacknowledged outgoing QoS 2 PUBLISH is re-sent with DUP=1; after PUBREC the PUBREL is re-sent", async () => {
      const clientId = uniqueId("redel2");
      const topic = uniqueId("t/redel2");
      const one = await connectRaw(b(), { clientId, clean: false });
      await rawSubscribe(one.raw, [{ topic, qos: 2 }]);
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      await publish(pub, topic, "exactly once", { qos: 2 });
      await closeAll(pub);
      const first = await one.raw.nextPacketOf("publish");
      expect(first.qos).toBe(2);
      one.raw.close(); // neither PUBREC nor anything else
      await expectClosed(one.raw);

      const two = await connectRaw(b(), { clientId, clean: false });
      const again = await two.raw.nextPacketOf("publish");
      expect(again.dup).toBe(true);
      expect(again.messageId).toBe(first.messageId);
      expect(again.payload.toString()).toBe("exactly once");
      two.raw.sendPacket({ cmd: "pubrec", messageId: again.messageId });
      const rel = await two.raw.nextPacketOf("pubrel");
      expect(rel.messageId).toBe(first.messageId);
      two.raw.close(); // no PUBCOMP
      await expectClosed(two.raw);

      const three = await connectRaw(b(), { clientId, clean: false });
      try {
        const p = await three.raw.nextPacket();
        expect(p.cmd).toBe("pubrel"); // the PUBLISH is not sent again once PUBREC was received
        expect(p.messageId).toBe(first.messageId);
        three.raw.sendPacket({ cmd: "pubcomp", messageId: p.messageId });
        await expectOpen(three.raw);
        expect(three.raw.packets().filter((x) => x.cmd === "publish")).toEqual([]);
      } finally {
        three.raw.send(DISCONNECT);
        three.raw.close();
        await closeAll(await connectClient(b(), { clientId, clean: true }));
      }
    });

    test("[3.1.1 MQTT-4.4.0-1] [3.1.1 MQTT-4.3.3-2] a publisher that reconnects and re-sends PUBREL gets PUBCOMP; the message is delivered once", async () => {
      const clientId = uniqueId("inrel");
      const topic = uniqueId("t/inrel");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 2 });
        const col = collectMessages(sub);
        const one = await connectRaw(b(), { clientId, clean: false });
        rawPublish(one.raw, topic, "once", { qos: 2, messageId: 42 });
        const rec = await one.raw.nextPacketOf("pubrec");
        expect(rec.messageId).toBe(42);
        one.raw.close(); // no PUBREL yet
        await expectClosed(one.raw);
        const two = await connectRaw(b(), { clientId, clean: false });
        expect(two.connack.sessionPresent).toBe(true);
        two.raw.sendPacket({ cmd: "pubrel", messageId: 42 });
        const comp = await two.raw.nextPacketOf("pubcomp");
        expect(comp.messageId).toBe(42);
        await col.waitFor(1, 2_000);
        await expectNoMessage(sub, 300);
        expect(col.messages.map((m) => m.payload.toString())).toEqual(["once"]);
        two.raw.send(DISCONNECT);
        two.raw.close();
      } finally {
        await closeAll(sub);
        await closeAll(await connectClient(b(), { clientId, clean: true }));
      }
    });
  });
}
