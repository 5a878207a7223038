/**
 * bun:test glue for socket-level suites: one broker per describe block (per runtime), plus small
 * assertions shared by the conformance and bad-input suites.
 */
import { afterAll, beforeAll } from "bun:test";
import { type Runtime, type RunningBroker, startBroker, type StartBrokerOptions } from "./broker.ts";
import type { AnyPacket, RawClient } from "./raw.ts";

/** Starts a broker before the block's tests and stops it after; returns a getter. */
export function useBroker(runtime: Runtime, opts: Omit<StartBrokerOptions, "runtime"> = {}): () => RunningBroker {
  let broker: RunningBroker | undefined;
  beforeAll(async () => {
    broker = await startBroker({ runtime, ...opts });
  }, 30_000);
  afterAll(async () => {
    await broker?.stop();
  }, 10_000);
  return () => {
    if (!broker) throw new Error(`broker (${runtime}) did not start`);
    return broker;
  };
}

/** The next packet, or "closed" if the connection closes first; throws on timeout. */
export async function nextPacketOrClose(raw: RawClient, timeoutMs = 3_000): Promise<AnyPacket | "closed"> {
  try {
    return await raw.nextPacket(timeoutMs);
  } catch (e) {
    if (raw.closed) return "closed";
    throw e;
  }
}

/** Asserts the broker closes the raw connection within timeoutMs. */
export async function expectClosed(raw: RawClient, timeoutMs = 3_000, what = "connection"): Promise<void> {
  const closed = await raw.waitClosed(timeoutMs);
  if (!closed) {
    raw.close();
    throw new Error(
      `expected the broker to close the ${what} within ${timeoutMs} ms; it stayed open. Packets received: ` +
        JSON.stringify(raw.packets().map((p) => p.cmd)),
    );
  }
}

/** Asserts the raw connection is still open after ms (and a PINGREQ gets a PINGRESP). */
export async function expectOpen(raw: RawClient, timeoutMs = 2_000): Promise<void> {
  if (raw.closed) throw new Error("connection was closed by the broker");
  raw.send(Buffer.from([0xc0, 0x00]));
  const p = await raw.nextPacketOf("pingresp", timeoutMs);
  if (!p) throw new Error("no PINGRESP");
}
