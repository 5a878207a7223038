/**
 * mqtt.maxSubscriptionsPerClient: counted per session, so it holds across reconnects and broker
 * restarts. A SUBSCRIBE that would take the session above it gets, for each new filter beyond
 * it, SUBACK 0x97 Quota exceeded (v5) / 0x80 Failure (3.1.1) [v5 MQTT-3.9.3-2] [3.1.1 MQTT-3.9.3-2]; replacing an existing
 * subscription is not a new one. One log line per packet lists the refused filters.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RunningBroker, RUNTIMES, startBroker, tempDatabase } from "../helpers/broker.ts";
import { type AnyPacket, connectRaw, type RawClient, rawSubscribe } from "../helpers/raw.ts";
import { uniqueId } from "../helpers/clients.ts";

const LIMIT = 3;
const QUOTA_EXCEEDED = 0x97;

async function connect(
  b: RunningBroker,
  version: 4 | 5,
  clientId: string,
  extra: Partial<AnyPacket> = {},
): Promise<{ raw: RawClient; connack: AnyPacket }> {
  const r = await connectRaw(b, { protocolVersion: version, clientId, ...extra }, { protocolVersion: version });
  expect(r.connack.reasonCode ?? r.connack.returnCode ?? 0).toBe(0);
  return r;
}

const filters = (...topics: string[]) => topics.map((topic) => ({ topic, qos: 1 as const }));

for (const runtime of RUNTIMES) {
  describe(`maxSubscriptionsPerClient ${LIMIT} [${runtime}]`, () => {
    let b: RunningBroker;
    const database = tempDatabase("subscriptions");
    const start = () => startBroker({ runtime, database, set: { "mqtt.maxSubscriptionsPerClient": LIMIT } });
    beforeAll(async () => {
      b = await start();
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    test("[v5 MQTT-3.9.3-2] v5: filters beyond the limit get SUBACK 0x97 Quota exceeded, those before it are granted; one log line lists them", async () => {
      const t = uniqueId("sq5");
      const { raw } = await connect(b, 5, uniqueId("sq5"));
      try {
        expect((await rawSubscribe(raw, filters(`${t}/a`, `${t}/b`), 1)).granted).toEqual([1, 1]);
        const suback = await rawSubscribe(raw, filters(`${t}/a`, `${t}/c`, `${t}/d`, `${t}/e`), 2);
        // a: replaced (not new), c: the third, d and e: over the limit.
        expect(suback.granted).toEqual([1, 1, QUOTA_EXCEEDED, QUOTA_EXCEEDED]);
        const line = await b.waitForLog(new RegExp(`"msg":"subscriptions refused: too many for one client".*${t}/d`));
        expect(line).toContain(`${t}/e`);
      } finally {
        raw.close();
      }
    });

    test("[3.1.1 MQTT-3.9.3-2] 3.1.1: filters beyond the limit get SUBACK 0x80 Failure; the connection stays", async () => {
      const t = uniqueId("sq4");
      const { raw } = await connect(b, 4, uniqueId("sq4"));
      try {
        const suback = await rawSubscribe(raw, filters(`${t}/a`, `${t}/b`, `${t}/c`, `${t}/d`));
        expect(suback.granted).toEqual([1, 1, 1, 0x80]);
        raw.sendPacket({ cmd: "pingreq" });
        await raw.nextPacketOf("pingresp");
      } finally {
        raw.close();
      }
    });

    test("replacing a subscription at the limit is granted; unsubscribing frees a place", async () => {
      const t = uniqueId("sqr");
      const { raw } = await connect(b, 5, uniqueId("sqr"));
      try {
        expect((await rawSubscribe(raw, filters(`${t}/a`, `${t}/b`, `${t}/c`), 1)).granted).toEqual([1, 1, 1]);
        expect((await rawSubscribe(raw, [{ topic: `${t}/b`, qos: 2 }], 2)).granted).toEqual([2]);
        expect((await rawSubscribe(raw, filters(`${t}/d`), 3)).granted).toEqual([QUOTA_EXCEEDED]);
        raw.sendPacket({ cmd: "unsubscribe", messageId: 4, unsubscriptions: [`${t}/a`] });
        await raw.nextPacketOf("unsuback");
        expect((await rawSubscribe(raw, filters(`${t}/d`), 5)).granted).toEqual([1]);
      } finally {
        raw.close();
      }
    });

    test("the count belongs to the session: a resumed session still holds its subscriptions, a clean start begins at 0", async () => {
      const t = uniqueId("sqs");
      const clientId = uniqueId("sqs");
      const persistent = { clean: false, properties: { sessionExpiryInterval: 600 } };
      const first = await connect(b, 5, clientId, persistent);
      expect((await rawSubscribe(first.raw, filters(`${t}/a`, `${t}/b`, `${t}/c`))).granted).toEqual([1, 1, 1]);
      first.raw.close();
      await first.raw.waitClosed();
      const resumed = await connect(b, 5, clientId, persistent);
      try {
        expect(resumed.connack.sessionPresent).toBe(true);
        expect((await rawSubscribe(resumed.raw, filters(`${t}/d`))).granted).toEqual([QUOTA_EXCEEDED]);
      } finally {
        resumed.raw.close();
      }
      await resumed.raw.waitClosed();
      const fresh = await connect(b, 5, clientId, { clean: true });
      try {
        expect((await rawSubscribe(fresh.raw, filters(`${t}/d`))).granted).toEqual([1]);
      } finally {
        fresh.raw.close();
      }
    });

    test("the count survives a broker restart (subscriptions are restored from the store)", async () => {
      const t = uniqueId("sqp");
      const clientId = uniqueId("sqp");
      const persistent = { clean: false };
      const before = await connect(b, 4, clientId, persistent);
      expect((await rawSubscribe(before.raw, filters(`${t}/a`, `${t}/b`, `${t}/c`))).granted).toEqual([1, 1, 1]);
      before.raw.close();
      await before.raw.waitClosed();
      await b.stop();
      b = await start();
      const after = await connect(b, 4, clientId, persistent);
      try {
        expect(after.connack.sessionPresent).toBe(true);
        expect((await rawSubscribe(after.raw, filters(`${t}/a`, `${t}/d`))).granted).toEqual([1, 0x80]);
      } finally {
        after.raw.close();
      }
    }, 30_000);
  });
}
