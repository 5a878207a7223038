/**
 * Bridge benchmark: Gannet's bridge (Bun, Deno) against Mosquitto's own bridge (a `connection`
 * section in mosquitto.conf), both forwarding to the same kind of upstream (a fresh Debian
 * Mosquitto each time) at QoS 1, on 127.0.0.1.
 *
 *   throughput: bench/load.ts (8 raw-socket publishers at QoS 1 into the edge broker, its
 *               subscriber on the upstream on up/bench/#) for --duration seconds: msgs/s.
 *   drain:      with the upstream stopped, --backlog messages (default 100,000) are published
 *               (mqtt.js, 200 in flight) and acknowledged by the edge broker; then the upstream
 *               starts and the time until a raw-socket persistent subscriber there has them all
 *               gives msgs/s (mqtt.js cannot count fast enough on this machine: ~6k msgs/s).
 *
 *   bun bench/bridge.ts [--duration 10] [--backlog 100000] [--targets gannet-bun,gannet-deno,mosquitto]
 *
 * Prints each figure with its ratio to Mosquitto's bridge and writes bench/results/bridge-<date>.json.
 * The machine is shared and noisy: compare ratios within one run.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt, { type MqttClient } from "mqtt";
import { freePort, type RunningBroker, sleep, startBroker, tempDatabase } from "../test/helpers/broker.ts";
import { bridgeConfigFile, type Mosquitto, startMosquitto } from "../test/helpers/mosquitto.ts";
import { runLoad } from "./load.ts";
import { connect as tcpConnect } from "node:net";
import mqttPacket from "mqtt-packet";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
type Target = "gannet-bun" | "gannet-deno" | "mosquitto";
const WINDOW = 200;
const PAYLOAD = Buffer.alloc(64, 120);
const LOAD = { publishers: 8, window: 1000, pubWindow: 100 };

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const duration = Number(option("--duration", "10"));
const backlog = Number(option("--backlog", "100000"));
const targets = option("--targets", "gannet-bun,gannet-deno,mosquitto").split(",") as Target[];

interface Edge {
  port: number;
  stop(): Promise<void>;
}

/** The edge broker under test, bridging bench/# to the upstream as up/bench/#. */
async function startEdge(target: Target, upstream: Mosquitto): Promise<Edge> {
  if (target === "mosquitto") {
    const dir = mkdtempSync(join(tmpdir(), "bench-bridge-"));
    const port = await freePort();
    writeFileSync(join(dir, "m.conf"), [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "max_queued_messages 0", // no limit: the backlog must all be kept, as Gannet's queue does
      "max_inflight_messages 100",
      "connection up",
      `address 127.0.0.1:${upstream.port}`,
      "bridge_protocol_version mqttv50",
      "cleansession false",
      "restart_timeout 1",
      "topic bench/# out 1 \"\" up/",
    ].join("\n") + "\n");
    const child = spawn("/usr/sbin/mosquitto", ["-c", join(dir, "m.conf")], { stdio: "ignore" });
    for (let i = 0; i < 100; i++) {
      await sleep(50);
      try {
        const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
        await c.endAsync();
        break;
      } catch { /* not yet */ }
    }
    return {
      port,
      stop: async () => {
        child.kill("SIGKILL");
        await new Promise((r) => child.once("exit", r));
      },
    };
  }
  const config = bridgeConfigFile(`  - name: up
    url: ${upstream.url}
    clientId: bench-edge
    reconnect: { min: 100ms, max: 1s }
    out:
      - { local: "bench/#", remote: "up/bench/#", qos: 1 }
`);
  const broker: RunningBroker = await startBroker({
    runtime: target === "gannet-bun" ? "bun" : "deno",
    database: tempDatabase("bench"),
    args: ["--config", config, "--log-level", "info", ...(process.env.BENCH_MEMORY ? ["--set", "persistence.store=memory"] : [])],
  });
  return { port: broker.port, stop: async () => void (await broker.kill("SIGKILL")) };
}

/** Publish `count` (or until `until`) QoS 1 messages with WINDOW in flight; resolves with how many were acked. */
function publishLoad(client: MqttClient, count: number, until = Infinity): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    let acked = 0;
    let inflight = 0;
    const pump = () => {
      while (inflight < WINDOW && sent < count && Date.now() < until) {
        sent++;
        inflight++;
        client.publish("bench/load", PAYLOAD, { qos: 1 }, () => {
          inflight--;
          acked++;
          if (inflight === 0 && (sent >= count || Date.now() >= until)) resolve(acked);
          else pump();
        });
      }
    };
    pump();
  });
}

