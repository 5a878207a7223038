/** Helpers for the security suites (test/security): brokers started from a YAML file, CONNECT outcomes. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Runtime, type RunningBroker, startBroker, type StartBrokerOptions } from "./broker.ts";
import type { MqttClient } from "mqtt";
import { type ConnectOptions, connectClient } from "./clients.ts";

/** Writes `yaml` to a fresh temp file and starts a broker with `--config` on it. */
export async function startWithConfig(
  runtime: Runtime,
  yaml: string,
  opts: Omit<StartBrokerOptions, "runtime"> = {},
): Promise<RunningBroker & { path: string }> {
  const path = join(mkdtempSync(join(tmpdir(), "gannet-sec-")), "gannet.yaml");
  writeFileSync(path, yaml);
  const broker = await startBroker({ runtime, ...opts, args: ["--config", path, ...(opts.args ?? [])] });
  return Object.assign(broker, { path });
}

/**
 * The CONNECT outcome: 0 when accepted (the client is closed again), else the v5 reason code or
 * v3.1.1 return code from CONNACK, or "closed" when the socket closed without a CONNACK.
 */
export async function connectOutcome(b: RunningBroker, opts: ConnectOptions = {}): Promise<number | "closed"> {
  try {
    const client = await connectClient(b, opts);
    client.end(true);
    return 0;
  } catch (e: unknown) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "number") return code;
    if (String(e).includes("closed before CONNACK") || code === "ECONNRESET" || code === "EPIPE") return "closed";
    throw e;
  }
}

/** 0 when the publish was acknowledged without error, else the v5 reason code of its PUBACK/PUBREC. */
export function publishOutcome(c: MqttClient, topic: string, opts: { qos: 1 | 2; retain?: boolean }): Promise<number> {
  return new Promise((resolve) => {
    c.publish(topic, "v", opts, (err) => resolve((err as { code?: number } | undefined)?.code ?? 0));
  });
}
