/**
 * MQTT 5.0 (OASIS 2019) §4.8.2 Shared Subscriptions: each message goes to exactly one member of a
 * share group, groups and non-shared subscriptions each get their copy, no retained messages on a
 * shared subscribe, granted QoS, invalid share names, and No Local on a shared subscription.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RUNTIMES, type RunningBroker, startBroker } from "../../helpers/broker.ts";
import {
  closeAll,
  collectMessages,
  connectClient,
  expectNoMessage,
  publish,
  subscribe,
  uniqueId,
} from "../../helpers/clients.ts";
import {
  type AnyPacket,
  connectV5Ok,
  expectDisconnect,
  expectNoPublish,
  hex,
  nextPublish,
  RC,
  rawSubscribe,
  sleep,
  subscribeBytes,
} from "../../helpers/v5.ts";

const v5 = { protocolVersion: 5 as const };

for (const runtime of RUNTIMES) {
  describe(`MQTT 5.0 §4.8.2 Shared Subscriptions [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({ runtime });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    test("[§4.8.2] each message on a shared subscription goes to exactly one of the two members; a non-shared subscriber gets all", async () => {
      const topic = uniqueId("t/share");
      const m1 = await connectClient(b, { ...v5, clientId: uniqueId("m1") });
      const m2 = await connectClient(b, { ...v5, clientId: uniqueId("m2") });
      const plain = await connectClient(b, { ...v5, clientId: uniqueId("plain") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        const g1 = await subscribe(m1, `$share/grp/${topic}`, { qos: 1 });
        const g2 = await subscribe(m2, `$share/grp/${topic}`, { qos: 1 });
        expect([g1[0].qos, g2[0].qos]).toEqual([1, 1]);
        await subscribe(plain, topic, { qos: 1 });
        const a = collectMessages(m1);
        const c = collectMessages(m2);
        const all = collectMessages(plain);
        const N = 20;
        for (let i = 0; i < N; i++) await publish(pub, topic, String(i), { qos: 1 });
        await all.waitFor(N);
        const deadline = Date.now() + 2_000;
        while (a.messages.length + c.messages.length < N && Date.now() < deadline) await sleep(20);
        await sleep(200);
        const shared = [...a.messages, ...c.messages].map((m) => Number(m.payload.toString())).sort((x, y) => x - y);
        expect(shared).toEqual(Array.from({ length: N }, (_, i) => i));
        expect(all.messages.length).toBe(N);
        // Messages through a shared subscription keep the real topic name.
        for (const m of [...a.messages, ...c.messages]) expect(m.topic).toBe(topic);
      } finally {
        await closeAll(m1, m2, plain, pub);
      }
    });

    test("[§4.8.2] two share groups on the same filter each receive every message once", async () => {
      const topic = uniqueId("t/groups");
      const x = await connectClient(b, { ...v5, clientId: uniqueId("gx") });
      const y = await connectClient(b, { ...v5, clientId: uniqueId("gy") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await subscribe(x, `$share/gx/${topic}`, { qos: 1 });
        await subscribe(y, `$share/gy/${topic}`, { qos: 1 });
        const a = collectMessages(x);
        const c = collectMessages(y);
        for (let i = 0; i < 5; i++) await publish(pub, topic, String(i), { qos: 1 });
        await a.waitFor(5);
        await c.waitFor(5);
        await sleep(200);
        expect(a.messages.map((m) => m.payload.toString())).toEqual(["0", "1", "2", "3", "4"]);
        expect(c.messages.map((m) => m.payload.toString())).toEqual(["0", "1", "2", "3", "4"]);
      } finally {
        await closeAll(x, y, pub);
      }
    });

    test("[§4.8.2] [v5 MQTT-4.8.2-3] a shared subscription with a wildcard filter matches, at the granted QoS", async () => {
      const base = uniqueId("t/sharewild");
      const m = await connectClient(b, { ...v5, clientId: uniqueId("m") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await subscribe(m, `$share/w/${base}/+/z`, { qos: 0 });
        const got = collectMessages(m);
        await publish(pub, `${base}/a/z`, "match", { qos: 2 });
        await publish(pub, `${base}/a/b`, "no-match", { qos: 2 });
        await got.waitFor(1);
        await sleep(200);
        expect(got.messages.map((x) => [x.topic, x.payload.toString(), x.packet.qos])).toEqual([[`${base}/a/z`, "match", 0]]);
      } finally {
        await closeAll(m, pub);
      }
    });

    test("[§4.8.2] retained messages are not sent when a shared subscription is made (a non-shared one gets them)", async () => {
      const topic = uniqueId("t/shareret");
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      const m = await connectClient(b, { ...v5, clientId: uniqueId("m") });
      const plain = await connectClient(b, { ...v5, clientId: uniqueId("plain") });
      try {
        await publish(pub, topic, "stored", { qos: 1, retain: true });
        const shared = collectMessages(m);
        await subscribe(m, `$share/r/${topic}`, { qos: 1 });
        const control = collectMessages(plain);
        await subscribe(plain, topic, { qos: 1 });
        await control.waitFor(1);
        await sleep(200);
        expect(shared.messages).toEqual([]);
      } finally {
        await publish(pub, topic, "", { qos: 1, retain: true }).catch(() => {});
        await closeAll(pub, m, plain);
      }
    });

    test("[v5 MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error: DISCONNECT 0x82", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("sharenl"));
      try {
        raw.send(subscribeBytes(1, [{ topic: `$share/g/${uniqueId("t/nl")}`, options: 0x04 | 0x01 }]));
        await expectDisconnect(raw, RC.protocolError);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-4.8.2-1] [v5 MQTT-4.8.2-2] invalid share names get SUBACK 0x8F: empty ShareName, ShareName with '+' or '#', no filter after the ShareName", async () => {
      const t = uniqueId("t/badshare");
      const { raw } = await connectV5Ok(b, uniqueId("badshare"));
      try {
        const suback = await rawSubscribe(raw, [
          { topic: `$share//${t}`, qos: 0 },
          { topic: `$share/g+/${t}`, qos: 0 },
          { topic: `$share/g#/${t}`, qos: 0 },
          { topic: "$share/g", qos: 0 },
          { topic: "$share/g/", qos: 0 },
          { topic: `$share/ok/${t}`, qos: 1 },
        ]);
        const bad = hex(RC.topicFilterInvalid);
        expect(suback.granted.map(hex)).toEqual([bad, bad, bad, bad, bad, hex(1)]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-4.8.2-6] a member answering PUBACK 0x80 makes the server discard the message, not send it to another member", async () => {
      const topic = uniqueId("t/sharerej");
      const r1 = await connectV5Ok(b, uniqueId("r1"));
      const r2 = await connectV5Ok(b, uniqueId("r2"));
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await rawSubscribe(r1.raw, [{ topic: `$share/rej/${topic}`, qos: 1 }]);
        await rawSubscribe(r2.raw, [{ topic: `$share/rej/${topic}`, qos: 1 }]);
        await publish(pub, topic, "refused", { qos: 1 });
        const first: AnyPacket = await Promise.any([nextPublish(r1.raw), nextPublish(r2.raw)]);
        const [mine, other] = r1.raw.packets().includes(first) ? [r1.raw, r2.raw] : [r2.raw, r1.raw];
        mine.sendPacket({ cmd: "puback", messageId: first.messageId, reasonCode: RC.unspecifiedError });
        await expectNoPublish(other, 400);
      } finally {
        r1.raw.close();
        r2.raw.close();
        await closeAll(pub);
      }
    });

    test("[§4.8.2] after one member unsubscribes, the remaining member receives every message", async () => {
      const topic = uniqueId("t/shareleave");
      const m1 = await connectClient(b, { ...v5, clientId: uniqueId("m1") });
      const m2 = await connectClient(b, { ...v5, clientId: uniqueId("m2") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await subscribe(m1, `$share/leave/${topic}`, { qos: 1 });
        await subscribe(m2, `$share/leave/${topic}`, { qos: 1 });
        await new Promise<void>((res, rej) => m1.unsubscribe(`$share/leave/${topic}`, (e) => (e ? rej(e) : res())));
        const got = collectMessages(m2);
        for (let i = 0; i < 6; i++) await publish(pub, topic, String(i), { qos: 1 });
        await got.waitFor(6);
        await expectNoMessage(m1, 200);
      } finally {
        await closeAll(m1, m2, pub);
      }
    });
  });
}
