/**
 * mqtt.maxRetainedMessages: a client cannot fill the broker's memory and database with retained
 * messages on ever new topics. Beyond the limit a retained publish to a new topic is refused whole,
 * as for the topic limits: v5 QoS 1/2 get PUBACK/PUBREC 0x97 Quota exceeded, QoS 0 and 3.1.1 are
 * dropped, and it is logged. Replacing or deleting a retained message is always allowed, the
 * broker's own $SYS topics do not count, and the count holds across a restart.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { MqttClient } from "mqtt";
import { type RunningBroker, RUNTIMES, sleep, startBroker, tempDatabase } from "../helpers/broker.ts";
import { closeAll, collectMessages, connectClient, expectNoMessage, subscribe, uniqueId } from "../helpers/clients.ts";

const LIMIT = 3;
const QUOTA_EXCEEDED = 0x97;

/** Publish and resolve with the v5 reason code of the PUBACK/PUBREC (0 for 3.1.1's plain ack). */
function publishRetained(c: MqttClient, topic: string, payload: string, qos: 0 | 1 | 2 = 1): Promise<number> {
  return new Promise((resolve, reject) => {
    c.publish(topic, payload, { qos, retain: true }, (err, packet) => {
      const code = (err as { code?: number } | undefined)?.code ?? (packet as { reasonCode?: number } | undefined)?.reasonCode;
      if (err && code === undefined) reject(err);
      else resolve(code ?? 0);
    });
  });
}

/** The retained messages a fresh subscriber to `filter` gets, as topic=payload, sorted. */
async function retainedUnder(b: RunningBroker, filter: string): Promise<string[]> {
  const c = await connectClient(b, { clientId: uniqueId("look") });
  try {
    const col = collectMessages(c);
    await subscribe(c, filter, { qos: 1 });
    await sleep(300);
    return col.messages.map((m) => `${m.topic}=${m.payload}`).sort();
  } finally {
    await closeAll(c);
  }
}

for (const runtime of RUNTIMES) {
  describe(`maxRetainedMessages ${LIMIT} [${runtime}]`, () => {
    let b: RunningBroker;
    const database = tempDatabase("retained");
    // $SYS on (every second): its retained topics must not use up the clients' quota.
    const start = () => startBroker({ runtime, database, set: { "mqtt.maxRetainedMessages": LIMIT, "sys.interval": 1 } });
    const root = uniqueId("kept");
    let v5: MqttClient;
    let v4: MqttClient;
    beforeAll(async () => {
      b = await start();
      v5 = await connectClient(b, { clientId: uniqueId("r5"), protocolVersion: 5 });
      v4 = await connectClient(b, { clientId: uniqueId("r4") });
    }, 30_000);
    afterAll(async () => {
      await closeAll(v5, v4);
      await b?.stop();
    }, 10_000);

    test("v5: retained messages up to the limit are kept; one more on a new topic gets PUBACK 0x97 and is not delivered; logged", async () => {
      const live = await connectClient(b, { clientId: uniqueId("live"), protocolVersion: 5 });
      try {
        const col = collectMessages(live);
        await subscribe(live, `${root}/#`, { qos: 1 });
        for (const n of [1, 2, 3]) expect(await publishRetained(v5, `${root}/${n}`, `v${n}`)).toBe(0);
        expect(await publishRetained(v5, `${root}/4`, "v4")).toBe(QUOTA_EXCEEDED);
        expect(await publishRetained(v5, `${root}/5`, "v5", 2)).toBe(QUOTA_EXCEEDED);
        await col.waitFor(3);
        await expectNoMessage(live, 300);
        expect(col.messages.map((m) => m.topic)).toEqual([`${root}/1`, `${root}/2`, `${root}/3`]);
        await b.waitForLog(new RegExp(`"msg":"publish refused: retained messages at their limit".*${root}/4.*"limit":${LIMIT}`));
        expect(await retainedUnder(b, `${root}/#`)).toEqual([`${root}/1=v1`, `${root}/2=v2`, `${root}/3=v3`]);
      } finally {
        await closeAll(live);
      }
    });

    test("replacing a kept topic is allowed at the limit; a non-retained publish to a new topic flows as usual", async () => {
      expect(await publishRetained(v5, `${root}/2`, "v2-new")).toBe(0);
      const code = await new Promise<number>((resolve) =>
        v5.publish(`${root}/plain`, "x", { qos: 1 }, (_e, p) => resolve((p as { reasonCode?: number })?.reasonCode ?? 0))
      );
      expect(code).not.toBe(QUOTA_EXCEEDED);
      expect(await retainedUnder(b, `${root}/#`)).toEqual([`${root}/1=v1`, `${root}/2=v2-new`, `${root}/3=v3`]);
    });

    test("3.1.1: beyond the limit the retained publish is acknowledged as usual (no negative ack) but neither kept nor delivered", async () => {
      const live = await connectClient(b, { clientId: uniqueId("live4") });
      try {
        await subscribe(live, `${root}/v4/#`, { qos: 1 });
        expect(await publishRetained(v4, `${root}/v4/new`, "dropped")).toBe(0);
        await expectNoMessage(live, 500);
        expect(await retainedUnder(b, `${root}/#`)).toHaveLength(LIMIT);
      } finally {
        await closeAll(live);
      }
    });

    test("deleting one (empty payload) makes room for a new topic", async () => {
      expect(await publishRetained(v5, `${root}/1`, "")).toBe(0);
      expect(await publishRetained(v5, `${root}/6`, "v6")).toBe(0);
      expect(await retainedUnder(b, `${root}/#`)).toEqual([`${root}/2=v2-new`, `${root}/3=v3`, `${root}/6=v6`]);
    });

    test("a retained will on a new topic at the limit is delivered but not kept; logged", async () => {
      const live = await connectClient(b, { clientId: uniqueId("live-will") });
      const dying = await connectClient(b, {
        clientId: uniqueId("dying"),
        will: { topic: `${root}/will`, payload: Buffer.from("gone"), qos: 1, retain: true },
      });
      try {
        const col = collectMessages(live);
        await subscribe(live, `${root}/will`, { qos: 1 });
        dying.stream.destroy(); // no DISCONNECT: the will goes out
        await col.waitFor(1);
        await b.waitForLog(new RegExp(`"msg":"retained message not kept: limit reached".*${root}/will`));
        expect(await retainedUnder(b, `${root}/#`)).toEqual([`${root}/2=v2-new`, `${root}/3=v3`, `${root}/6=v6`]);
      } finally {
        dying.end(true);
        await closeAll(live);
      }
    });

    test("after a restart the stored retained messages count: a new topic is still refused", async () => {
      await closeAll(v5, v4);
      await b.stop();
      b = await start();
      v5 = await connectClient(b, { clientId: uniqueId("r5"), protocolVersion: 5 });
      v4 = await connectClient(b, { clientId: uniqueId("r4") });
      expect(await retainedUnder(b, `${root}/#`)).toEqual([`${root}/2=v2-new`, `${root}/3=v3`, `${root}/6=v6`]);
      expect(await publishRetained(v5, `${root}/7`, "v7")).toBe(QUOTA_EXCEEDED);
    }, 30_000);
  });
}
