/**
 * MQTT 3.1.1 (OASIS 2014) §3.12 PINGREQ / §3.13 PINGRESP and §3.1.2.10 Keep Alive: the broker closes
 * a connection that stays silent for 1.5 × Keep Alive (publishing the will), and not one that talks.
 */
import { describe, expect, test } from "bun:test";
import { RUNTIMES } from "../../helpers/broker.ts";
import { closeAll, connectClient, nextMessage, subscribe, uniqueId } from "../../helpers/clients.ts";
import { connectRaw } from "../../helpers/raw.ts";
import { expectClosed, useBroker } from "../../helpers/suite.ts";

const PINGREQ = Buffer.from([0xc0, 0x00]);

for (const runtime of RUNTIMES) {
  describe(`MQTT 3.1.1 §3.12 PINGREQ and Keep Alive [${runtime}]`, () => {
    const b = useBroker(runtime);

    test("[3.1.1 MQTT-3.12.4-1] PINGREQ is answered by PINGRESP", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("ping") });
      try {
        for (let i = 0; i < 3; i++) {
          raw.send(PINGREQ);
          const p = await raw.nextPacket();
          expect(p.cmd).toBe("pingresp");
        }
      } finally {
        raw.close();
      }
    });

    test("[3.1.1 MQTT-2.2.2-2] a PINGREQ with reserved flags set closes the connection", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("pingflags") });
      raw.send(Buffer.from([0xc4, 0x00]));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "pingresp")).toBe(false);
    });

    test("[3.1.1 MQTT-3.1.2-24] Keep Alive 1 s and silence after CONNECT: closed after about 1.5 s, and the will is published", async () => {
      const topic = uniqueId("ka/will");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const will = nextMessage(sub, 6_000);
        const started = Date.now();
        const { raw } = await connectRaw(b(), {
          clientId: uniqueId("silent"),
          keepalive: 1,
          will: { topic, payload: Buffer.from("timed out"), qos: 1, retain: false },
        });
        await expectClosed(raw, 1_500 + 2_500, "silent keep-alive connection"); // 1.5 × 1 s plus slack
        const elapsed = Date.now() - started;
        // Closing before one Keep Alive period has passed would cut off a compliant client.
        expect(elapsed).toBeGreaterThanOrEqual(950);
        expect((await will).payload.toString()).toBe("timed out");
      } finally {
        await closeAll(sub);
      }
    }, 12_000);

    // That any Control Packet resets the timer, that bytes of an unfinished one do not, and that
    // Keep Alive 0 turns it off: test/core/timing-connection.test.ts, on fake time.
  });
}
