/**
 * mqtt.maxQueuedMessages for an offline persistent session: messages beyond it are dropped and
 * counted, with one warning when the session starts losing messages and, when the client is back,
 * one line saying how many it missed. The queued ones arrive in order [v5 MQTT-4.6.0-6].
 */
import { describe, expect, test } from "bun:test";
import { RUNTIMES, sleep } from "../helpers/broker.ts";
import { useBroker } from "../helpers/suite.ts";
import { closeAll, connectClient, connectCollecting, publish, subscribe, uniqueId } from "../helpers/clients.ts";

const LIMIT = 5;

for (const runtime of RUNTIMES) {
  describe(`maxQueuedMessages ${LIMIT}, offline session [${runtime}]`, () => {
    const broker = useBroker(runtime, { set: { "mqtt.maxQueuedMessages": LIMIT } });

    test("8 QoS 1 messages for an offline session: 5 kept and delivered in order, 3 dropped; logged when dropping starts and on return", async () => {
      const b = broker();
      const clientId = uniqueId("away");
      const topic = uniqueId("q");
      const session = { clientId, protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 300 } };
      const first = await connectClient(b, session);
      await subscribe(first, topic, { qos: 1 });
      await closeAll(first);

      const pub = await connectClient(b, { clientId: uniqueId("pub") });
      try {
        for (let i = 1; i <= 8; i++) await publish(pub, topic, `m${i}`, { qos: 1 });
        const warning = await b.waitForLog(/"msg":"session queue full: dropping messages for an offline client"/);
        expect(warning).toContain(`"clientId":"${clientId}"`);
        expect(warning).toContain(`"maxQueuedMessages":${LIMIT}`);
        // One warning per episode, not one per dropped message.
        expect(b.logs().split("\n").filter((l) => l.includes("dropping messages for an offline client") && l.includes(clientId)).length).toBe(1);

        const { client: again, col } = await connectCollecting(b, session);
        await col.waitFor(LIMIT);
        await sleep(300); // nothing more comes
        expect(col.messages.map((m) => m.payload.toString())).toEqual(["m1", "m2", "m3", "m4", "m5"]);
        const back = await b.waitForLog(new RegExp(`"msg":"messages were dropped while the client was away".*"dropped":3`));
        expect(back).toContain(clientId);
        await closeAll(again);
      } finally {
        await closeAll(pub);
      }
    });
  });
}
