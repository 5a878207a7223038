/**
 * MQTT 3.1.1 (OASIS 2014) §3.12 PINGREQ / §3.13 PINGRESP and §3.1.2.10 Keep Alive: the broker closes
 * a connection that stays silent for 1.5 × Keep Alive (publishing the will), and not one that talks.
 */
import { describe, expect, test } from "bun:test";
import { RUNTIMES } from "../../helpers/broker.ts";
import { closeAll, connectClient, nextMessage, subscribe, uniqueId } from "../../helpers/clients.ts";
import { connectRaw, rawPublish } from "../../helpers/raw.ts";
import { expectClosed, expectOpen, useBroker } from "../../helpers/suite.ts";

const PINGREQ = Buffer.from([0xc0, 0x00]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const runtime of RUNTIMES) {
  describe(`MQTT 3.1.1 §3.12 PINGREQ and Keep Alive [${runtime}]`, () => {
    const b = useBroker(runtime);

    test("[MQTT-3.12.4-1] PINGREQ is answered by PINGRESP", async () => {
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

    test("[MQTT-2.2.2-2] a PINGREQ with reserved flags set closes the connection", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("pingflags") });
      raw.send(Buffer.from([0xc4, 0x00]));
      await expectClosed(raw);
      expect(raw.packets().some((p) => p.cmd === "pingresp")).toBe(false);
    });

    test("[MQTT-3.1.2-24] Keep Alive 1 s and silence after CONNECT: closed after about 1.5 s, and the will is published", async () => {
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

    test("[MQTT-3.1.2-23] [MQTT-3.1.2-24] a client sending PINGREQ within the Keep Alive stays connected", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("pinger"), keepalive: 1 });
      try {
        for (let i = 0; i < 7; i++) {
          await sleep(400);
          raw.send(PINGREQ);
        }
        expect(raw.closed).toBe(false);
        expect(raw.packets().filter((p) => p.cmd === "pingresp").length).toBeGreaterThanOrEqual(6);
      } finally {
        raw.close();
      }
    }, 10_000);

    test("[MQTT-3.1.2-23] any Control Packet (here PUBLISH) resets the Keep Alive timer", async () => {
      const { raw } = await connectRaw(b(), { clientId: uniqueId("talker"), keepalive: 1 });
      try {
        const topic = uniqueId("ka/talk");
        for (let i = 0; i < 7; i++) {
          await sleep(400);
          rawPublish(raw, topic, String(i), { qos: 0 });
        }
        expect(raw.closed).toBe(false);
        await expectOpen(raw);
      } finally {
        raw.close();
      }
    }, 10_000);

    test("Keep Alive 0 turns the mechanism off: a silent connection stays open", async () => {
      const clientId = uniqueId("ka0");
      const { raw } = await connectRaw(b(), { clientId, keepalive: 0 });
      try {
        await sleep(2_500);
        if (raw.closed) {
          const lines = b().logs().split("\n").filter((l) => l.includes(clientId));
          throw new Error(`connection with Keep Alive 0 was closed; broker log for ${clientId}:\n${lines.join("\n")}`);
        }
        await expectOpen(raw);
      } finally {
        raw.close();
      }
    }, 10_000);
  });
}
