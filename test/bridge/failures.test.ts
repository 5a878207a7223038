/**
 * A bridge says truthfully what is wrong: a frozen upstream (SIGSTOP) is reported stalled within
 * the keepalive bound and recovers on SIGCONT; an unreachable host, a refused login and a
 * certificate signed by a CA we do not trust each give a clear log line and status, and retries.
 * A good TLS upstream connects. Status is read from $SYS/broker/bridges/<name>/... .
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { freePort, RUNTIMES, type RunningBroker, sleep, startBroker } from "../helpers/broker.ts";
import { closeAll, connectClient } from "../helpers/clients.ts";
import { makeTestCertificates } from "../helpers/certificates.ts";
import { bridgeConfigFile, type Mosquitto, startMosquitto } from "../helpers/mosquitto.ts";

const KEEPALIVE = 2;

/** Latest value of every $SYS/broker/bridges/... topic. */
async function watchStatus(gannet: RunningBroker): Promise<{ client: MqttClient; value(name: string, key: string): string | undefined }> {
  const client = await connectClient(gannet, { protocolVersion: 5 });
  const values = new Map<string, string>();
  client.on("message", (topic, payload) => values.set(topic, payload.toString()));
  await client.subscribeAsync("$SYS/broker/bridges/#", { qos: 0 });
  return { client, value: (name, key) => values.get(`$SYS/broker/bridges/${name}/${key}`) };
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
  return Date.now() - started;
}

for (const runtime of RUNTIMES) {
  describe(`bridge failures (${runtime})`, () => {
    let secured: Mosquitto;
    let frozen: Mosquitto;
    let gannet: RunningBroker;
    let status: Awaited<ReturnType<typeof watchStatus>>;

    beforeAll(async () => {
      const certs = makeTestCertificates();
      // Mosquitto drops to its own user: it must be able to read the server key.
      chmodSync(certs.dir, 0o755);
      for (const f of readdirSync(certs.dir)) chmodSync(join(certs.dir, f), 0o644);
      const [tlsPort, wsPort, wssPort] = [await freePort(), await freePort(), await freePort()];
      secured = await startMosquitto({
        users: { gw: "right" },
        extra: [
          `listener ${tlsPort} 127.0.0.1`,
          `certfile ${certs.server.cert}`,
          `keyfile ${certs.server.key}`,
          `listener ${wsPort} 127.0.0.1`,
          `protocol websockets`,
          `listener ${wssPort} 127.0.0.1`,
          `protocol websockets`,
          `certfile ${certs.server.cert}`,
          `keyfile ${certs.server.key}`,
        ],
      });
      frozen = await startMosquitto();
      const nobody = await freePort();
      const rule = `    out:\n      - { local: "x/#" }\n    reconnect: { min: 200ms, max: 1s }\n`;
      const config = bridgeConfigFile(
        `  - name: frozen
    url: ${frozen.url}
    keepalive: ${KEEPALIVE}
${rule}  - name: unreachable
    url: mqtt://127.0.0.1:${nobody}
${rule}  - name: badlogin
    url: ${secured.url}
    username: gw
    password: wrong
${rule}  - name: badcert
    url: mqtts://127.0.0.1:${tlsPort}
    username: gw
    password: right
    tls: { ca: ${certs.otherCa.cert} }
${rule}  - name: goodtls
    url: mqtts://127.0.0.1:${tlsPort}
    username: gw
    password: right
    tls: { ca: ${certs.ca.cert} }
${rule}  - name: goodws
    url: ws://127.0.0.1:${wsPort}/mqtt
    username: gw
    password: right
${rule}  - name: goodwss
    url: wss://127.0.0.1:${wssPort}/mqtt
    username: gw
    password: right
    tls: { ca: ${certs.ca.cert} }
${rule}`,
        "sys:\n  interval: 1\n",
      );
      gannet = await startBroker({ runtime, args: ["--config", config] });
      status = await watchStatus(gannet);
    }, 30_000);

    afterAll(async () => {
      frozen?.thaw();
      await closeAll(status?.client);
      await gannet?.stop();
      await secured?.dispose();
      await frozen?.dispose();
    }, 15_000);

    test("TLS, WebSocket and secure WebSocket upstreams connect (certificates from the configured CA)", async () => {
      await until("goodtls connected", () => status.value("goodtls", "state") === "connected", 10_000);
      await until("goodws connected", () => status.value("goodws", "state") === "connected", 10_000);
      await until("goodwss connected", () => status.value("goodwss", "state") === "connected", 10_000);
    });

    test("unreachable host: backing off, a log line naming the bridge and the error, retries", async () => {
      await until("unreachable backingOff", () => status.value("unreachable", "state") === "backingOff", 10_000);
      expect(status.value("unreachable", "lastError")).toMatch(/cannot connect/);
      const lines = await gannet.waitForLog(/"bridge":"unreachable".*cannot connect.*"attempt":3/, 10_000);
      expect(lines).toContain("will retry");
    });

    test("refused login: the upstream's reason in the log and the status, retries", async () => {
      // Mosquitto answers a wrong password with 0x87 Not authorized (v5).
      const refused = /refused by the upstream: (not authorized|bad user name or password)/;
      await until("badlogin error", () => refused.test(status.value("badlogin", "lastError") ?? ""), 10_000);
      expect(status.value("badlogin", "state")).toBe("backingOff");
      await gannet.waitForLog(/"bridge":"badlogin".*refused by the upstream.*"attempt":2/, 10_000);
    });

    test("certificate from an untrusted CA: said so in the log and the status, retries", async () => {
      await until("badcert error", () => /certificate/i.test(status.value("badcert", "lastError") ?? ""), 10_000);
      expect(status.value("badcert", "state")).toBe("backingOff");
      await gannet.waitForLog(/"bridge":"badcert".*certificate.*"attempt":2/, 10_000);
    });

    test("a frozen upstream (SIGSTOP) is reported stalled within 1.5x keepalive, and recovers on SIGCONT", async () => {
      await until("frozen connected", () => status.value("frozen", "state") === "connected", 10_000);
      frozen.freeze();
      // The link pings after half the keepalive of silence and gives up a keepalive later;
      // $SYS follows within a second.
      const took = await until("frozen stalled", () => status.value("frozen", "state") === "stalled", 20_000);
      expect(took).toBeLessThan(KEEPALIVE * 1500 + 1500);
      expect(status.value("frozen", "lastError")).toMatch(/^stalled/);
      await gannet.waitForLog(/"msg":"bridge stalled","bridge":"frozen"/, 1_000);
      frozen.thaw();
      await until("frozen connected again", () => status.value("frozen", "state") === "connected", 15_000);
    }, 40_000);
  });
}
