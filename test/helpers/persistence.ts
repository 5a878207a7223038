/**
 * Helpers for the persistence suites (test/persistence, issue 3): a temporary database per suite, stopping a broker
 * the two ways a restart test needs (SIGTERM, SIGKILL) and starting the next one on the same
 * database, raw v3.1.1 / v5 clients with persistent sessions, and a receiver that completes the
 * QoS 1/2 flows the way a subscriber would.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { type RunningBroker, type Runtime, startBroker } from "./broker.ts";
export { sleep } from "./broker.ts";
import { closeAll, connectClient, uniqueId } from "./clients.ts";
import { type AnyPacket, connectRaw, hex, type RawClient } from "./raw.ts";
export { hex } from "./raw.ts";

export type StopMode = "SIGTERM" | "SIGKILL";
export type Version = 4 | 5;

/** v5: Session Expiry Interval that never ends. */
export const NEVER = 0xffffffff;

/**
 * The group commit (default 2 ms) with generous slack: how long a suite waits before stopping the
 * broker, for state that no packet acknowledges (a closed connection's will, the time a session
 * went offline, a PUBREL the broker sent). Everything a PUBACK, PUBREC, PUBCOMP or SUBACK
 * acknowledged must be durable without it.
 */
export const SETTLE_MS = 300;

/** A fresh directory with a database path in it; `remove()` deletes the directory. */
export function tempDatabase(tag: string): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `gannet-${tag}-`));
  return { path: join(dir, "gannet.db"), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Start a broker on `database` (startBroker's `database` option; a second start is the restart). */
export async function startOn(
  runtime: Runtime,
  database: string,
  set: Record<string, string | number | boolean> = {},
): Promise<RunningBroker> {
  const b = await startBroker({ runtime, set, database });
  const pid = brokerPid(b);
  started.add(pid);
  pids.set(b, pid);
  return b;
}

/** Looked up at start, so that a kill costs no /proc walk (the race tests kill right after a packet). */
const pids = new WeakMap<RunningBroker, number>();

/** Broker processes started here and not yet stopped: killed if the test process exits first. */
const started = new Set<number>();
process.on("exit", () => {
  for (const pid of started) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
});

/**
 * The broker's own process id: the leaf of the harness child's process tree. The harness now runs
 * the runtime binaries directly, so that is the child itself; before, `node_modules/.bin/deno` (a
 * Node script that runs Deno with spawnSync) sat in between, and a signal sent to the child only
 * reached that wrapper while the broker carried on as an orphan still holding the database: a
 * SIGKILL "crash" killed nothing. Signalling the leaf keeps these suites honest either way.
 */
export function brokerPid(b: RunningBroker): number {
  const child = (b as unknown as { child?: ChildProcess }).child;
  let pid = child?.pid;
  if (!pid) throw new Error("the harness does not expose the broker's child process");
  for (;;) {
    const kids = childrenOf(pid);
    if (kids.length !== 1) return pid;
    pid = kids[0];
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone, or no /proc: signal what we have
  }
  return [...new Set(out)];
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once("exit", () => r()));
}

/**
 * Stop the broker: SIGTERM (graceful; resolves with its exit code) or SIGKILL (resolves with null),
 * sent to the broker process itself (see brokerPid), then wait for the harness's child to exit.
 */
export async function stopBroker(b: RunningBroker, mode: StopMode): Promise<number | null> {
  const pid = pids.get(b) ?? brokerPid(b);
  try {
    process.kill(pid, mode);
  } catch {
    // already gone
  }
  // The harness's child (Deno's Node wrapper, if any) exits with the broker.
  const child = (b as unknown as { child: ChildProcess }).child;
  const timer = setTimeout(() => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }, 10_000);
  await exited(child);
  clearTimeout(timer);
  started.delete(pid);
  await b.kill("SIGKILL"); // no-op once exited; also settles the harness's bookkeeping
  return mode === "SIGKILL" ? null : child.exitCode;
}

/** Seeded PRNG (mulberry32): the same seed gives the same sequence, so a failure can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SessionOptions {
  /** Clean Start (v5) / CleanSession (3.1.1). */
  clean: boolean;
  /** v5 Session Expiry Interval in seconds (ignored for 3.1.1, where clean=false is persistent). */
  expiry?: number;
  will?: AnyPacket;
  keepalive?: number;
}

/** Raw connection with the given session flags; returns the client and its CONNACK. */
export async function connectSession(
  b: RunningBroker,
  version: Version,
  clientId: string,
  o: SessionOptions,
): Promise<{ raw: RawClient; connack: AnyPacket }> {
  const connect: AnyPacket = { clientId, protocolVersion: version, clean: o.clean, keepalive: o.keepalive ?? 60 };
  if (version === 5 && o.expiry !== undefined) connect.properties = { sessionExpiryInterval: o.expiry };
  if (o.will) connect.will = o.will;
  const r = await connectRaw(b, connect, { protocolVersion: version });
  const code = version === 5 ? (r.connack.reasonCode ?? 0) : (r.connack.returnCode ?? 0);
  if (code !== 0) {
    r.raw.close();
    throw new Error(`CONNACK for ${clientId} refused the connection: ${hex(code)}`);
  }
  return r;
}

/**
 * A persistent session: v5 Session Expiry Interval `expiry` (3600 s) with Clean Start = `fresh`;
 * 3.1.1 always CleanSession 0 (CleanSession 1 would not be persistent; a new client id has no
 * session to resume anyway).
 */
export function connectPersistent(
  b: RunningBroker,
  version: Version,
  clientId: string,
  fresh: boolean,
  expiry = 3600,
): Promise<{ raw: RawClient; connack: AnyPacket }> {
  return connectSession(b, version, clientId, { clean: version === 5 ? fresh : false, expiry });
}