/** A persistent QoS 1 subscriber on raw sockets: counts PUBLISH packets and answers PUBACK. */
function subscriber(upstream: Mosquitto, id: string): Promise<{ count(): number; close(): void }> {
  return new Promise((resolve, reject) => {
    let received = 0;
    let buffer = Buffer.alloc(0);
    const socket = tcpConnect(upstream.port, "127.0.0.1");
    socket.on("error", reject);
    socket.on("connect", () => {
      socket.write(mqttPacket.generate({ cmd: "connect", clientId: id, protocolVersion: 4, clean: false, keepalive: 600 }));
      socket.write(mqttPacket.generate({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "up/bench/#", qos: 1 }] }));
    });
    socket.on("data", (chunk: Buffer) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      const acks: number[] = [];
      let at = 0;
      for (;;) {
        if (buffer.length - at < 2) break;
        let length = 0, multiplier = 1, i = at + 1;
        for (; i < buffer.length; i++) {
          length += (buffer[i] & 127) * multiplier;
          multiplier *= 128;
          if ((buffer[i] & 128) === 0) break;
        }
        if (i >= buffer.length || i + 1 + length > buffer.length) break;
        const type = buffer[at] >> 4;
        const body = i + 1;
        if (type === 9) resolve({ count: () => received, close: () => socket.destroy() }); // SUBACK
        if (type === 3) {
          received++;
          const qos = (buffer[at] >> 1) & 3;
          const topicLength = (buffer[body] << 8) | buffer[body + 1];
          if (qos > 0) acks.push(0x40, 2, buffer[body + 2 + topicLength], buffer[body + 3 + topicLength]);
        }
        at = body + length;
      }
      buffer = buffer.subarray(at);
      if (acks.length) socket.write(Uint8Array.from(acks));
    });
  });
}

async function measure(target: Target): Promise<{ throughput: number; drain: number }> {
  // Throughput with the uplink up.
  let upstream = await startMosquitto();
  let edge = await startEdge(target, upstream);
  await sleep(1000); // the bridge connects
  const load = await runLoad({
    host: "127.0.0.1",
    port: edge.port,
    qos: 1,
    duration,
    warmup: 2,
    ...LOAD,
    payload: 64,
    subscriber: { host: "127.0.0.1", port: upstream.port, filter: "up/bench/#" },
  });
  const throughput = load.msgsPerSec;
  await edge.stop();
  await upstream.dispose();

  // Drain of a backlog after the uplink returns.
  upstream = await startMosquitto();
  edge = await startEdge(target, upstream);
  await sleep(1000);
  let sub = await subscriber(upstream, "bench-drain");
  await upstream.stop(); // keeps the subscriber's session
  sub.close();
  const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${edge.port}`, { reconnectPeriod: 0, protocolVersion: 5 });
  const acked = await publishLoad(pub, backlog);
  await pub.endAsync(true);
  await upstream.start();
  const drainStart = Date.now();
  sub = await subscriber(upstream, "bench-drain");
  for (let i = 0; i < 6000 && sub.count() < acked; i++) await sleep(50);
  const drain = sub.count() / ((Date.now() - drainStart) / 1000);
  if (sub.count() < acked) console.log(`${target}: only ${sub.count()} of ${acked} backlog messages arrived within 300 s`);
  sub.close();
  await edge.stop();
  await upstream.dispose();
  return { throughput, drain };
}

const results: Record<string, { throughput: number; drain: number }> = {};
for (const target of targets) {
  results[target] = await measure(target);
  console.log(`${target}: throughput ${Math.round(results[target].throughput)} msg/s, drain ${Math.round(results[target].drain)} msg/s`);
}
const base = results.mosquitto;
if (base) {
  console.log("\nratios to Mosquitto's bridge:");
  for (const target of targets) {
    const r = results[target];
    console.log(`  ${target}: throughput ${(r.throughput / base.throughput).toFixed(2)}x, drain of ${backlog}: ${(r.drain / base.drain).toFixed(2)}x`);
  }
}
mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
const file = join(ROOT, "bench", "results", `bridge-${new Date().toISOString().slice(0, 19).replace(/:/g, "-")}.json`);
writeFileSync(file, JSON.stringify({ duration, backlog, drainPublisherWindow: WINDOW, load: LOAD, results }, null, 2) + "\n");
console.log(`\nwritten ${file}`);
process.exit(0);
