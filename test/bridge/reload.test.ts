/**
 * SIGHUP adds, changes and removes bridges while local clients stay connected; a changed bridge
 * keeps its queue (messages queued while the upstream was down go out under the new mapping).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import type { MqttClient } from "mqtt";
import { RUNTIMES, type RunningBroker, sleep, startBroker } from "../helpers/broker.ts";
import { closeAll, collectMessages, connectClient, publish, subscribe } from "../helpers/clients.ts";
import { bridgeConfigFile, type Mosquitto, startMosquitto, target } from "../helpers/mosquitto.ts";

const bridge = (name: string, url: string, prefix: string) => `  - name: ${name}
    url: ${url}
    clientId: gw-${name}
    reconnect: { min: 100ms, max: 500ms }
    out:
      - { local: "${name}/#", remote: "${prefix}/${name}/#", qos: 1 }
`;

for (const runtime of RUNTIMES) {
  describe(`bridge reload (${runtime})`, () => {
    let upstream: Mosquitto;
    let gannet: RunningBroker;
    let local: MqttClient;
    let remote: MqttClient;
    let config: string;
    let closed = false;

    const reload = async (bridgesYaml: string, expected: RegExp) => {
      writeFileSync(config, `mqtt:\n  allowAnonymous: true\nbridges:\n${bridgesYaml}`);
      gannet.sendSignal("SIGHUP");
      await gannet.waitForLog(expected, 5_000);
    };

    const connectRemote = (beforeConnect?: (c: MqttClient) => void) =>
      connectClient(target(upstream) as RunningBroker, {
        protocolVersion: 5,
        clientId: "watcher",
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
        beforeConnect,
      });

    beforeAll(async () => {
      upstream = await startMosquitto();
      config = bridgeConfigFile(bridge("a", upstream.url, "v1"));
      gannet = await startBroker({ runtime, args: ["--config", config] });
      await gannet.waitForLog(/"bridge connected","bridge":"a"/, 10_000);
      local = await connectClient(gannet, { protocolVersion: 5 });
      local.on("close", () => (closed = true));
      remote = await connectRemote();
      await subscribe(remote, "#", { qos: 1 });
    }, 30_000);

    afterAll(async () => {
      await closeAll(local, remote);
      await gannet?.stop();
      await upstream?.dispose();
    }, 15_000);

    test("add: a new bridge starts forwarding", async () => {
      await reload(bridge("a", upstream.url, "v1") + bridge("b", upstream.url, "v1"), /"bridges reloaded","added":\["b"\],"changed":\[\],"removed":\[\]/);
      await gannet.waitForLog(/"bridge connected","bridge":"b"/, 5_000);
      const got = collectMessages(remote);
      await publish(local, "b/x", "1", { qos: 1 });
      await got.waitFor(1, 5_000);
      expect(got.messages[0].topic).toBe("v1/b/x");
      got.stop();
    }, 20_000);

    test("change: the bridge restarts with the new mapping and keeps what it had queued", async () => {
      await upstream.stop();
      await remote.endAsync(true);
      for (const n of [1, 2, 3]) await publish(local, "a/q", String(n), { qos: 1 });
      await reload(bridge("a", upstream.url, "v2") + bridge("b", upstream.url, "v1"), /"bridges reloaded","added":\[\],"changed":\["a"\],"removed":\[\]/);
      let got: ReturnType<typeof collectMessages> | undefined;
      await upstream.start();
      // Its session (kept by the upstream across the restart) holds what arrived before it is back.
      remote = await connectRemote((c) => (got = collectMessages(c)));
      await got!.waitFor(3, 15_000).catch((e: Error) => {
        // Rare on the shared machine: say what the bridge and the upstream were doing.
        const bridgeLines = gannet.logs().split("\n").filter((l) => /bridge/.test(l) && !/"debug"/.test(l)).slice(-15);
        const upstreamLines = upstream.logs().split("\n").filter((l) => /gw-a|watcher/.test(l)).slice(-15);
        throw new Error(`${e.message}\n${bridgeLines.join("\n")}\n${upstreamLines.join("\n")}`);
      });
      expect(got!.messages.map((m) => `${m.topic}=${m.payload}`)).toEqual(["v2/a/q=1", "v2/a/q=2", "v2/a/q=3"]);
      got!.stop();
    }, 40_000);

    test("remove: the bridge disconnects from the upstream and stops forwarding", async () => {
      // b reconnected after the upstream's restart (else there is no session to DISCONNECT yet).
      const connectedB = () => gannet.logs().split('"bridge connected","bridge":"b"').length - 1;
      for (let i = 0; i < 100 && connectedB() < 2; i++) await sleep(100);
      expect(connectedB()).toBe(2);
      await reload(bridge("a", upstream.url, "v2"), /"bridges reloaded","added":\[\],"changed":\[\],"removed":\["b"\]/);
      await gannet.waitForLog(/"msg":"bridge removed","bridge":"b"/, 5_000);
      for (let i = 0; i < 50 && !/Client gw-b disconnected/.test(upstream.logs()); i++) await sleep(100);
      expect(upstream.logs()).toMatch(/Client gw-b disconnected/); // a DISCONNECT, not a dropped socket
      const got = collectMessages(remote);
      await publish(local, "b/x", "after-removal", { qos: 1 });
      await publish(local, "a/x", "still-bridged", { qos: 1 });
      await got.waitFor(1, 5_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(got.messages.map((m) => `${m.topic}=${m.payload}`)).toEqual(["v2/a/x=still-bridged"]);
      got.stop();
    }, 20_000);

    test("the local client stayed connected through every reload", () => {
      expect(closed).toBe(false);
      expect(local.connected).toBe(true);
    });
  });
}
