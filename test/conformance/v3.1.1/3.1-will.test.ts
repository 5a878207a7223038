/**
 * MQTT 3.1.1 (OASIS 2014) §3.1.2.5-3.1.2.7 Will flag, Will QoS, Will Retain and §3.14 DISCONNECT:
 * when the Will Message is (not) published.
 */
import { describe, expect, test } from "bun:test";
import { RUNTIMES } from "../../helpers/broker.ts";
import { closeAll, collectMessages, connectClient, expectNoMessage, nextMessage, publish, subscribe, uniqueId } from "../../helpers/clients.ts";
import { connectRaw, openRaw, rawConnectBytes, u16 } from "../../helpers/raw.ts";
import { expectClosed, useBroker } from "../../helpers/suite.ts";

/** CONNECT payload tail with a will (after the client id): will topic and will message. */
function willPayload(topic: string, message: string): Buffer {
  const t = Buffer.from(topic);
  const m = Buffer.from(message);
  return Buffer.concat([u16(t.length), t, u16(m.length), m]);
}

for (const runtime of RUNTIMES) {
  describe(`MQTT 3.1.1 §3.1.2.5 Will [${runtime}]`, () => {
    const b = useBroker(runtime);

    test("[3.1.1 MQTT-3.1.2-8] the Will Message is published when the network connection closes without DISCONNECT", async () => {
      const topic = uniqueId("will/abnormal");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const { raw, connack } = await connectRaw(b(), {
          clientId: uniqueId("dying"),
          will: { topic, payload: Buffer.from("gone"), qos: 1, retain: false },
        });
        expect(connack.returnCode).toBe(0);
        const got = nextMessage(sub, 3_000);
        raw.close(); // socket destroyed, no DISCONNECT
        const m = await got;
        expect(m.topic).toBe(topic);
        expect(m.payload.toString()).toBe("gone");
        expect(m.packet.qos).toBe(1);
        // [3.1.1 MQTT-3.1.2-10] published once, then removed
        await expectNoMessage(sub, 400);
      } finally {
        await closeAll(sub);
      }
    });

    test("[3.1.1 MQTT-3.14.4-3] [3.1.1 MQTT-3.1.2-10] after DISCONNECT the Will Message is discarded, not published", async () => {
      const topic = uniqueId("will/clean");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const { raw } = await connectRaw(b(), {
          clientId: uniqueId("polite"),
          will: { topic, payload: Buffer.from("should not be sent"), qos: 1, retain: false },
        });
        raw.send(Buffer.from([0xe0, 0x00])); // DISCONNECT
        await expectClosed(raw); // the server closes after DISCONNECT (or we do below)
        await expectNoMessage(sub, 500);
      } finally {
        await closeAll(sub);
      }
    });

    test("[3.1.1 MQTT-3.14.1-1] a DISCONNECT with reserved flags set is a protocol violation: connection closed and the will published", async () => {
      const topic = uniqueId("will/baddisconnect");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const { raw } = await connectRaw(b(), {
          clientId: uniqueId("baddisc"),
          will: { topic, payload: Buffer.from("not a real DISCONNECT"), qos: 1, retain: false },
        });
        const got = nextMessage(sub, 3_000);
        raw.send(Buffer.from([0xe1, 0x00])); // DISCONNECT with flag bit 0 set
        await expectClosed(raw);
        expect((await got).payload.toString()).toBe("not a real DISCONNECT");
      } finally {
        await closeAll(sub);
      }
    });

    test("[3.1.1 MQTT-3.1.2-12] without the Will Flag nothing is published when the connection drops", async () => {
      const prefix = uniqueId("will/none");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, "#", { qos: 1 });
        const { raw } = await connectRaw(b(), { clientId: `${prefix}-c` });
        raw.close();
        await expectNoMessage(sub, 500);
      } finally {
        await closeAll(sub);
      }
    });

    test("[3.1.1 MQTT-3.1.2-16] Will Retain 0: the Will Message is published as a non-retained message", async () => {
      const topic = uniqueId("will/noretain");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 0 });
        const { raw } = await connectRaw(b(), {
          clientId: uniqueId("w"),
          will: { topic, payload: Buffer.from("bye"), qos: 0, retain: false },
        });
        const got = nextMessage(sub, 3_000);
        raw.close();
        expect((await got).payload.toString()).toBe("bye");
        const late = await connectClient(b(), { clientId: uniqueId("late") });
        try {
          await subscribe(late, topic, { qos: 0 });
          await expectNoMessage(late, 400);
        } finally {
          await closeAll(late);
        }
      } finally {
        await closeAll(sub);
      }
    });

    test("[3.1.1 MQTT-3.1.2-17] Will Retain 1: the Will Message is published as a retained message", async () => {
      const topic = uniqueId("will/retain");
      const { raw } = await connectRaw(b(), {
        clientId: uniqueId("w"),
        will: { topic, payload: Buffer.from("last words"), qos: 1, retain: true },
      });
      raw.close();
      // A subscriber arriving afterwards receives it as a retained message.
      const late = await connectClient(b(), { clientId: uniqueId("late") });
      try {
        const col = collectMessages(late);
        let m;
        for (let i = 0; i < 20 && !m; i++) {
          // the will may be published a moment after the socket closes: poll by resubscribing
          await subscribe(late, topic, { qos: 1 });
          m = await col.waitFor(1, 250).then((ms) => ms[0]).catch(() => undefined);
        }
        expect(m).toBeDefined();
        expect(m!.payload.toString()).toBe("last words");
        expect(m!.packet.retain).toBe(true);
      } finally {
        await closeAll(late);
        // clear the retained will
        const c = await connectClient(b(), { clientId: uniqueId("clr") });
        await publish(c, topic, "", { retain: true, qos: 1 }).catch(() => {});
        await closeAll(c);
      }
    });

    test("[3.1.1 MQTT-3.1.2-9] the Will QoS is used: a QoS 2 will reaches a QoS 2 subscriber at QoS 2", async () => {
      const topic = uniqueId("will/qos2");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 2 });
        const { raw } = await connectRaw(b(), {
          clientId: uniqueId("w"),
          will: { topic, payload: Buffer.from("q2"), qos: 2, retain: false },
        });
        const got = nextMessage(sub, 3_000);
        raw.close();
        const m = await got;
        expect(m.payload.toString()).toBe("q2");
        expect(m.packet.qos).toBe(2);
      } finally {
        await closeAll(sub);
      }
    });

    test("[3.1.1 MQTT-3.1.2-8] the Will Message is published when the server closes the connection for a protocol violation", async () => {
      const topic = uniqueId("will/violation");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const { raw } = await connectRaw(b(), {
          clientId: uniqueId("bad"),
          will: { topic, payload: Buffer.from("violated"), qos: 1, retain: false },
        });
        const got = nextMessage(sub, 3_000);
        raw.send(Buffer.from([0x36, 0x00])); // PUBLISH with QoS 3 [3.1.1 MQTT-3.3.1-4]
        await expectClosed(raw);
        expect((await got).payload.toString()).toBe("violated");
      } finally {
        await closeAll(sub);
      }
    });

    test("[3.1.1 MQTT-3.1.2-14] Will QoS 3 is a malformed CONNECT: connection closed without CONNACK 0", async () => {
      const topic = uniqueId("will/q3");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 0 });
        const raw = await openRaw(b());
        raw.send(rawConnectBytes({ flags: 0x02 | 0x04 | 0x18, clientId: uniqueId("q3"), extra: willPayload(topic, "x") }));
        await expectClosed(raw);
        expect(raw.packets().some((p) => p.cmd === "connack" && p.returnCode === 0)).toBe(false);
        await expectNoMessage(sub, 300);
      } finally {
        await closeAll(sub);
      }
    });

    test("[3.1.1 MQTT-3.1.2-13] Will Flag 0 with Will QoS 1: connection closed without CONNACK 0", async () => {
      const raw = await openRaw(b());
      raw.send(rawConnectBytes({ flags: 0x02 | 0x08, clientId: uniqueId("wq") }));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "connack" && p.returnCode === 0)).toBe(false);
    });

    test("[3.1.1 MQTT-3.1.2-15] Will Flag 0 with Will Retain 1: connection closed without CONNACK 0", async () => {
      const raw = await openRaw(b());
      raw.send(rawConnectBytes({ flags: 0x02 | 0x20, clientId: uniqueId("wr") }));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "connack" && p.returnCode === 0)).toBe(false);
    });

    test("[3.1.1 MQTT-3.1.2-9] Will Flag 1 but the Will Topic and Message missing from the payload: connection closed", async () => {
      const raw = await openRaw(b());
      raw.send(rawConnectBytes({ flags: 0x02 | 0x04, clientId: uniqueId("wm") }));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "connack" && p.returnCode === 0)).toBe(false);
    });

    test("[3.1.1 MQTT-4.7.1-1] a Will Topic containing a wildcard is refused: no CONNACK 0, connection closed", async () => {
      const raw = await openRaw(b());
      raw.send(rawConnectBytes({ flags: 0x02 | 0x04, clientId: uniqueId("ww"), extra: willPayload("will/+/x", "x") }));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "connack" && p.returnCode === 0)).toBe(false);
    });
  });
}
