/**
 * Store-and-forward across outages and power cuts: a publisher sends numbered messages to Gannet
 * while the upstream (Mosquitto) is stopped and started and Gannet is SIGKILLed and restarted
 * (same database, same port). A persistent subscriber on the upstream must receive every message
 * Gannet acknowledged, first occurrences in order; QoS 1 may repeat (counted), QoS 2 may not.
 * Each run prints its figures: acked, delivered, lost, duplicated.
 */
import { afterAll, describe, expect, test } from "bun:test";
import mqtt, { type MqttClient } from "mqtt";
import { freePort, RUNTIMES, type RunningBroker, sleep, startBroker, tempDatabase } from "../helpers/broker.ts";
import { bridgeConfigFile, type Mosquitto, startMosquitto } from "../helpers/mosquitto.ts";

const WINDOW = 20; // publishes in flight from the local publisher

interface Figures {
  acked: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
}

/** Numbered publisher: keeps WINDOW publishes in flight, records which numbers were acknowledged. */
function startPublisher(port: number, qos: 1 | 2) {
  const client: MqttClient = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    clientId: `numbered-${qos}`,
    clean: false,
    reconnectPeriod: 100,
    connectTimeout: 2000,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 3600 },
  });
  client.on("error", () => {}); // refused while Gannet restarts: mqtt.js retries
  const acked = new Set<number>();
  let next = 1;
  let inflight = 0;
  let running = true;
  const pump = () => {
    while (running && inflight < WINDOW) {
      const n = next++;
      inflight++;
      client.publish("data/seq", String(n), { qos }, (err) => {
        inflight--;
        if (!err) acked.add(n);
        pump();
      });
    }
  };
  pump();
  return {
    acked,
    /** Stop sending new numbers and wait (bounded) for the ones in flight. */
    async finish(): Promise<void> {
      running = false;
      for (let i = 0; i < 200 && inflight > 0; i++) await sleep(50);
      client.end(true);
    },
  };
}

/** A persistent subscriber on the upstream that records every payload. */
async function startSubscriber(upstream: Mosquitto, qos: 1 | 2): Promise<{ received: number[]; client: MqttClient }> {
  const received: number[] = [];
  const client = mqtt.connect(upstream.url, {
    clientId: `collector-${qos}`,
    clean: false,
    reconnectPeriod: 100,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 3600 },
  });
  client.on("error", () => {});
  client.on("message", (_topic, payload) => received.push(Number(payload.toString())));
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  await client.subscribeAsync("site17/data/#", { qos });
  return { received, client };
}

function figures(acked: Set<number>, received: number[]): Figures {
  const seen = new Set<number>();
  let duplicated = 0;
  let outOfOrder = 0;
  let highest = 0;
  for (const n of received) {
    if (seen.has(n)) {
      duplicated++;
      continue;
    }
    seen.add(n);
    if (n < highest) outOfOrder++;
    highest = Math.max(highest, n);
  }
  let lost = 0;
  for (const n of acked) if (!seen.has(n)) lost++;
  return { acked: acked.size, delivered: seen.size, lost, duplicated, outOfOrder };
}

for (const runtime of RUNTIMES) {
  for (const qos of [1, 2] as const) {
    describe(`bridge durability (${runtime}, QoS ${qos})`, () => {
      let upstream: Mosquitto | undefined;
      let gannet: RunningBroker | undefined;
      afterAll(async () => {
        await gannet?.kill("SIGKILL");
        await upstream?.dispose();
      });

      test(
        `every acknowledged message arrives upstream in order across upstream restarts and SIGKILL${qos === 2 ? ", without duplicates" : ""}`,
        async () => {
          upstream = await startMosquitto();
          const sub = await startSubscriber(upstream, qos);
          const port = await freePort();
          const database = tempDatabase("bridge");
          const config = bridgeConfigFile(`  - name: cloud
    url: ${upstream.url}
    clientId: gw-durable-${qos}
    keepalive: 5
    reconnect: { min: 100ms, max: 1s }
    out:
      - { local: "data/#", remote: "site17/data/#", qos: ${qos} }
`);
          const start = () => startBroker({ runtime, database, args: ["--config", config, "--port", String(port)] });
          gannet = await start();
          const publisher = startPublisher(port, qos);
          const phase = (ms: number) => sleep(ms);

          await phase(1500); // live forwarding
          await upstream.stop(); // uplink down: messages queue in the bridge's session
          await phase(1500);
          await gannet.kill("SIGKILL"); // power cut with a backlog
          gannet = await start();
          await phase(1000);
          await upstream.start(); // backlog drains
          await phase(1500);
          await gannet.kill("SIGKILL"); // power cut while draining / live
          gannet = await start();
          await phase(1000);
          await upstream.stop();
          await phase(1000);
          await upstream.start();
          await phase(1500);
          await publisher.finish();

          // Wait until everything acknowledged has arrived (or 30 s).
          for (let i = 0; i < 300; i++) {
            if (figures(publisher.acked, sub.received).lost === 0) break;
            await sleep(100);
          }
          sub.client.end(true);
          const f = figures(publisher.acked, sub.received);
          console.log(
            `kill test (${runtime}, QoS ${qos}): acked ${f.acked}, delivered ${f.delivered}, lost ${f.lost}, ` +
              `duplicated ${f.duplicated}, out of order ${f.outOfOrder}`,
          );
          expect(f.acked).toBeGreaterThan(100);
          expect(f.lost).toBe(0);
          expect(f.outOfOrder).toBe(0);
          if (qos === 2) expect(f.duplicated).toBe(0);
        },
        90_000,
      );
    });
  }
}
