/**
 * MQTT 5.0 (OASIS 2019) §4.10 Request / Response: Response Topic and Correlation Data carried end
 * to end, and the Request Response Information handshake in CONNECT/CONNACK.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RUNTIMES, type RunningBroker, startBroker } from "../../helpers/broker.ts";
import { closeAll, connectClient, nextMessage, publish, subscribe, uniqueId } from "../../helpers/clients.ts";
import { connectBytes, connectV5Ok, expectClosedWith, openV5, P, props, RC } from "../../helpers/v5.ts";

const v5 = { protocolVersion: 5 as const };

for (const runtime of RUNTIMES) {
  describe(`MQTT 5.0 §4.10 Request / Response [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({ runtime });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    test("[§4.10] [v5 MQTT-3.3.2-15] [v5 MQTT-3.3.2-16] a request carries Response Topic and Correlation Data to the responder, whose reply reaches the requester with the same Correlation Data", async () => {
      const service = uniqueId("svc/echo");
      const replyTo = uniqueId("replies/req");
      const requester = await connectClient(b, { ...v5, clientId: uniqueId("requester") });
      const responder = await connectClient(b, { ...v5, clientId: uniqueId("responder") });
      try {
        await subscribe(responder, service, { qos: 1 });
        await subscribe(requester, replyTo, { qos: 1 });
        responder.on("message", (_topic, payload, packet) => {
          const p = packet.properties ?? {};
          if (!p.responseTopic) return;
          responder.publish(p.responseTopic, `echo:${payload.toString()}`, {
            qos: 1,
            properties: { correlationData: p.correlationData },
          });
        });
        for (const [body, corr] of [["first", "c-1"], ["second", "c-2"]]) {
          const reply = nextMessage(requester, 3_000);
          await publish(requester, service, body, {
            qos: 1,
            properties: { responseTopic: replyTo, correlationData: Buffer.from(corr) },
          });
          const m = await reply;
          expect(m.topic).toBe(replyTo);
          expect(m.payload.toString()).toBe(`echo:${body}`);
          expect(Buffer.from(m.packet.properties?.correlationData ?? []).toString()).toBe(corr);
        }
      } finally {
        await closeAll(requester, responder);
      }
    });

    test("[v5 MQTT-3.1.2-28] without Request Response Information (or with 0) the CONNACK has no Response Information", async () => {
      const a = await connectV5Ok(b, uniqueId("rri-absent"));
      const z = await connectV5Ok(b, uniqueId("rri-0"), { properties: { requestResponseInformation: false } });
      a.raw.close();
      z.raw.close();
      expect(a.connack.properties?.responseInformation).toBeUndefined();
      expect(z.connack.properties?.responseInformation).toBeUndefined();
    });

    test("[§3.2.2.3.15] with Request Response Information 1 any Response Information is a UTF-8 string usable as a topic prefix", async () => {
      const { raw, connack } = await connectV5Ok(b, uniqueId("rri-1"), { properties: { requestResponseInformation: true } });
      raw.close();
      const info = connack.properties?.responseInformation;
      if (info !== undefined) {
        expect(typeof info).toBe("string");
        expect(info).not.toMatch(/[+#]/);
      }
    });

    test("[§3.1.2.11.6] Request Response Information 2 is a Protocol Error: CONNACK 0x81/0x82 (if any) and close", async () => {
      const raw = await openV5(b);
      try {
        raw.send(connectBytes({ clientId: uniqueId("rri-2"), properties: props(P.requestResponseInformation(2)) }));
        await expectClosedWith(raw, "connack", [RC.malformedPacket, RC.protocolError]);
      } finally {
        raw.close();
      }
    });
  });
}
