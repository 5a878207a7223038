/**
 * Issue 3, crash test: a publisher sends numbered QoS 1 (then QoS 2) messages, payload = the
 * sequence number, as fast as its acknowledgements allow (a window of WINDOW in flight), to a
 * topic whose only subscriber is an offline persistent session. The broker is killed with SIGKILL
 * KILLS times, each after a random 200-1500 ms, and restarted on the same database. Afterwards the
 * subscriber connects and must receive every number whose PUBACK (QoS 1) or PUBREC (QoS 2) the
 * publisher got, in order, with no gaps. A third run repeats QoS 2 with the subscriber online
 * (reconnecting after each restart), where messages are forwarded while the broker is killed.
 *
 * The publisher is a v5 persistent session and behaves as [v5 MQTT-4.4.0-1] says: after each
 * reconnect it resends its unacknowledged PUBLISH packets (DUP 1, same packet ids) and its
 * unacknowledged PUBRELs, then carries on with the next number.
 *
 * Duplicates: at QoS 2 none at all (the broker keeps the packet ids awaiting PUBREL, so a resent
 * PUBLISH whose PUBREC was lost in a crash is not taken twice). At QoS 1 a second copy is allowed
 * only as a redelivery (DUP 1), or for a number the publisher had to resend because the crash
 * took its PUBACK (at-least-once: the broker cannot tell that resend from a new message); any
 * other duplicate fails.
 *
 * The kill schedule comes from a seeded PRNG; the seed is printed, and GANNET_CRASH_SEED=<seed>
 * replays the schedule (the exact interleaving still depends on timing).
 */
import { describe, expect, test } from "bun:test";
import { type Runtime, RUNTIMES } from "../helpers/broker.ts";
import { uniqueId } from "../helpers/clients.ts";
import { Publisher, Subscriber } from "./_crash-clients.ts";
import { prng, sleep, startOn, stopBroker, tempDatabase } from "../helpers/persistence.ts";

const KILLS = 4;
const WINDOW = 16;
/** No queue limit in the way: every acknowledged message must be kept. */
const SET = { "mqtt.maxQueuedMessages": 100_000_000 };

