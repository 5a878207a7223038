/**
 * Queue bounds end to end: a bridge whose upstream is down keeps what its `queue` section says
 * (count bound with dropOldest; age bound), reports the drops in $SYS, and sends the rest in order
 * when the upstream returns. Both runtimes, SQLite store.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { MqttClient } from "mqtt";
import { RUNTIMES, type RunningBroker, sleep, startBroker } from "../helpers/broker.ts";
import { closeAll, collectMessages, connectClient, publish } from "../helpers/clients.ts";
import { bridgeConfigFile, type Mosquitto, startMosquitto, target } from "../helpers/mosquitto.ts";

for (const runtime of RUNTIMES) {
  describe(`bridge queue bounds end to end (${runtime})`, () => {
    let upstream: Mosquitto;
    let gannet: RunningBroker;
    let local: MqttClient;

    const connectRemote = (beforeConnect?: (c: MqttClient) => void) =>
      connectClient(target(upstream) as RunningBroker, {
        protocolVersion: 5,
        clientId: "queue-watcher",
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
        beforeConnect,
      });

    beforeAll(async () => {
      upstream = await startMosquitto();
      const config = bridgeConfigFile(`  - name: counted
    url: ${upstream.url}
    reconnect: { min: 100ms, max: 300ms }
    queue: { maxMessages: 5, whenFull: dropOldest }
    out:
      - { local: "counted/#", qos: 1 }
  - name: aged
    url: ${upstream.url}
    reconnect: { min: 100ms, max: 300ms }
    queue: { maxAge: 2s }
    out:
      - { local: "aged/#", qos: 1 }
`, "sys:\n  interval: 1\n");
      gannet = await startBroker({ runtime, args: ["--config", config] });
      await gannet.waitForLog(/"bridge connected","bridge":"aged"/, 10_000);
      local = await connectClient(gannet, { protocolVersion: 5 });
      // A persistent subscriber on the upstream: what the bridges send before it is back waits for it.
      const remote = await connectRemote();
      await remote.subscribeAsync("#", { qos: 1 });
      await remote.endAsync();
    }, 30_000);

    afterAll(async () => {
      await closeAll(local);
      await gannet?.stop();
      await upstream?.dispose();
    }, 15_000);

    test("count bound with dropOldest and age bound: what is kept goes out in order, drops are counted", async () => {
      await upstream.stop();
      await gannet.waitForLog(/"bridge connection lost","bridge":"counted"/, 5_000);
      await gannet.waitForLog(/"bridge connection lost","bridge":"aged"/, 5_000);
      for (let n = 1; n <= 8; n++) await publish(local, "counted/x", String(n), { qos: 1 });
      await publish(local, "aged/x", "old", { qos: 1 });
      await sleep(2_500); // "old" passes maxAge while the upstream is away
      await publish(local, "aged/x", "fresh", { qos: 1 });
      await gannet.waitForLog(/"session queue: dropping messages".*"why":"queueFull".*"policy":"dropOldest"/, 5_000);

      const watcher = await connectClient(gannet, { protocolVersion: 5 });
      const sys = new Map<string, string>();
      watcher.on("message", (topic, payload) => sys.set(topic, payload.toString()));
      await watcher.subscribeAsync("$SYS/broker/bridges/+/dropped", { qos: 0 });

      await upstream.start();
      let got: ReturnType<typeof collectMessages> | undefined;
      const remote = await connectRemote((c) => (got = collectMessages(c)));
      await got!.waitFor(6, 10_000);
      const seen = (prefix: string) => got!.messages.filter((m) => m.topic.startsWith(prefix)).map((m) => m.payload.toString());
      expect(seen("counted")).toEqual(["4", "5", "6", "7", "8"]);
      expect(seen("aged")).toEqual(["fresh"]);
      for (let i = 0; i < 40 && (sys.get("$SYS/broker/bridges/counted/dropped") !== "3" || sys.get("$SYS/broker/bridges/aged/dropped") !== "1"); i++) await sleep(100);
      expect(sys.get("$SYS/broker/bridges/counted/dropped")).toBe("3");
      expect(sys.get("$SYS/broker/bridges/aged/dropped")).toBe("1");
      await closeAll(watcher, remote);
    }, 40_000);
  });
}
