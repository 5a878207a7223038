/**
 * MQTT 5.0 (OASIS 2019) section 3.1 CONNECT: client identifiers, Clean Start and Session Expiry,
 * takeover, malformed CONNECTs, Keep Alive and the client's Maximum Packet Size.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RunningBroker, RUNTIMES, startBroker } from "../../helpers/broker.ts";
import { closeAll, collectMessages, connectClient, publish, subscribe, uniqueId } from "../../helpers/clients.ts";
import {
  connectBytes,
  connectV5,
  connectV5Ok,
  expectClosedWith,
  expectDisconnect,
  expectNoPublish,
  nextPublish,
  openV5,
  P,
  props,
  rawSubscribe,
  RC,
  sleep,
  utf8,
} from "../../helpers/v5.ts";

for (const runtime of RUNTIMES) {
  describe(`MQTT 5.0 §3.1 CONNECT [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({ runtime });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    const v5 = { protocolVersion: 5 as const };

    test("[v5 MQTT-3.1.3-6] [v5 MQTT-3.1.3-7] [v5 MQTT-3.2.2-16] zero-length Client Identifier: CONNACK carries a new, unique Assigned Client Identifier", async () => {
      const a = await connectV5Ok(b, "");
      const c = await connectV5Ok(b, "");
      try {
        const idA = a.connack.properties?.assignedClientIdentifier;
        const idC = c.connack.properties?.assignedClientIdentifier;
        expect(typeof idA).toBe("string");
        expect(typeof idC).toBe("string");
        expect(idA.length).toBeGreaterThan(0);
        expect(idA).not.toBe(idC);
        expect(a.connack.sessionPresent).toBe(false);
      } finally {
        a.raw.close();
        c.raw.close();
      }
    });

    test("[v5 MQTT-3.1.2-6] [v5 MQTT-3.2.2-3] Clean Start 0 without an existing session: Session Present 0", async () => {
      const { raw, connack } = await connectV5Ok(b, uniqueId("c0new"), {
        clean: false,
        properties: { sessionExpiryInterval: 30 },
      });
      expect(connack.sessionPresent).toBe(false);
      raw.close();
    });

    test("[v5 MQTT-3.1.2-5] [v5 MQTT-3.2.2-3] Clean Start 0 with an existing session: Session Present 1 and its subscriptions still deliver", async () => {
      const id = uniqueId("resume");
      const topic = uniqueId("t/resume");
      const first = await connectV5Ok(b, id, { clean: false, properties: { sessionExpiryInterval: 60 } });
      await rawSubscribe(first.raw, [{ topic, qos: 1 }]);
      first.raw.sendPacket({ cmd: "disconnect", reasonCode: 0 });
      await first.raw.waitClosed(2_000);
      first.raw.close();

      const again = await connectV5Ok(b, id, { clean: false, properties: { sessionExpiryInterval: 60 } });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        expect(again.connack.sessionPresent).toBe(true);
        await publish(pub, topic, "kept", { qos: 1 });
        const p = await nextPublish(again.raw);
        expect(p.topic).toBe(topic);
        expect(String(p.payload)).toBe("kept");
      } finally {
        again.raw.close();
        await closeAll(pub);
      }
    });

    test("[v5 MQTT-3.1.2-4] [v5 MQTT-3.2.2-2] Clean Start 1 discards an existing session: Session Present 0 and old subscriptions gone", async () => {
      const id = uniqueId("clean1");
      const topic = uniqueId("t/clean1");
      const first = await connectV5Ok(b, id, { clean: false, properties: { sessionExpiryInterval: 60 } });
      await rawSubscribe(first.raw, [{ topic, qos: 1 }]);
      first.raw.sendPacket({ cmd: "disconnect", reasonCode: 0 });
      await first.raw.waitClosed(2_000);
      first.raw.close();

      const again = await connectV5Ok(b, id, { clean: true, properties: { sessionExpiryInterval: 60 } });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        expect(again.connack.sessionPresent).toBe(false);
        await publish(pub, topic, "gone", { qos: 1 });
        await expectNoPublish(again.raw, 300);
      } finally {
        again.raw.close();
        await closeAll(pub);
      }
    });

    test("[v5 MQTT-3.1.2-23] [v5 MQTT-4.1.0-2] Session Expiry Interval 0: the session ends when the connection closes", async () => {
      const id = uniqueId("sei0");
      const topic = uniqueId("t/sei0");
      const first = await connectV5Ok(b, id, { clean: false }); // no Session Expiry Interval = 0
      await rawSubscribe(first.raw, [{ topic, qos: 1 }]);
      first.raw.sendPacket({ cmd: "disconnect", reasonCode: 0 });
      await first.raw.waitClosed(2_000);
      first.raw.close();
      await sleep(100);

      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      await publish(pub, topic, "while-away", { qos: 1 });
      const again = await connectV5Ok(b, id, { clean: false });
      try {
        expect(again.connack.sessionPresent).toBe(false);
        await expectNoPublish(again.raw, 300);
      } finally {
        again.raw.close();
        await closeAll(pub);
      }
    });

    // 30 days and the largest finite value overflow a host timer (2^31-1 ms): such sessions used to expire at once.
    for (const sessionExpiryInterval of [60, 2_592_000, 4_294_967_294]) {
      test(`[v5 MQTT-3.1.2-23] [v5 MQTT-4.5.0-1] Session Expiry Interval ${sessionExpiryInterval} s: the session survives and QoS 1 messages published while offline are delivered on resume`, async () => {
        const id = uniqueId("sei60");
        const topic = uniqueId("t/sei60");
        const first = await connectV5Ok(b, id, { clean: false, properties: { sessionExpiryInterval } });
        await rawSubscribe(first.raw, [{ topic, qos: 1 }]);
        first.raw.sendPacket({ cmd: "disconnect", reasonCode: 0 });
        await first.raw.waitClosed(2_000);
        first.raw.close();
        await sleep(100);

        const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
        for (const n of ["q1", "q2", "q3"]) await publish(pub, topic, n, { qos: 1 });
        const again = await connectV5Ok(b, id, { clean: false, properties: { sessionExpiryInterval } });
        try {
          expect(again.connack.sessionPresent).toBe(true);
          const got: string[] = [];
          for (let i = 0; i < 3; i++) {
            const p = await nextPublish(again.raw);
            expect(p.qos).toBe(1);
            got.push(String(p.payload));
            again.raw.sendPacket({ cmd: "puback", messageId: p.messageId, reasonCode: 0 });
          }
          expect(got).toEqual(["q1", "q2", "q3"]);
        } finally {
          again.raw.close();
          await closeAll(pub);
        }
      });
    }

    test("[v5 MQTT-3.1.4-3] session takeover: the existing connection gets DISCONNECT 0x8E (Session taken over) and is closed", async () => {
      const id = uniqueId("takeover");
      const old = await connectV5Ok(b, id);
      const next = await connectV5Ok(b, id);
      try {
        await expectDisconnect(old.raw, RC.sessionTakenOver);
        expect(next.raw.closed).toBe(false);
      } finally {
        old.raw.close();
        next.raw.close();
      }
    });

    test("[v5 MQTT-3.1.0-2] a second CONNECT is a Protocol Error: DISCONNECT 0x82 and close", async () => {
      const id = uniqueId("twice");
      const { raw } = await connectV5Ok(b, id);
      try {
        raw.sendPacket({
          cmd: "connect",
          protocolId: "MQTT",
          protocolVersion: 5,
          clean: true,
          keepalive: 60,
          clientId: id,
        });
        await expectDisconnect(raw, RC.protocolError);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.1.0-1] [v5 MQTT-3.14.0-1] the first packet must be CONNECT: a PINGREQ first closes the connection without PINGRESP or DISCONNECT", async () => {
      const raw = await openV5(b);
      try {
        raw.send(Buffer.from([0xc0, 0x00]));
        await expectClosedWith(raw, "connack", [RC.malformedPacket, RC.protocolError]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.1.2-3] reserved CONNECT flag set: Malformed Packet, CONNACK 0x81 (if any) and close", async () => {
      const raw = await openV5(b);
      try {
        raw.send(connectBytes({ clientId: uniqueId("rsv"), flags: 0x03 }));
        await expectClosedWith(raw, "connack", [RC.malformedPacket]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.1.2-11] Will Flag 0 with a non-zero Will QoS: Malformed Packet, CONNACK 0x81 (if any) and close", async () => {
      const raw = await openV5(b);
      try {
        raw.send(connectBytes({ clientId: uniqueId("willqos"), flags: 0x02 | 0x08 }));
        await expectClosedWith(raw, "connack", [RC.malformedPacket]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.1.2-2] Protocol Version 6: CONNACK 0x84 Unsupported Protocol Version (if any) and close", async () => {
      const raw = await openV5(b);
      const bytes: Buffer[] = [];
      raw.socket.on("data", (d: Buffer) => bytes.push(d));
      try {
        raw.send(connectBytes({ clientId: uniqueId("lvl6"), level: 6 }));
        expect(await raw.waitClosed(3_000)).toBe(true);
        const got = Buffer.concat(bytes);
        if (got.length > 0) {
          // A CONNACK: v5 form (reason code 0x84) or, for a client of unknown version, the 3.1.1
          // form (return code 0x01 unacceptable protocol version).
          expect(got[0]).toBe(0x20);
          const code = got[3];
          expect([RC.unsupportedProtocolVersion, 0x01]).toContain(code);
        }
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.1.4-1] duplicate Session Expiry Interval property (Protocol Error): CONNACK 0x81/0x82 (if any) and close", async () => {
      const raw = await openV5(b);
      try {
        raw.send(connectBytes({
          clientId: uniqueId("dupprop"),
          properties: props(P.sessionExpiryInterval(10), P.sessionExpiryInterval(20)),
        }));
        await expectClosedWith(raw, "connack", [RC.malformedPacket, RC.protocolError]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.1.4-1] a property not allowed in CONNECT (Topic Alias): CONNACK 0x81/0x82 (if any) and close", async () => {
      const raw = await openV5(b);
      try {
        raw.send(connectBytes({ clientId: uniqueId("badprop"), properties: props(P.topicAlias(1)) }));
        await expectClosedWith(raw, "connack", [RC.malformedPacket, RC.protocolError]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.1.4-1] Receive Maximum 0 is a Protocol Error: CONNACK 0x81/0x82 (if any) and close", async () => {
      const raw = await openV5(b);
      try {
        raw.send(connectBytes({ clientId: uniqueId("rm0"), properties: props(P.receiveMaximum(0)) }));
        await expectClosedWith(raw, "connack", [RC.malformedPacket, RC.protocolError]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.1.3-1] a CONNECT truncated inside the payload (will flag set, no will fields): CONNACK 0x81 (if any) and close", async () => {
      const raw = await openV5(b);
      try {
        raw.send(connectBytes({ clientId: uniqueId("trunc"), flags: 0x02 | 0x04, payloadRest: utf8("") }));
        await expectClosedWith(raw, "connack", [RC.malformedPacket, RC.protocolError]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.12.4-1] PINGREQ is answered with PINGRESP", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("ping"));
      try {
        raw.send(Buffer.from([0xc0, 0x00]));
        const p = await raw.nextPacket(2_000);
        expect(p.cmd).toBe("pingresp");
      } finally {
        raw.close();
      }
    });

    test(
      "[v5 MQTT-3.1.2-22] Keep Alive 1 s: a silent client is disconnected after 1.5 × Keep Alive (generous slack), not before Keep Alive",
      async () => {
        const { raw, connack } = await connectV5Ok(b, uniqueId("ka"), { keepalive: 1 });
        try {
          expect(connack.properties?.serverKeepAlive ?? 1).toBe(1);
          expect(await raw.waitClosed(900)).toBe(false);
          expect(await raw.waitClosed(4_000)).toBe(true);
        } finally {
          raw.close();
        }
      },
      8_000,
    );

    test("[v5 MQTT-3.1.2-24] [v5 MQTT-3.1.2-25] the client's Maximum Packet Size: a bigger PUBLISH is not sent to it (later ones are), other subscribers get it", async () => {
      const topic = uniqueId("t/maxpkt");
      const small = await connectV5Ok(b, uniqueId("small"), { properties: { maximumPacketSize: 256 } });
      const big = await connectClient(b, { ...v5, clientId: uniqueId("big") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await rawSubscribe(small.raw, [{ topic, qos: 1 }]);
        await subscribe(big, topic, { qos: 1 });
        const bigGot = collectMessages(big);
        await publish(pub, topic, Buffer.alloc(1_000, 0x61), { qos: 1 });
        await publish(pub, topic, "fits", { qos: 1 });
        const p = await nextPublish(small.raw);
        expect(String(p.payload)).toBe("fits");
        small.raw.sendPacket({ cmd: "puback", messageId: p.messageId, reasonCode: 0 });
        const all = await bigGot.waitFor(2);
        expect(all.map((m) => m.payload.length)).toEqual([1_000, 4]);
        await expectNoPublish(small.raw, 200);
      } finally {
        small.raw.close();
        await closeAll(big, pub);
      }
    });

    test("[§3.2.2.3.3] [§3.2.2.3.6] [§3.2.2.3.8] CONNACK carries the configured Receive Maximum (1024), Maximum Packet Size (1048576) and Topic Alias Maximum (64)", async () => {
      const { raw, connack } = await connectV5Ok(b, uniqueId("limits"));
      try {
        expect(connack.properties?.receiveMaximum).toBe(1024);
        expect(connack.properties?.maximumPacketSize).toBe(1_048_576);
        expect(connack.properties?.topicAliasMaximum).toBe(64);
        // Full support is the default meaning of the absent properties.
        expect(connack.properties?.maximumQoS ?? 2).toBe(2);
        expect(connack.properties?.retainAvailable ?? true).toBe(true);
        expect(connack.properties?.wildcardSubscriptionAvailable ?? true).toBe(true);
        expect(connack.properties?.subscriptionIdentifiersAvailable ?? true).toBe(true);
        expect(connack.properties?.sharedSubscriptionAvailable ?? true).toBe(true);
      } finally {
        raw.close();
      }
    });

    test("[§3.1.2.9] a Password without a User Name is allowed in MQTT 5 (accepted by a server allowing anonymous clients)", async () => {
      const raw = await openV5(b);
      try {
        raw.send(connectBytes({ clientId: uniqueId("pwonly"), flags: 0x02 | 0x40, payloadRest: utf8("secret") }));
        const p = await raw.nextPacket(2_000);
        expect(p.cmd).toBe("connack");
        expect(p.reasonCode ?? 0).toBe(RC.success);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.1.2-29] Request Problem Information 0: no Reason String or User Property on SUBACK, PUBACK, PUBREC or UNSUBACK", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("noproblem"), { properties: { requestProblemInformation: false } });
      try {
        const suback = await rawSubscribe(raw, [{ topic: "a/#/b", qos: 0 }, { topic: uniqueId("t/ok"), qos: 1 }]);
        raw.sendPacket({ cmd: "publish", topic: uniqueId("t/nobody"), payload: "x", qos: 1, messageId: 2 });
        const puback = await raw.nextPacketOf("puback", 2_000);
        raw.sendPacket({ cmd: "publish", topic: uniqueId("t/nobody"), payload: "x", qos: 2, messageId: 3 });
        const pubrec = await raw.nextPacketOf("pubrec", 2_000);
        raw.sendPacket({ cmd: "unsubscribe", messageId: 4, unsubscriptions: [uniqueId("t/never")] });
        const unsuback = await raw.nextPacketOf("unsuback", 2_000);
        for (const p of [suback, puback, pubrec, unsuback]) {
          expect({ cmd: p.cmd, reasonString: p.properties?.reasonString, userProperties: p.properties?.userProperties })
            .toEqual({ cmd: p.cmd, reasonString: undefined, userProperties: undefined });
        }
      } finally {
        raw.close();
      }
    });

    for (const id of ["bridge:cloud", "$console-abc123"]) {
      test(`[v5 MQTT-3.1.3-8] the Client Identifier "${id}" (reserved for the broker's own sessions) is rejected: CONNACK 0x85, then close`, async () => {
        const { raw, connack } = await connectV5(b, id);
        try {
          expect(connack.reasonCode).toBe(RC.clientIdentifierNotValid);
          expect(connack.sessionPresent).toBe(false);
          expect(connack.properties?.reasonString).toContain("reserved");
          await expectClosedWith(raw, "connack", []);
        } finally {
          raw.close();
        }
      });
    }

    test("[v5 MQTT-3.1.3-5] a 1 to 23 character alphanumeric Client Identifier is accepted", async () => {
      const id = "A" + Math.random().toString(36).slice(2, 12) + "z9";
      const { raw, connack } = await connectV5(b, id);
      try {
        expect(connack.reasonCode ?? 0).toBe(RC.success);
      } finally {
        raw.close();
      }
    });
  });
}
