/**
 * Restart scenarios (restart.test.ts), other durable state: retained messages, a pending delayed
 * will, and a session that expires while the broker is down.
 */
import { expect } from "bun:test";
import { publish, uniqueId } from "../helpers/clients.ts";
import type { AnyPacket } from "../helpers/raw.ts";
import {
  connectPersistent,
  connectSession,
  describePacket,
  disconnect,
  Receiver,
  sleep,
  subscribeRaw,
  type Version,
  versionName,
  withPublisher,
} from "../helpers/persistence.ts";
import { leftOpen, type Scenario } from "./scenario.ts";

export const WILL_DELAY_S = 5;
export const SHORT_EXPIRY_S = 2;

export function retained(version: Version): Scenario {
  const rules = version === 5
    ? "[v5 MQTT-3.3.1-5] [v5 MQTT-3.3.1-6] [v5 MQTT-3.3.1-7]"
    : "[3.1.1 MQTT-3.3.1-5] [3.1.1 MQTT-3.3.1-6] [3.1.1 MQTT-3.3.1-10] [3.1.1 MQTT-3.3.1-11]";
  return {
    name:
      `${rules} ${
        versionName(version)
      } retained messages survive (the latest one per topic), and one deleted with an empty ` +
      "payload stays deleted",
    async prepare(b) {
      const base = uniqueId("ret");
      await withPublisher(b, version, async (c) => {
        await publish(c, `${base}/keep`, "kept", { qos: 1, retain: true });
        await publish(c, `${base}/replaced`, "v1", { qos: 1, retain: true });
        await publish(c, `${base}/gone`, "old", { qos: 1, retain: true });
        await publish(c, `${base}/replaced`, "v2", { qos: 2, retain: true });
        await publish(c, `${base}/gone`, "", { qos: 1, retain: true });
      });
      return {
        async verify(b2) {
          const { raw } = await connectSession(b2, version, uniqueId("ret-sub"), { clean: true });
          try {
            const rx = new Receiver(raw);
            await rx.subscribe([{ topic: `${base}/#`, qos: 1 }]);
            await rx.publishesUntil(2, 3_000);
            await rx.drainFor(300);
            expect(rx.publishes.map((p) => `${p.topic} ${String(p.payload)} retain=${p.retain}`).sort()).toEqual([
              `${base}/keep kept retain=true`,
              `${base}/replaced v2 retain=true`,
            ]);
          } finally {
            raw.close();
          }
        },
      };
    },
  };
}

/** v5 delayed will: the connection dropped, Will Delay Interval 5 s, Session Expiry 600 s. */
export const delayedWill: Scenario = {
  name: "[v5 MQTT-3.1.2-8] a pending delayed will (Will Delay Interval longer than the restart, " +
    "Session Expiry longer still) is published after the restart once the delay runs out, not before, and once",
  async prepare(b) {
    const topic = uniqueId("will");
    const watcherId = uniqueId("will-watch");
    // The watcher is a persistent session too: a will published too early (before or at the
    // restart) is queued for it and shows up with an early arrival time.
    const w = await connectPersistent(b, 5, watcherId, true);
    await subscribeRaw(w.raw, [{ topic, qos: 1 }]);
    await disconnect(w.raw);
    const { raw } = await connectSession(b, 5, uniqueId("will-client"), {
      clean: true,
      expiry: 600,
      will: {
        topic,
        payload: Buffer.from("gone"),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: WILL_DELAY_S },
      },
    });
    const droppedAt = Date.now();
    raw.close(); // no DISCONNECT: the will is due WILL_DELAY_S after the broker sees the close
    let watcher: Receiver | undefined;
    return {
      async resumed(b2) {
        const r = await connectPersistent(b2, 5, watcherId, false);
        leftOpen.push(r.raw);
        if (!r.connack.sessionPresent) throw new Error("the will watcher's session was not present after the restart");
        watcher = new Receiver(r.raw);
        // Read (and time) packets in the background while the other tests run.
        void watcher.until(() => false, WILL_DELAY_S * 1000 + 30_000, "").catch(() => {});
      },
      async verify() {
        if (!watcher) throw new Error("watcher not connected after the restart");
        const dueAt = droppedAt + WILL_DELAY_S * 1000;
        const deadline = dueAt + 10_000;
        while (watcher.publishes.length === 0 && Date.now() < deadline) await sleep(50);
        await sleep(300);
        const got = watcher.publishes.map((p: AnyPacket) => `${p.topic} ${String(p.payload)}`);
        expect(got).toEqual([`${topic} gone`]);
        // Not before the Will Delay Interval ran out (the broker saw the close after droppedAt).
        const early = dueAt - watcher.arrivals[0];
        if (early > 50) {
          throw new Error(`will arrived ${early} ms before its Will Delay Interval (${WILL_DELAY_S} s) ran out`);
        }
      },
    };
  },
};

/** v5 session with Session Expiry 2 s, offline when the broker goes down; expires while down. */
export const expiredWhileDown = (onDisconnect: (at: number) => void): Scenario => ({
  name:
    "[v5 MQTT-4.1.0-2] [v5 MQTT-3.2.2-3] a session whose Session Expiry Interval passed while the broker was down is gone after the " +
    "restart: Session Present 0, no queued messages, no subscriptions",
  async prepare(b) {
    const topic = uniqueId("exp");
    const id = uniqueId("exp-sub");
    const { raw } = await connectPersistent(b, 5, id, true, SHORT_EXPIRY_S);
    await subscribeRaw(raw, [{ topic, qos: 1 }]);
    await disconnect(raw);
    onDisconnect(Date.now());
    await withPublisher(b, 5, (c) => publish(c, topic, "queued", { qos: 1 }));
    return {
      async verify(b2) {
        const { raw, connack } = await connectPersistent(b2, 5, id, false, SHORT_EXPIRY_S);
        try {
          expect(connack.sessionPresent).toBe(false);
          const rx = new Receiver(raw);
          await rx.drainFor(300);
          await withPublisher(b2, 5, (c) => publish(c, topic, "after", { qos: 1 }));
          await rx.drainFor(300);
          expect(rx.publishes.map(describePacket)).toEqual([]);
        } finally {
          raw.close();
        }
      },
    };
  },
});
