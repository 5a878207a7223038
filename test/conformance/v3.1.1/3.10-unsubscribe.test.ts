/** MQTT 3.1.1 (OASIS 2014) §3.10 UNSUBSCRIBE and §3.11 UNSUBACK. */
import { describe, expect, test } from "bun:test";
import { RUNTIMES } from "../../helpers/broker.ts";
import {
  closeAll,
  collectMessages,
  connectClient,
  expectNoMessage,
  publish,
  subscribe,
  uniqueId,
  unsubscribe,
} from "../../helpers/clients.ts";
import { connectRaw, rawSubscribe, remainingLength, u16 } from "../../helpers/raw.ts";
import { expectClosed, expectOpen, useBroker } from "../../helpers/suite.ts";

function unsubscribeBytes(messageId: number, filters: string[], firstByte = 0xa2): Buffer {
  const body = Buffer.concat([u16(messageId), ...filters.flatMap((f) => [u16(Buffer.byteLength(f)), Buffer.from(f)])]);
  return Buffer.concat([Buffer.from([firstByte]), remainingLength(body.length), body]);
}

for (const runtime of RUNTIMES) {
  describe(`MQTT 3.1.1 §3.10 UNSUBSCRIBE [${runtime}]`, () => {
    const b = useBroker(runtime);

    test("[3.1.1 MQTT-3.10.4-2] after UNSUBSCRIBE no new messages are delivered for that filter", async () => {
      const topic = uniqueId("u/stop");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const col = collectMessages(sub);
        await publish(pub, topic, "before", { qos: 1 });
        await col.waitFor(1);
        await unsubscribe(sub, topic);
        await publish(pub, topic, "after", { qos: 1 });
        await expectNoMessage(sub, 400);
        expect(col.messages.map((m) => m.payload.toString())).toEqual(["before"]);
      } finally {
        await closeAll(sub, pub);
      }
    });

    test("[3.1.1 MQTT-3.10.4-4] [3.1.1 MQTT-2.3.1-7] UNSUBACK carries the Packet Identifier of the UNSUBSCRIBE", async () => {
      const topic = uniqueId("u/id");
      const { raw } = await connectRaw(b(), { clientId: uniqueId("u") });
      try {
        await rawSubscribe(raw, [{ topic, qos: 0 }]);
        raw.send(unsubscribeBytes(0x4321, [topic]));
        const ack = await raw.nextPacketOf("unsuback");
        expect(ack.messageId).toBe(0x4321);
      } finally {
        raw.close();
      }
    });

    test("[3.1.1 MQTT-3.10.4-5] UNSUBACK is sent even when no subscription matched the filter", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("u") });
      try {
        raw.send(unsubscribeBytes(77, [uniqueId("u/never-subscribed")]));
        const ack = await raw.nextPacketOf("unsuback");
        expect(ack.messageId).toBe(77);
        await expectOpen(raw);
      } finally {
        raw.close();
      }
    });

    test("[3.1.1 MQTT-3.10.4-1] filters are compared character by character: unsubscribing a topic does not remove a wildcard that matches it", async () => {
      const base = uniqueId("u/exact");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        await subscribe(sub, `${base}/+`, { qos: 1 });
        await subscribe(sub, `${base}/#`, { qos: 1 });
        await unsubscribe(sub, `${base}/a`); // never subscribed literally
        await unsubscribe(sub, `${base}/+`); // removes only "+"
        const col = collectMessages(sub);
        await publish(pub, `${base}/a`, "via #", { qos: 1 });
        await col.waitFor(1);
        await expectNoMessage(sub, 300);
        expect(col.messages.map((m) => m.payload.toString())).toEqual(["via #"]);
        await unsubscribe(sub, `${base}/#`);
        await publish(pub, `${base}/a`, "none", { qos: 1 });
        await expectNoMessage(sub, 300);
      } finally {
        await closeAll(sub, pub);
      }
    });

    test("[3.1.1 MQTT-3.10.4-6] several filters in one UNSUBSCRIBE: a single UNSUBACK and all are removed", async () => {
      const base = uniqueId("u/multi");
      const { raw } = await connectRaw(b(), { clientId: uniqueId("u") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        await rawSubscribe(raw, [{ topic: `${base}/a`, qos: 0 }, { topic: `${base}/b`, qos: 0 }, { topic: `${base}/c`, qos: 0 }]);
        raw.send(unsubscribeBytes(88, [`${base}/a`, `${base}/c`]));
        const ack = await raw.nextPacketOf("unsuback");
        expect(ack.messageId).toBe(88);
        for (const t of ["a", "b", "c"]) await publish(pub, `${base}/${t}`, t, { qos: 1 });
        const p = await raw.nextPacketOf("publish");
        expect(p.topic).toBe(`${base}/b`);
        await expectOpen(raw);
        expect(raw.packets().filter((x) => x.cmd === "publish").length).toBe(1);
        expect(raw.packets().filter((x) => x.cmd === "unsuback").length).toBe(1);
      } finally {
        raw.close();
        await closeAll(pub);
      }
    });

    test("[3.1.1 MQTT-3.10.4-3] a QoS 1 message already sent before UNSUBSCRIBE can still be acknowledged", async () => {
      const topic = uniqueId("u/inflight");
      const { raw } = await connectRaw(b(), { clientId: uniqueId("u") });
      const pub = await connectClient(b(), { clientId: uniqueId("pub") });
      try {
        await rawSubscribe(raw, [{ topic, qos: 1 }]);
        await publish(pub, topic, "in flight", { qos: 1 });
        const p = await raw.nextPacketOf("publish");
        raw.send(unsubscribeBytes(99, [topic]));
        await raw.nextPacketOf("unsuback");
        raw.sendPacket({ cmd: "puback", messageId: p.messageId });
        await publish(pub, topic, "after", { qos: 1 });
        await expectOpen(raw);
        expect(raw.packets().filter((x) => x.cmd === "publish").map((x) => x.payload.toString())).toEqual(["in flight"]);
      } finally {
        raw.close();
        await closeAll(pub);
      }
    });

    test("[3.1.1 MQTT-3.10.1-1] an UNSUBSCRIBE whose fixed header flags are not 0010 closes the connection", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("u") });
      raw.send(unsubscribeBytes(5, [uniqueId("u/flags")], 0xa0));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "unsuback")).toBe(false);
    });

    test("[3.1.1 MQTT-3.10.3-2] an UNSUBSCRIBE with no Topic Filter is a protocol violation: connection closed", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("u") });
      raw.send(unsubscribeBytes(6, []));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "unsuback")).toBe(false);
    });

    test("[3.1.1 MQTT-2.3.1-1] an UNSUBSCRIBE with Packet Identifier 0 closes the connection", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("u") });
      raw.send(unsubscribeBytes(0, [uniqueId("u/pid0")]));
      await expectClosed(raw);
    });
  });
}
