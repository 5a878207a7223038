/**
 * MQTT 5.0 (OASIS 2019) section 3.15 AUTH and 4.12 Enhanced authentication, for a server without
 * any enhanced authentication method: an Authentication Method is refused, and AUTH packets
 * without one are Protocol Errors.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RUNTIMES, type RunningBroker, startBroker } from "../../helpers/broker.ts";
import { uniqueId } from "../../helpers/clients.ts";
import { connectV5, connectV5Ok, expectClosedWith, expectDisconnect, openV5, packet, props, RC, reasonOf } from "../../helpers/v5.ts";

for (const runtime of RUNTIMES) {
  describe(`MQTT 5.0 §3.15 AUTH [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({ runtime });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    test("[v5 MQTT-4.12.0-1] an unsupported Authentication Method: CONNACK 0x8C (Bad authentication method) and close", async () => {
      const { raw, connack } = await connectV5(b, uniqueId("scram"), {
        properties: { authenticationMethod: "SCRAM-SHA-256", authenticationData: Buffer.from("n,,n=user,r=abc") },
      });
      try {
        expect(connack.cmd).toBe("connack");
        expect(reasonOf(connack)).toBe(RC.badAuthenticationMethod);
        expect(connack.sessionPresent).toBe(false);
        expect(await raw.waitClosed(2_000)).toBe(true);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-4.12.0-6] without an Authentication Method in CONNECT the CONNACK carries none", async () => {
      const { raw, connack } = await connectV5Ok(b, uniqueId("noauth"));
      raw.close();
      expect(connack.properties?.authenticationMethod).toBeUndefined();
      expect(connack.properties?.authenticationData).toBeUndefined();
    });

    test("[v5 MQTT-4.12.0-7] [v5 MQTT-3.15.2-1] an AUTH packet after a CONNECT without Authentication Method is a Protocol Error: DISCONNECT 0x82", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("auth"));
      try {
        raw.sendPacket({ cmd: "auth", reasonCode: RC.continueAuthentication, properties: { authenticationMethod: "SCRAM-SHA-256" } });
        await expectDisconnect(raw, RC.protocolError);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-4.12.0-7] re-authentication (AUTH 0x19) without an Authentication Method in CONNECT is a Protocol Error: DISCONNECT 0x82", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("reauth"));
      try {
        raw.sendPacket({ cmd: "auth", reasonCode: 0x19, properties: { authenticationMethod: "PLAIN" } });
        await expectDisconnect(raw, RC.protocolError);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.15.1-1] an AUTH packet with reserved flags set is malformed: DISCONNECT 0x81 (if any) and close", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("authflags"));
      try {
        raw.send(packet(0xf1, Buffer.from([0x18]), props()));
        await expectClosedWith(raw, "disconnect", [RC.malformedPacket]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-3.1.0-1] [v5 MQTT-3.1.4-6] an AUTH packet instead of CONNECT closes the connection without CONNACK", async () => {
      const raw = await openV5(b);
      try {
        raw.sendPacket({ cmd: "auth", reasonCode: RC.continueAuthentication, properties: { authenticationMethod: "PLAIN" } });
        await expectClosedWith(raw, "connack", [RC.malformedPacket, RC.protocolError]);
      } finally {
        raw.close();
      }
    });

    test("[§3.1.2.11.10] Authentication Data without an Authentication Method is a Protocol Error: CONNACK 0x82 (if any) and close", async () => {
      const raw = await openV5(b);
      try {
        raw.sendPacket({
          cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clean: true, keepalive: 60,
          clientId: uniqueId("dataonly"),
          properties: { authenticationData: Buffer.from("secret") },
        });
        await expectClosedWith(raw, "connack", [RC.protocolError]);
      } finally {
        raw.close();
      }
    });
  });
}
