/**
 * Issue 3, restart test: persistent sessions with their subscriptions, queued QoS 1 and 2
 * messages, half-finished QoS 2 flows in both directions, unacknowledged QoS 1, retained messages
 * and a pending delayed will all come back after a clean stop (SIGTERM) and after SIGKILL, on
 * the same SQLite database. A session whose expiry passed while the broker was down is gone.
 *
 * Shape: each scenario prepares its state on the first broker and returns its checks; the broker
 * is then stopped (or killed) once, a second broker starts on the same database, and each check
 * is one test. Before stopping, the suite waits SETTLE_MS only for state that no packet
 * acknowledges (see test/helpers/persistence.ts); everything acknowledged must be durable at the ack. The scenarios
 * live in _scenarios-sessions.ts and _scenarios-state.ts; kill-after-send.test.ts kills without
 * that wait, right after a packet the broker sent.
 *
 * Spec references: "v5" = MQTT 5.0 (OASIS 2019), "3.1.1" = MQTT 3.1.1 (OASIS 2014); their
 * statement ids are numbered separately.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RunningBroker, RUNTIMES } from "../helpers/broker.ts";
import { inboundQos2, outboundQos2, unacknowledged, v311Session, v5Session } from "./_scenarios-sessions.ts";
import { delayedWill, expiredWhileDown, retained, SHORT_EXPIRY_S } from "./_scenarios-state.ts";
import {
  SETTLE_MS,
  sleep,
  startOn,
  stopBroker,
  type StopMode,
  tempDatabase,
} from "../helpers/persistence.ts";
import { type Checks, leftOpen, type Scenario } from "./scenario.ts";

for (const runtime of RUNTIMES) {
  for (const mode of ["SIGTERM", "SIGKILL"] as StopMode[]) {
    describe(`Restart after ${mode === "SIGTERM" ? "a clean stop (SIGTERM)" : "SIGKILL"} on the same SQLite database [${runtime}]`, () => {
      const db = tempDatabase(`restart-${runtime}`);
      let expiryDisconnectedAt = 0;
      const scenarios: Scenario[] = [
        v5Session,
        v311Session,
        inboundQos2(5),
        inboundQos2(4),
        outboundQos2(5),
        outboundQos2(4),
        unacknowledged(5),
        unacknowledged(4),
        retained(5),
        retained(4),
        delayedWill,
        expiredWhileDown((at) => (expiryDisconnectedAt = at)), // last: it must still be alive at the stop
      ];
      const checks = new Map<Scenario, Checks | Error>();
      let broker: RunningBroker | undefined;
      let exitCode: number | null = null;
      let stoppedAt = 0;

      beforeAll(async () => {
        const first = await startOn(runtime, db.path);
        try {
          for (const s of scenarios) {
            try {
              checks.set(s, await s.prepare(first));
            } catch (e) {
              checks.set(s, new Error(`before the restart: ${(e as Error).message}`, { cause: e }));
            }
          }
          await sleep(SETTLE_MS);
        } finally {
          stoppedAt = Date.now();
          exitCode = await stopBroker(first, mode);
        }
        // Stay down until the short session has expired (with slack for the broker's view of the close).
        await sleep(expiryDisconnectedAt + SHORT_EXPIRY_S * 1000 + 1_000 - Date.now());
        for (const raw of leftOpen.splice(0)) raw.close();
        broker = await startOn(runtime, db.path);
        for (const s of scenarios) {
          const c = checks.get(s);
          if (c instanceof Error || !c?.resumed) continue;
          try {
            await c.resumed(broker);
          } catch (e) {
            checks.set(s, new Error(`right after the restart: ${(e as Error).message}`, { cause: e }));
          }
        }
      }, 60_000);

      afterAll(async () => {
        for (const raw of leftOpen.splice(0)) raw.close();
        if (broker) await stopBroker(broker, "SIGTERM");
        db.remove();
      }, 15_000);

      if (mode === "SIGTERM") {
        test("a clean stop exits with 0 and the broker starts again on the same database", () => {
          expect(exitCode).toBe(0);
          expect(broker).toBeDefined();
        });
      }

      test("the short-expiry session was offline, and its expiry passed, while the broker was down", () => {
        // A precondition of the expiry test below (not a property of the broker).
        expect(expiryDisconnectedAt).toBeGreaterThan(0);
        if (stoppedAt >= expiryDisconnectedAt + SHORT_EXPIRY_S * 1000) {
          console.warn(
            `[${runtime} ${mode}] the broker stopped after the short session expired: the expiry test is weaker`,
          );
        }
      });

      for (const s of scenarios) {
        test(s.name, async () => {
          const c = checks.get(s);
          if (!broker) throw new Error("the broker did not restart");
          if (!c) throw new Error("scenario not prepared");
          if (c instanceof Error) throw c;
          await c.verify(broker);
        }, 20_000);
      }
    });
  }
}
