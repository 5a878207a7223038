/**
 * MQTT 3.1.1 (OASIS 2014) §3.3.1.3 RETAIN: storing, replacing and clearing retained messages, the
 * RETAIN flag on delivery, and retained messages outliving sessions (§3.1.2.4).
 */
import { describe, expect, test } from "bun:test";
import { RUNTIMES } from "../../helpers/broker.ts";
import {
  closeAll,
  collectMessages,
  connectClient,
  expectNoMessage,
  nextMessage,
  publish,
  subscribe,
  uniqueId,
} from "../../helpers/clients.ts";
import type { RunningBroker } from "../../helpers/broker.ts";
import { useBroker } from "../../helpers/suite.ts";

async function publishOnce(b: RunningBroker, topic: string, payload: string, opts: { qos?: 0 | 1 | 2; retain?: boolean }) {
  const c = await connectClient(b, { clientId: uniqueId("pub") });
  try {
    // QoS 0 has no acknowledgement: follow it with a QoS 1 publish elsewhere so it was processed.
    await publish(c, topic, payload, opts);
    if ((opts.qos ?? 0) === 0) await publish(c, uniqueId("t/fence"), "", { qos: 1 });
  } finally {
    await closeAll(c);
  }
}

for (const runtime of RUNTIMES) {
  describe(`MQTT 3.1.1 §3.3.1.3 retained messages [${runtime}]`, () => {
    const b = useBroker(runtime);

    test("[3.1.1 MQTT-3.3.1-5] [3.1.1 MQTT-3.3.1-6] [3.1.1 MQTT-3.3.1-8] a retained message is sent to a new subscriber with RETAIN=1", async () => {
      const topic = uniqueId("r/store");
      await publishOnce(b(), topic, "kept", { qos: 1, retain: true });
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        const got = nextMessage(sub);
        await subscribe(sub, topic, { qos: 1 });
        const m = await got;
        expect(m.topic).toBe(topic);
        expect(m.payload.toString()).toBe("kept");
        expect(m.packet.retain).toBe(true);
        expect(m.packet.qos).toBe(1);
      } finally {
        await closeAll(sub);
        await publishOnce(b(), topic, "", { qos: 1, retain: true });
      }
    });

    test("[3.1.1 MQTT-3.3.1-9] a retained publication forwarded to an existing subscription has RETAIN=0", async () => {
      const topic = uniqueId("r/live");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const got = nextMessage(sub);
        await publishOnce(b(), topic, "live", { qos: 1, retain: true });
        const m = await got;
        expect(m.payload.toString()).toBe("live");
        expect(m.packet.retain).toBe(false);
      } finally {
        await closeAll(sub);
        await publishOnce(b(), topic, "", { qos: 1, retain: true });
      }
    });

    test("[3.1.1 MQTT-3.3.1-5] a new retained message replaces the previous one: only the latest is sent", async () => {
      const topic = uniqueId("r/replace");
      await publishOnce(b(), topic, "old", { qos: 1, retain: true });
      await publishOnce(b(), topic, "new", { qos: 1, retain: true });
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        const col = collectMessages(sub);
        await subscribe(sub, topic, { qos: 1 });
        await col.waitFor(1);
        await expectNoMessage(sub, 300);
        expect(col.messages.map((m) => m.payload.toString())).toEqual(["new"]);
      } finally {
        await closeAll(sub);
        await publishOnce(b(), topic, "", { qos: 1, retain: true });
      }
    });

    test("[3.1.1 MQTT-3.3.1-7] a retained QoS 0 message replaces a retained QoS 1 message", async () => {
      const topic = uniqueId("r/q0");
      await publishOnce(b(), topic, "qos1", { qos: 1, retain: true });
      await publishOnce(b(), topic, "qos0", { qos: 0, retain: true });
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        const col = collectMessages(sub);
        await subscribe(sub, topic, { qos: 2 });
        await col.waitFor(1);
        await expectNoMessage(sub, 300);
        expect(col.messages.map((m) => [m.payload.toString(), m.packet.qos])).toEqual([["qos0", 0]]);
      } finally {
        await closeAll(sub);
        await publishOnce(b(), topic, "", { qos: 1, retain: true });
      }
    });

    test("[3.1.1 MQTT-3.3.1-10] [3.1.1 MQTT-3.3.1-11] a retained message with an empty payload clears the topic and is still forwarded to current subscribers", async () => {
      const topic = uniqueId("r/clear");
      await publishOnce(b(), topic, "to be cleared", { qos: 1, retain: true });
      const current = await connectClient(b(), { clientId: uniqueId("cur") });
      try {
        const col = collectMessages(current);
        await subscribe(current, topic, { qos: 1 });
        await col.waitFor(1); // the retained one
        await publishOnce(b(), topic, "", { qos: 1, retain: true });
        await col.waitFor(2);
        expect(col.messages[1].payload.length).toBe(0);
        expect(col.messages[1].packet.retain).toBe(false);
      } finally {
        await closeAll(current);
      }
      const late = await connectClient(b(), { clientId: uniqueId("late") });
      try {
        await subscribe(late, topic, { qos: 1 });
        await expectNoMessage(late, 400);
      } finally {
        await closeAll(late);
      }
    });

    test("[3.1.1 MQTT-3.3.1-12] a PUBLISH with RETAIN=0 neither stores nor replaces nor removes the retained message", async () => {
      const topic = uniqueId("r/noretain");
      await publishOnce(b(), topic, "retained", { qos: 1, retain: true });
      await publishOnce(b(), topic, "not retained", { qos: 1, retain: false });
      await publishOnce(b(), topic, "", { qos: 1, retain: false });
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        const col = collectMessages(sub);
        await subscribe(sub, topic, { qos: 1 });
        await col.waitFor(1);
        await expectNoMessage(sub, 300);
        expect(col.messages.map((m) => m.payload.toString())).toEqual(["retained"]);
      } finally {
        await closeAll(sub);
        await publishOnce(b(), topic, "", { qos: 1, retain: true });
      }
      const other = uniqueId("r/never");
      await publishOnce(b(), other, "plain", { qos: 1, retain: false });
      const sub2 = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub2, other, { qos: 1 });
        await expectNoMessage(sub2, 300);
      } finally {
        await closeAll(sub2);
      }
    });

    test("[3.1.1 MQTT-3.3.1-6] a wildcard subscription receives the retained message of every matching topic (and only those)", async () => {
      const base = uniqueId("r/wild");
      await publishOnce(b(), `${base}/a`, "A", { qos: 1, retain: true });
      await publishOnce(b(), `${base}/b/c`, "BC", { qos: 1, retain: true });
      await publishOnce(b(), `${base}x/a`, "other tree", { qos: 1, retain: true });
      const plus = await connectClient(b(), { clientId: uniqueId("plus") });
      const hash = await connectClient(b(), { clientId: uniqueId("hash") });
      try {
        const colPlus = collectMessages(plus);
        const colHash = collectMessages(hash);
        await subscribe(plus, `${base}/+`, { qos: 1 });
        await subscribe(hash, `${base}/#`, { qos: 1 });
        await colPlus.waitFor(1);
        await colHash.waitFor(2);
        await expectNoMessage(hash, 300);
        expect(colPlus.messages.map((m) => m.payload.toString())).toEqual(["A"]);
        expect(colHash.messages.map((m) => m.payload.toString()).sort()).toEqual(["A", "BC"]);
        for (const m of [...colPlus.messages, ...colHash.messages]) expect(m.packet.retain).toBe(true);
      } finally {
        await closeAll(plus, hash);
        for (const t of [`${base}/a`, `${base}/b/c`, `${base}x/a`]) await publishOnce(b(), t, "", { qos: 1, retain: true });
      }
    });

    test("[3.1.1 MQTT-3.8.4-6] a retained message is delivered at the minimum of its QoS and the subscription's QoS", async () => {
      const topic = uniqueId("r/minqos");
      await publishOnce(b(), topic, "q2", { qos: 2, retain: true });
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        const got = nextMessage(sub);
        await subscribe(sub, topic, { qos: 1 });
        const m = await got;
        expect(m.packet.qos).toBe(1);
        expect(m.packet.retain).toBe(true);
      } finally {
        await closeAll(sub);
        await publishOnce(b(), topic, "", { qos: 1, retain: true });
      }
    });

    test("[3.1.1 MQTT-3.8.4-3] subscribing again to the same filter re-sends the retained message", async () => {
      const topic = uniqueId("r/resub");
      await publishOnce(b(), topic, "again", { qos: 1, retain: true });
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        const col = collectMessages(sub);
        await subscribe(sub, topic, { qos: 1 });
        await col.waitFor(1);
        await subscribe(sub, topic, { qos: 0 });
        await col.waitFor(2);
        expect(col.messages.map((m) => [m.payload.toString(), m.packet.retain])).toEqual([["again", true], ["again", true]]);
        expect(col.messages[1].packet.qos).toBe(0);
      } finally {
        await closeAll(sub);
        await publishOnce(b(), topic, "", { qos: 1, retain: true });
      }
    });

    test("[3.1.1 MQTT-3.1.2-7] retained messages are not part of the session: they survive the publisher's session ending", async () => {
      const topic = uniqueId("r/session");
      const clientId = uniqueId("pubsess");
      const p = await connectClient(b(), { clientId, clean: false });
      await publish(p, topic, "outlives", { qos: 1, retain: true });
      await closeAll(p);
      await closeAll(await connectClient(b(), { clientId, clean: true })); // discard that session
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        const got = nextMessage(sub);
        await subscribe(sub, topic, { qos: 1 });
        expect((await got).payload.toString()).toBe("outlives");
      } finally {
        await closeAll(sub);
        await publishOnce(b(), topic, "", { qos: 1, retain: true });
      }
    });
  });
}
