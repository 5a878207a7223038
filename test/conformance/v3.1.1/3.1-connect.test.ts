/**
 * MQTT 3.1.1 (OASIS 2014) section 3.1 CONNECT and 3.2 CONNACK: protocol name and level, connect
 * flags, client identifier rules, first-packet rules and the CONNECT timeout.
 */
import { describe, expect, test } from "bun:test";
import { RUNTIMES } from "../../helpers/broker.ts";
import { closeAll, connectClient, expectNoMessage, nextMessage, publish, subscribe, uniqueId } from "../../helpers/clients.ts";
import { connectRaw, encode, openRaw, rawConnectBytes } from "../../helpers/raw.ts";
import { expectClosed, expectOpen, nextPacketOrClose, useBroker } from "../../helpers/suite.ts";

for (const runtime of RUNTIMES) {
  describe(`MQTT 3.1.1 §3.1 CONNECT [${runtime}]`, () => {
    const b = useBroker(runtime, { set: { "mqtt.connectTimeout": 1 } });

    test("[3.1.1 MQTT-3.1.4-4] [3.1.1 MQTT-3.2.0-1] a valid CONNECT is answered first of all by CONNACK with return code 0", async () => {
      const raw = await openRaw(b());
      raw.send(rawConnectBytes({ clientId: uniqueId("c") }));
      const first = await raw.nextPacket(3_000);
      expect(first.cmd).toBe("connack");
      expect(first.returnCode).toBe(0);
      await expectOpen(raw);
      raw.close();
    });

    test("[3.1.1 MQTT-3.1.0-1] a first packet that is not CONNECT (PINGREQ) closes the connection without a response", async () => {
      const raw = await openRaw(b());
      raw.send(Buffer.from([0xc0, 0x00]));
      await expectClosed(raw);
      expect(raw.packets()).toEqual([]);
    });

    test("[3.1.1 MQTT-3.1.0-1] a first packet that is not CONNECT (PUBLISH) is not delivered and the connection is closed", async () => {
      const b0 = b();
      const topic = uniqueId("t/first-not-connect");
      const sub = await connectClient(b0, { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 0 });
        const raw = await openRaw(b0);
        raw.send(encode({ cmd: "publish", topic, payload: "sneaky", qos: 0, retain: false, dup: false }));
        await expectClosed(raw);
        await expectNoMessage(sub, 300);
      } finally {
        await closeAll(sub);
      }
    });

    test("[3.1.1 MQTT-3.1.0-2] a second CONNECT is a protocol violation: connection closed", async () => {
      const clientId = uniqueId("twice");
      const { raw, connack } = await connectRaw(b(), { clientId });
      expect(connack.returnCode).toBe(0);
      raw.send(rawConnectBytes({ clientId }));
      await expectClosed(raw);
      expect(raw.packets().filter((p) => p.cmd === "connack").length).toBe(1);
    });

    test("[3.1.1 MQTT-3.1.2-1] an unknown protocol name (\"MQTX\") is not accepted as MQTT 3.1.1", async () => {
      const raw = await openRaw(b());
      raw.send(rawConnectBytes({ protocolName: "MQTX", level: 4, clientId: uniqueId("name") }));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "connack" && p.returnCode === 0)).toBe(false);
    });

    test("[3.1.1 MQTT-3.1.2-2] protocol level 6: CONNACK 0x01 (unacceptable protocol version), then the connection is closed", async () => {
      const raw = await openRaw(b());
      raw.send(rawConnectBytes({ level: 6, clientId: uniqueId("lvl6") }));
      const p = await nextPacketOrClose(raw);
      expect(p).not.toBe("closed");
      expect(p.cmd).toBe("connack");
      expect(p.returnCode).toBe(1);
      expect(p.sessionPresent).toBe(false); // [3.1.1 MQTT-3.2.2-4]
      await expectClosed(raw); // [3.1.1 MQTT-3.2.2-5]
    });

    test("[3.1.1 MQTT-3.1.4-5] data sent after a rejected CONNECT is not processed", async () => {
      const b0 = b();
      const topic = uniqueId("t/after-reject");
      const sub = await connectClient(b0, { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 0 });
        const raw = await openRaw(b0);
        raw.send(Buffer.concat([
          rawConnectBytes({ level: 6, clientId: uniqueId("rej") }),
          encode({ cmd: "publish", topic, payload: "must not arrive", qos: 0, retain: false, dup: false }),
        ]));
        await expectClosed(raw);
        await expectNoMessage(sub, 300);
      } finally {
        await closeAll(sub);
      }
    });

    test("MQTT 3.1 (protocol name \"MQIsdp\", level 3) is accepted and can publish and subscribe", async () => {
      const raw = await openRaw(b(), { protocolVersion: 3 });
      raw.send(rawConnectBytes({ protocolName: "MQIsdp", level: 3, clientId: uniqueId("v31") }));
      const p = await raw.nextPacket(3_000);
      expect(p.cmd).toBe("connack");
      expect(p.returnCode).toBe(0);
      raw.close();

      const topic = uniqueId("t/v31");
      const c = await connectClient(b(), { clientId: uniqueId("v31"), protocolId: "MQIsdp", protocolVersion: 3 });
      try {
        await subscribe(c, topic, { qos: 1 });
        const got = nextMessage(c);
        await publish(c, topic, "hello 3.1", { qos: 1 });
        expect((await got).payload.toString()).toBe("hello 3.1");
      } finally {
        await closeAll(c);
      }
    });

    test("[3.1.1 MQTT-3.1.2-3] the reserved connect flag set to 1: connection closed without CONNACK 0", async () => {
      const raw = await openRaw(b());
      raw.send(rawConnectBytes({ flags: 0x03, clientId: uniqueId("rsv") }));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "connack" && p.returnCode === 0)).toBe(false);
    });

    test("[3.1.1 MQTT-3.1.2-22] password flag without user name flag: connection closed without CONNACK 0", async () => {
      const raw = await openRaw(b());
      const pw = Buffer.from([0x00, 0x02, 0x70, 0x77]); // password "pw"
      raw.send(rawConnectBytes({ flags: 0x02 | 0x40, clientId: uniqueId("pw"), extra: pw }));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "connack" && p.returnCode === 0)).toBe(false);
    });

    test("[3.1.1 MQTT-3.1.2-19] [3.1.1 MQTT-3.1.2-21] user name and password in the payload are read (anonymous access allowed)", async () => {
      const { raw, connack } = await connectRaw(b(), {
        clientId: uniqueId("up"),
        username: "alice",
        password: Buffer.from("secret"),
      });
      expect(connack.returnCode).toBe(0);
      await expectOpen(raw);
      raw.close();
    });

    test("[3.1.1 MQTT-3.1.3-5] a 23-character alphanumeric client identifier is accepted", async () => {
      const id = ("Z9" + Math.random().toString(36).slice(2) + "abcdefghijklmnopqrstuvw").slice(0, 23);
      expect(id.length).toBe(23);
      const { raw, connack } = await connectRaw(b(), { clientId: id });
      expect(connack.returnCode).toBe(0);
      raw.close();
    });

    test("[3.1.1 MQTT-3.1.3-6] an empty client identifier with CleanSession=1 is accepted and gets its own session", async () => {
      const one = await connectRaw(b(), { clientId: "", clean: true });
      const two = await connectRaw(b(), { clientId: "", clean: true });
      try {
        expect(one.connack.returnCode).toBe(0);
        expect(two.connack.returnCode).toBe(0);
        // The second anonymous client must not take over the first (each gets a unique id).
        await expectOpen(one.raw);
        await expectOpen(two.raw);
      } finally {
        one.raw.close();
        two.raw.close();
      }
    });

    test("[3.1.1 MQTT-3.1.3-8] an empty client identifier with CleanSession=0: CONNACK 0x02 (identifier rejected), then close", async () => {
      const raw = await openRaw(b());
      raw.send(rawConnectBytes({ flags: 0x00, clientId: "" }));
      const p = await nextPacketOrClose(raw);
      expect(p).not.toBe("closed");
      expect(p.cmd).toBe("connack");
      expect(p.returnCode).toBe(2);
      expect(p.sessionPresent).toBe(false); // [3.1.1 MQTT-3.2.2-4]
      await expectClosed(raw); // [3.1.1 MQTT-3.2.2-5]
    });

    test("[3.1.1 MQTT-3.1.3-9] a client identifier reserved for the broker's own sessions (bridge:<name>): CONNACK 0x02, then close", async () => {
      const raw = await openRaw(b());
      raw.send(rawConnectBytes({ clientId: "bridge:cloud" }));
      const p = await nextPacketOrClose(raw);
      expect(p).not.toBe("closed");
      expect(p.cmd).toBe("connack");
      expect(p.returnCode).toBe(2);
      expect(p.sessionPresent).toBe(false);
      await expectClosed(raw);
    });

    test("[3.1.1 MQTT-3.1.3-4] [3.1.1 MQTT-1.5.3-1] a client identifier that is not well-formed UTF-8: connection closed", async () => {
      const raw = await openRaw(b());
      const bytes = rawConnectBytes({ clientId: "abcd" });
      // Replace "abcd" (the last 4 bytes) by ill-formed UTF-8: a lone continuation byte and a surrogate.
      Buffer.from([0x61, 0x80, 0xed, 0xa0]).copy(bytes, bytes.length - 4);
      raw.send(bytes);
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "connack" && p.returnCode === 0)).toBe(false);
    });

    test("CONNECT timeout (mqtt.connectTimeout=1): a socket that sends nothing is closed", async () => {
      const raw = await openRaw(b());
      // 1 s configured; generous slack for a loaded machine.
      await expectClosed(raw, 4_000, "silent connection");
      expect(raw.packets()).toEqual([]);
    }, 10_000);

    test("CONNECT timeout (mqtt.connectTimeout=1): a socket that sends half a CONNECT is closed", async () => {
      const raw = await openRaw(b());
      raw.send(rawConnectBytes({ clientId: uniqueId("half") }).subarray(0, 5));
      await expectClosed(raw, 4_000, "half-connected connection");
      expect(raw.packets()).toEqual([]);
    }, 10_000);
  });
}
