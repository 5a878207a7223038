/**
 * Issue 3, restart test, the narrow case: SIGKILL right after a packet the broker sent (see
 * below), where restart.test.ts waits SETTLE_MS before stopping the broker.
 *
 * Spec references: "v5" = MQTT 5.0 (OASIS 2019).
 */
import { describe, expect, test } from "bun:test";
import { type RunningBroker, RUNTIMES } from "../helpers/broker.ts";
import { publish, uniqueId } from "../helpers/clients.ts";
import type { AnyPacket, RawClient } from "../helpers/raw.ts";
import {
  connectPersistent,
  describePacket,
  disconnect,
  Receiver,
  startOn,
  stopBroker,
  subscribeRaw,
  tempDatabase,
  withPublisher,
} from "../helpers/persistence.ts";

/**
 * Kills right after a packet the broker sent, instead of SETTLE_MS later. Once the broker has sent
 * a PUBLISH with a packet id, or a PUBREL, a restart must continue from there: the PUBLISH again
 * only as a re-delivery (DUP 1, the same packet id, so that a QoS 2 receiver recognises it), and
 * after a PUBREL never the PUBLISH. These packets acknowledge nothing, but the broker's state has
 * to say it sent them before the client can act on them. Timing-dependent by nature: ATTEMPTS
 * tries, each on a fresh broker and database, and every one must hold.
 */
const ATTEMPTS = 4;

interface RaceCase {
  name: string;
  /** On the first broker: bring the session to the moment of the kill; returns the client id and what was sent. */
  before(b: RunningBroker, open: RawClient[]): Promise<{ id: string; sent: AnyPacket }>;
  /** Does what arrived after the restart keep the rules? (null = yes, else why not) */
  judge(sent: AnyPacket, after: AnyPacket[]): string | null;
}

/** A persistent v5 subscriber with a QoS `qos` message queued while offline, then connected: it gets the PUBLISH. */
async function queuedThenSent(
  b: RunningBroker,
  open: RawClient[],
  qos: 1 | 2,
): Promise<{ id: string; raw: RawClient; sent: AnyPacket }> {
  const topic = uniqueId("race");
  const id = uniqueId("race-sub");
  const first = await connectPersistent(b, 5, id, true);
  await subscribeRaw(first.raw, [{ topic, qos }]);
  await disconnect(first.raw);
  await withPublisher(b, 5, (c) => publish(c, topic, "queued", { qos }));
  const { raw } = await connectPersistent(b, 5, id, false);
  open.push(raw);
  const sent = await raw.nextPacketOf("publish", 3_000);
  return { id, raw, sent };
}

const raceCases: RaceCase[] = [
  ...([1, 2] as const).map((qos): RaceCase => ({
    name:
      `[v5 MQTT-3.3.1-1] [v5 MQTT-4.4.0-1] a broker killed right after sending a QoS ${qos} PUBLISH re-delivers it after ` +
      "the restart with DUP 1 and the same packet id",
    async before(b, open) {
      const { id, sent } = await queuedThenSent(b, open, qos);
      return { id, sent };
    },
    judge(sent, after) {
      const publishes = after.filter((p) => p.cmd === "publish");
      const ok = publishes.length === 1 && publishes[0].dup === true && publishes[0].messageId === sent.messageId &&
        String(publishes[0].payload) === String(sent.payload);
      return ok ? null : "expected exactly one PUBLISH, DUP 1, same packet id";
    },
  })),
  {
    name: "[v5 MQTT-4.3.3-6] [v5 MQTT-4.4.0-1] a broker killed right after sending PUBREL (no PUBCOMP yet) resends " +
      "PUBREL after the restart, never the PUBLISH",
    async before(b, open) {
      const { id, raw, sent } = await queuedThenSent(b, open, 2);
      raw.sendPacket({ cmd: "pubrec", messageId: sent.messageId });
      const rel = await raw.nextPacket(3_000);
      if (rel.cmd !== "pubrel" || rel.messageId !== sent.messageId) {
        throw new Error(`expected PUBREL, got ${describePacket(rel)}`);
      }
      return { id, sent: rel };
    },
    judge(sent, after) {
      const ok = after.length === 1 && after[0].cmd === "pubrel" && after[0].messageId === sent.messageId;
      return ok ? null : `expected exactly PUBREL ${sent.messageId}`;
    },
  },
];

for (const runtime of RUNTIMES) {
  describe(`SIGKILL right after a packet the broker sent [${runtime}]`, () => {
    for (const c of raceCases) {
      test(c.name, async () => {
        const failures: string[] = [];
        for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
          const db = tempDatabase(`race-${runtime}`);
          let b: RunningBroker | undefined = await startOn(runtime, db.path);
          const open: RawClient[] = [];
          try {
            const { id, sent } = await c.before(b, open);
            await stopBroker(b, "SIGKILL");
            b = await startOn(runtime, db.path);
            const again = await connectPersistent(b, 5, id, false);
            open.push(again.raw);
            expect(again.connack.sessionPresent).toBe(true);
            const rx = new Receiver(again.raw, false);
            await rx.until(() => rx.all.length > 0, 3_000, "a packet");
            await rx.drainFor(300);
            const why = c.judge(sent, rx.all);
            if (why) {
              failures.push(
                `attempt ${attempt}: sent ${describePacket(sent)}, killed; after the restart: ` +
                  `${rx.all.map(describePacket).join(", ")} (${why})`,
              );
            }
          } finally {
            for (const raw of open) raw.close();
            if (b) await stopBroker(b, "SIGKILL");
            db.remove();
          }
        }
        expect(failures).toEqual([]);
      }, 40_000);
    }
  });
}