const BASE_SEED = (() => {
  const env = typeof process !== "undefined" ? process.env.GANNET_CRASH_SEED : undefined;
  if (env && env.trim() !== "") {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0) throw new Error(`GANNET_CRASH_SEED must be a non-negative integer, got ${env}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
})();

interface Figures {
  runtime: Runtime;
  qos: 1 | 2;
  subscriber: "offline" | "online";
  seed: number;
  kills: number;
  ackedAtKills: number[];
  sent: number;
  acked: number;
  resent: number;
  refused: number;
  received: number;
  distinct: number;
  duplicates: number;
  duplicatesWithDup: number;
  duplicatesOfResent: number;
  /** Online QoS 2: PUBLISH resends for ids the subscriber had PUBREC'd (not deliveries). */
  subscriberSawResends: number;
  missing: number;
  seconds: number;
}

async function crashRun(runtime: Runtime, qos: 1 | 2, online: boolean, seed: number): Promise<void> {
  const rng = prng(seed);
  const db = tempDatabase(`crash-${runtime}-q${qos}`);
  const topic = uniqueId(`crash/q${qos}`);
  const subscriber = new Subscriber(uniqueId("crash-sub"), topic, qos);
  const publisher = new Publisher(uniqueId("crash-pub"), topic, qos, WINDOW);
  const started = Date.now();
  let b = await startOn(runtime, db.path, SET);
  const ackedAtKills: number[] = [];
  try {
    // The subscriber: a persistent session, offline for the whole run or (online) connected
    // whenever the broker is up.
    await subscriber.connect(b, true);
    await subscriber.subscribe();
    if (!online) await subscriber.end();

    await publisher.connect(b, true);
    for (let k = 0; k < KILLS; k++) {
      await sleep(200 + Math.floor(rng() * 1300));
      ackedAtKills.push(publisher.acked.size);
      await stopBroker(b, "SIGKILL");
      await publisher.waitClosed();
      if (online) await subscriber.waitClosed();
      b = await startOn(runtime, db.path, SET);
      if (online) await subscriber.connect(b, false);
      await publisher.connect(b, false);
    }
    await sleep(200 + Math.floor(rng() * 1300));
    await publisher.finish(10_000);
    publisher.end();

    if (!online) await subscriber.connect(b, false);
    await subscriber.receive(publisher.acked);
    await subscriber.end();
    const got = subscriber.deliveries;

    // ---- analysis ----
    const seen = new Set<number>();
    const firsts: number[] = [];
    let duplicates = 0;
    let duplicatesWithDup = 0;
    let duplicatesOfResent = 0;
    const badDuplicates: string[] = [];
    for (const m of got) {
      if (!seen.has(m.seq)) {
        seen.add(m.seq);
        firsts.push(m.seq);
        continue;
      }
      duplicates++;
      if (m.dup) duplicatesWithDup++;
      if (publisher.resent.has(m.seq)) duplicatesOfResent++;
      const allowed = qos === 1 && (m.dup || publisher.resent.has(m.seq));
      if (!allowed) badDuplicates.push(`${m.seq}${m.dup ? " (DUP 1)" : ""}`);
    }
    const missing = [...publisher.acked].filter((n) => !seen.has(n)).sort((x, y) => x - y);
    const outOfOrder: string[] = [];
    for (let i = 1; i < firsts.length; i++) {
      if (firsts[i] <= firsts[i - 1]) outOfOrder.push(`${firsts[i - 1]} then ${firsts[i]}`);
    }
    const neverSent = firsts.filter((n) => !(n >= 1 && n < publisher.nextSeq));
    const wrongQos = got.filter((m) => m.qos !== qos).length;
    const figures: Figures = {
      runtime,
      qos,
      subscriber: online ? "online" : "offline",
      seed,
      kills: KILLS,
      ackedAtKills,
      sent: publisher.nextSeq - 1,
      acked: publisher.acked.size,
      resent: publisher.resent.size,
      refused: publisher.refused.length,
      received: got.length,
      distinct: seen.size,
      duplicates,
      duplicatesWithDup,
      duplicatesOfResent,
      subscriberSawResends: subscriber.resentPublishes,
      missing: missing.length,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
    console.log(`crash figures ${JSON.stringify(figures)}`);
    const replay = `(replay the kill schedule with GANNET_CRASH_SEED=${BASE_SEED})`;

    expect(subscriber.sessionsLost, `subscriber session lost (deliveries so far) ${replay}`).toEqual([]);
    expect(publisher.sessionsLost, `publisher session lost after restarts (next number at the time) ${replay}`).toEqual(
      [],
    );
    expect(publisher.acked.size).toBeGreaterThan(0);
    expect(missing.slice(0, 20), `acknowledged but never delivered (${missing.length}) ${replay}`).toEqual([]);
    expect(outOfOrder.slice(0, 20), `delivered out of order ${replay}`).toEqual([]);
    expect(badDuplicates.slice(0, 20), `duplicates not allowed at QoS ${qos} (${badDuplicates.length}) ${replay}`)
      .toEqual([]);
    expect(neverSent, "numbers that were never published").toEqual([]);
    expect(wrongQos, `deliveries not at QoS ${qos}`).toBe(0);
    // A refusal (v5 0x80/0x97) or any other reason code would have to be explained: none expected here.
    expect(publisher.unexpected.slice(0, 20), `unexpected acks ${replay}`).toEqual([]);
  } finally {
    await stopBroker(b, "SIGTERM").catch(() => {});
    db.remove();
  }
}

const RUNS = [
  {
    qos: 1,
    online: false,
    name:
      "QoS 1, offline subscriber: every message whose PUBACK the publisher got is delivered after the restarts, in " +
      "order, no gaps; duplicates only as DUP redeliveries or of numbers the publisher had to resend " +
      "[v5 MQTT-4.3.2-4] [v5 MQTT-4.4.0-1]",
  },
  {
    qos: 2,
    online: false,
    name:
      "QoS 2, offline subscriber: every message whose PUBREC the publisher got is delivered after the restarts, in " +
      "order, no gaps, no duplicates at all [v5 MQTT-4.3.3-8] [v5 MQTT-4.3.3-10] [v5 MQTT-4.4.0-1]",
  },
  {
    qos: 2,
    online: true,
    name:
      "QoS 2, subscriber online between the kills (reconnecting after each restart): every message whose PUBREC the " +
      "publisher got is delivered, in order, no gaps, no duplicates at all [v5 MQTT-4.3.3-8] [v5 MQTT-4.3.3-10] " +
      "[v5 MQTT-4.4.0-1]",
  },
] as const;

for (const runtime of RUNTIMES) {
  const r = runtime === "bun" ? 0 : 1; // seeds do not depend on which runtimes run
  describe(`Crash test: SIGKILL ${KILLS} times while a publisher sends to a persistent session [${runtime}]`, () => {
    for (const [i, run] of RUNS.entries()) {
      test(run.name, async () => {
        const seed = (BASE_SEED + r * RUNS.length + i) >>> 0;
        console.log(
          `crash test [${runtime}] QoS ${run.qos}${
            run.online ? " online" : ""
          } seed ${seed} (GANNET_CRASH_SEED=${BASE_SEED})`,
        );
        await crashRun(runtime, run.qos, run.online, seed);
      }, 30_000);
    }
  });
}
