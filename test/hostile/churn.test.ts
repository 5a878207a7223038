/**
 * Connection churn (issue 14): 1,000 sockets opened and reset at once leave dead connections in the
 * listener's accept queue. Accepting one of them fails for that connection only (ENOTCONN,
 * ECONNABORTED, ECONNRESET); the listener must go straight on to the next one, so a client that
 * connects right after the churn gets its CONNACK within a second, and the failures are logged
 * under the broker-wide bound instead of one line each.
 */
import { describe, expect, test } from "bun:test";
import { connect as netConnect, type Socket } from "node:net";
import { RUNTIMES } from "../helpers/broker.ts";
import { closeAll, connectClient } from "../helpers/clients.ts";
import { useBroker } from "../helpers/suite.ts";

const CHURN = 1_000;
/** What "at once" allows for a client arriving right after the churn (the issue measured 25 s on Deno). */
const CONNACK_WITHIN_MS = 1_000;
/** The broker-wide bound on connection-level lines: 50 per 10 s window (src/core/broker.ts). */
const CONNECTION_LOG_BURST = 50;

/** Open `n` sockets at once and reset each as soon as it connects (or fails): dead entries in the accept queue. */
function churn(port: number, n: number): Promise<void> {
  return new Promise((resolve) => {
    let left = n;
    const done = () => {
      if (--left === 0) resolve();
    };
    for (let i = 0; i < n; i++) {
      const socket: Socket = netConnect({ host: "127.0.0.1", port });
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        done();
      };
      socket.once("connect", () => {
        socket.resetAndDestroy();
        settle();
      });
      socket.once("error", settle);
      socket.once("close", settle);
    }
  });
}

for (const runtime of RUNTIMES) {
  describe(`connection churn [${runtime}]`, () => {
    const broker = useBroker(runtime);

    test(`${CHURN} connections opened and reset at once: the next client gets CONNACK within ${CONNACK_WITHIN_MS} ms; accept failures are logged within the bound`, async () => {
      const b = broker();
      await churn(b.port, CHURN);
      const started = performance.now();
      const client = await connectClient(b, { connectTimeout: 5_000 });
      const elapsed = performance.now() - started;
      try {
        console.log(`churn figures ${JSON.stringify({ runtime, connackMs: Math.round(elapsed) })}`);
        expect(elapsed).toBeLessThan(CONNACK_WITHIN_MS);
        const acceptLines = b.logs().split("\n").filter((l) => l.includes('"msg":"accept failed'));
        expect(acceptLines.length).toBeLessThanOrEqual(CONNECTION_LOG_BURST);
      } finally {
        await closeAll(client);
      }
    }, 60_000);
  });
}
