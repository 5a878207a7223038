/**
 * MQTT 5.0 (OASIS 2019) §4.7 Topic Names and Topic Filters: wildcard matching, topics beginning
 * with '$', no normalisation, and invalid Topic Names.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RUNTIMES, type RunningBroker, startBroker } from "../../helpers/broker.ts";
import { closeAll, collectMessages, connectClient, publish, subscribe, uniqueId } from "../../helpers/clients.ts";
import { connectV5Ok, expectClosedWith, packet, props, RC, sleep } from "../../helpers/v5.ts";
import { u16 } from "../../helpers/raw.ts";

const v5 = { protocolVersion: 5 as const };

for (const runtime of RUNTIMES) {
  describe(`MQTT 5.0 §4.7 Topic Names and Topic Filters [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({ runtime });
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    /** Subscribe one client to `filter`, publish each topic, return the topics it received. */
    async function matches(filter: string, topics: string[]): Promise<string[]> {
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await subscribe(sub, filter, { qos: 1 });
        const msgs = collectMessages(sub);
        for (const t of topics) await publish(pub, t, "m", { qos: 1 });
        await publish(pub, `${filter.split("/")[0]}-end`, "end", { qos: 1 }).catch(() => {});
        await sleep(250);
        return msgs.messages.map((m) => m.topic);
      } finally {
        await closeAll(sub, pub);
      }
    }

    test("[v5 MQTT-4.7.1-1] '#' matches the parent level and any number of child levels", async () => {
      const r = uniqueId("sport");
      const got = await matches(`${r}/tennis/#`, [`${r}/tennis`, `${r}/tennis/p1`, `${r}/tennis/p1/ranking`, `${r}/tennisx`, `${r}/golf`]);
      expect(got).toEqual([`${r}/tennis`, `${r}/tennis/p1`, `${r}/tennis/p1/ranking`]);
    });

    test("[v5 MQTT-4.7.1-2] '+' matches exactly one level, including an empty one", async () => {
      const r = uniqueId("plus");
      const got = await matches(`${r}/+/z`, [`${r}/a/z`, `${r}//z`, `${r}/a/b/z`, `${r}/z`, `${r}/a/z/q`]);
      expect(got).toEqual([`${r}/a/z`, `${r}//z`]);
    });

    test("[§4.7.1.2] '+' at the end matches one level but not the parent", async () => {
      const r = uniqueId("tail");
      const got = await matches(`${r}/+`, [`${r}`, `${r}/x`, `${r}/`, `${r}/x/y`]);
      expect(got).toEqual([`${r}/x`, `${r}/`]);
    });

    test("[v5 MQTT-4.7.3-4] no normalisation: case, trailing '/' and spaces are significant", async () => {
      const r = uniqueId("norm");
      const got = await matches(`${r}/Room A`, [`${r}/room a`, `${r}/Room A/`, `${r}/RoomA`, `${r}/Room A`, `${r}/Room  A`]);
      expect(got).toEqual([`${r}/Room A`]);
    });

    test("[v5 MQTT-4.7.3-4] non-ASCII topic names are matched and delivered unchanged", async () => {
      const r = uniqueId("utf");
      const got = await matches(`${r}/+/ß`, [`${r}/küche/ß`, `${r}/日本/ß`, `${r}/küche/ss`]);
      expect(got).toEqual([`${r}/küche/ß`, `${r}/日本/ß`]);
    });

    test("[v5 MQTT-4.7.2-1] filters starting with '#' or '+' do not match topics starting with '$'; an explicit '$' filter does", async () => {
      const marker = uniqueId("dollar");
      const dollarTopic = `$gannet-test/${marker}`;
      const wild = await connectClient(b, { ...v5, clientId: uniqueId("wild") });
      const explicit = await connectClient(b, { ...v5, clientId: uniqueId("explicit") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      try {
        await subscribe(wild, ["#", "+/+"], { qos: 1, rh: 2 });
        await subscribe(explicit, "$gannet-test/#", { qos: 1 });
        const w = collectMessages(wild);
        const e = collectMessages(explicit);
        await publish(pub, dollarTopic, "dollar", { qos: 1 });
        await publish(pub, `${marker}/plain`, "plain", { qos: 1 });
        await e.waitFor(1);
        await w.waitFor(1);
        await sleep(250);
        expect(e.messages.map((m) => m.topic)).toEqual([dollarTopic]);
        const mine = w.messages.filter((m) => m.topic.includes(marker)).map((m) => m.topic);
        expect([...new Set(mine)]).toEqual([`${marker}/plain`]); // via '#' and/or '+/+', never the '$' one
        expect(w.messages.filter((m) => m.topic.startsWith("$"))).toEqual([]);
      } finally {
        await closeAll(wild, explicit, pub);
      }
    });

    test("[v5 MQTT-4.7.3-2] [v5 MQTT-1.5.4-2] a Topic Name containing U+0000: DISCONNECT 0x81/0x90 (if any) and close", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("nul"));
      try {
        const name = Buffer.concat([Buffer.from(uniqueId("t/nul")), Buffer.from([0x00]), Buffer.from("x")]);
        raw.send(packet(0x30, u16(name.length), name, props(), Buffer.from("p")));
        await expectClosedWith(raw, "disconnect", [RC.malformedPacket, RC.topicNameInvalid]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-1.5.4-1] a Topic Name that is not well-formed UTF-8: DISCONNECT 0x81/0x90 (if any) and close", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("badutf"));
      try {
        const name = Buffer.concat([Buffer.from("t/"), Buffer.from([0xff, 0xfe]), Buffer.from("x")]);
        raw.send(packet(0x30, u16(name.length), name, props(), Buffer.from("p")));
        await expectClosedWith(raw, "disconnect", [RC.malformedPacket, RC.topicNameInvalid]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-1.5.4-1] a UTF-16 surrogate (U+D800) encoded in a Topic Name: DISCONNECT 0x81/0x90 (if any) and close", async () => {
      const { raw } = await connectV5Ok(b, uniqueId("surrogate"));
      try {
        const name = Buffer.concat([Buffer.from("t/"), Buffer.from([0xed, 0xa0, 0x80])]);
        raw.send(packet(0x30, u16(name.length), name, props(), Buffer.from("p")));
        await expectClosedWith(raw, "disconnect", [RC.malformedPacket, RC.topicNameInvalid]);
      } finally {
        raw.close();
      }
    });

    test("[v5 MQTT-4.7.3-1] a one-character Topic Name and Topic Filter work", async () => {
      const sub = await connectClient(b, { ...v5, clientId: uniqueId("sub") });
      const pub = await connectClient(b, { ...v5, clientId: uniqueId("pub") });
      const one = "\u00e6"; // a single character (two bytes); unlikely to clash with other suites
      try {
        await subscribe(sub, one, { qos: 1 });
        const msgs = collectMessages(sub);
        await publish(pub, one, "single", { qos: 1 });
        const [m] = await msgs.waitFor(1);
        expect(m.topic).toBe(one);
      } finally {
        await closeAll(sub, pub);
      }
    });
  });
}