/** SUBSCRIBE (v5 with an optional Subscription Identifier) and its SUBACK; checks the granted QoS. */
export async function subscribeRaw(
  raw: RawClient,
  subscriptions: Array<{ topic: string; qos: 0 | 1 | 2 }>,
  o: { messageId?: number; subscriptionIdentifier?: number } = {},
): Promise<AnyPacket> {
  const messageId = o.messageId ?? 1;
  raw.sendPacket({
    cmd: "subscribe",
    messageId,
    subscriptions,
    ...(o.subscriptionIdentifier !== undefined
      ? { properties: { subscriptionIdentifier: o.subscriptionIdentifier } }
      : {}),
  });
  const suback = await raw.nextPacketOf("suback", 3_000);
  const granted = (suback.granted ?? []) as number[];
  const wanted = subscriptions.map((s) => s.qos);
  if (suback.messageId !== messageId || JSON.stringify(granted) !== JSON.stringify(wanted)) {
    throw new Error(
      `SUBACK ${suback.messageId} granted ${JSON.stringify(granted)}, expected ${messageId} ${JSON.stringify(wanted)}`,
    );
  }
  return suback;
}

/** Normal DISCONNECT (v5 reason 0x00: the will is discarded) and close. */
export async function disconnect(raw: RawClient): Promise<void> {
  raw.sendPacket({ cmd: "disconnect", ...(raw.protocolVersion === 5 ? { reasonCode: 0 } : {}) });
  await raw.waitClosed(1_000);
  raw.close();
}

/** The v5 Subscription Identifiers of a PUBLISH, as a sorted list (empty when absent). */
export function subscriptionIds(p: AnyPacket): number[] {
  const v = p.properties?.subscriptionIdentifier;
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).slice().sort((a: number, b: number) => a - b);
}

/** Short description of a packet for assertion messages. */
export function describePacket(p: AnyPacket): string {
  if (p.cmd === "publish") {
    return `PUBLISH(${p.topic} "${String(p.payload).slice(0, 30)}" qos=${p.qos} dup=${p.dup ? 1 : 0} id=${
      p.messageId ?? "-"
    })`;
  }
  return `${String(p.cmd).toUpperCase()}(id=${p.messageId ?? "-"}${
    p.reasonCode !== undefined ? " rc=" + hex(p.reasonCode) : ""
  })`;
}

/**
 * A subscriber's side of the QoS flows on a raw connection: every PUBLISH is recorded and
 * answered (PUBACK, or PUBREC then PUBCOMP for the PUBREL). `all` keeps every packet in order.
 */
export class Receiver {
  readonly publishes: AnyPacket[] = [];
  /** Date.now() at which each of `publishes` was read. */
  readonly arrivals: number[] = [];
  readonly all: AnyPacket[] = [];

  constructor(readonly raw: RawClient, private readonly ack = true) {}

  /** Handle packets until `done()` holds; throws with what was seen after timeoutMs. */
  async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0 || this.raw.closed) {
        throw new Error(
          `${this.raw.closed ? "connection closed" : `timed out after ${timeoutMs} ms`} waiting for ${what}; ` +
            `packets: [${this.all.map(describePacket).join(", ")}]`,
        );
      }
      let p: AnyPacket;
      try {
        p = await this.raw.nextPacket(left);
      } catch {
        continue; // timeout or close: reported by the loop condition
      }
      this.handle(p);
    }
  }

  /** Wait for `n` PUBLISH packets in total. */
  async publishesUntil(n: number, timeoutMs = 3_000): Promise<AnyPacket[]> {
    await this.until(() => this.publishes.length >= n, timeoutMs, `${n} PUBLISH packet(s)`);
    return this.publishes;
  }

  /** SUBSCRIBE and wait for its SUBACK, handling (not skipping) what arrives before it. */
  async subscribe(subscriptions: Array<{ topic: string; qos: 0 | 1 | 2 }>, messageId = 1): Promise<AnyPacket> {
    this.raw.sendPacket({ cmd: "subscribe", messageId, subscriptions });
    await this.until(() => this.all.some((p) => p.cmd === "suback" && p.messageId === messageId), 3_000, "SUBACK");
    return this.all.find((p) => p.cmd === "suback" && p.messageId === messageId);
  }

  /** Keep handling packets for ms (to see that nothing else arrives). */
  async drainFor(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 || this.raw.closed) return;
      try {
        this.handle(await this.raw.nextPacket(left));
      } catch {
        return;
      }
    }
  }

  private handle(p: AnyPacket): void {
    this.all.push(p);
    if (p.cmd === "publish") {
      this.publishes.push(p);
      this.arrivals.push(Date.now());
      if (!this.ack) return;
      if (p.qos === 1) this.raw.sendPacket({ cmd: "puback", messageId: p.messageId });
      if (p.qos === 2) this.raw.sendPacket({ cmd: "pubrec", messageId: p.messageId });
    } else if (p.cmd === "pubrel" && this.ack) {
      this.raw.sendPacket({ cmd: "pubcomp", messageId: p.messageId });
    }
  }
}

/** "topic payload" pairs, for comparing deliveries. */
export function topicPayloads(ps: AnyPacket[]): string[] {
  return ps.map((p) => `${p.topic} ${String(p.payload)}`);
}

/** A publisher (mqtt.js, clean session) for one call. */
export async function withPublisher(
  b: RunningBroker,
  version: Version,
  fn: (c: MqttClient) => Promise<void>,
): Promise<void> {
  const c = await connectClient(b, { protocolVersion: version, clientId: uniqueId("pub") });
  try {
    await fn(c);
  } finally {
    await closeAll(c);
  }
}

export function versionName(version: Version): string {
  return version === 5 ? "v5" : "3.1.1";
}
