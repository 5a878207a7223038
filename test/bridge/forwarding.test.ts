/**
 * Bridges against a real upstream (Mosquitto): out rules forward local messages with their topic
 * mapped, in rules bring upstream commands down, overlapping rules do not loop, and the status
 * is in $SYS/broker/bridges/<name>/... . Both runtimes, both upstream protocol versions.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { MqttClient } from "mqtt";
import { RUNTIMES, type RunningBroker, startBroker } from "../helpers/broker.ts";
import { closeAll, collectMessages, connectClient, expectNoMessage, nextMessage, publish, subscribe } from "../helpers/clients.ts";
import { bridgeConfigFile, type Mosquitto, startMosquitto, target } from "../helpers/mosquitto.ts";
import { connectRaw } from "../helpers/raw.ts";

for (const runtime of RUNTIMES) {
  for (const version of [5, 4] as const) {
    describe(`bridge to Mosquitto (${runtime}, upstream MQTT ${version === 5 ? "5.0" : "3.1.1"})`, () => {
      let upstream: Mosquitto;
      let gannet: RunningBroker;
      let local: MqttClient;
      let remote: MqttClient;

      beforeAll(async () => {
        upstream = await startMosquitto();
        const config = bridgeConfigFile(`  - name: cloud
    url: ${upstream.url}
    protocolVersion: ${version}
    clientId: gw17
    keepalive: 5
    out:
      - { local: "plant/#", remote: "site17/plant/#", qos: 1 }
      - { local: "shared/#", qos: 1 }
    in:
      - { remote: "site17/cmd/#", local: "cmd/#", qos: 1 }
      - { remote: "shared/#", qos: 1 }
`, "sys:\n  interval: 1\n");
        gannet = await startBroker({ runtime, args: ["--config", config] });
        await gannet.waitForLog(/bridge connected/, 10_000);
        local = await connectClient(gannet, { protocolVersion: 5 });
        remote = await connectClient(target(upstream) as RunningBroker, { protocolVersion: 5 });
      }, 30_000);

      afterAll(async () => {
        await closeAll(local, remote);
        await gannet?.stop();
        await upstream?.dispose();
      }, 15_000);

      test("out: a local QoS 1 message arrives upstream under the mapped topic", async () => {
        await subscribe(remote, "site17/#", { qos: 1 });
        const next = nextMessage(remote, 5_000);
        await publish(local, "plant/line1/temp", "21.5", { qos: 1 });
        const m = await next;
        expect(m.topic).toBe("site17/plant/line1/temp");
        expect(m.payload.toString()).toBe("21.5");
        expect(m.packet.qos).toBe(1);
        await remote.unsubscribeAsync("site17/#");
      });

      test("in: an upstream command arrives locally under the mapped topic", async () => {
        await subscribe(local, "cmd/#", { qos: 1 });
        const next = nextMessage(local, 5_000);
        await publish(remote, "site17/cmd/valve7", "open", { qos: 1 });
        const m = await next;
        expect(m.topic).toBe("cmd/valve7");
        expect(m.payload.toString()).toBe("open");
        expect(m.packet.qos).toBe(1);
        await local.unsubscribeAsync("cmd/#");
      });

      test("overlapping in and out rules: a message crosses once each way, never loops", async () => {
        await subscribe(local, "shared/#", { qos: 1 });
        await subscribe(remote, "shared/#", { qos: 1 });
        const atLocal = collectMessages(local);
        const atRemote = collectMessages(remote);
        await publish(local, "shared/a", "from-local", { qos: 1 });
        await publish(remote, "shared/b", "from-remote", { qos: 1 });
        await atLocal.waitFor(2, 5_000);
        await atRemote.waitFor(2, 5_000);
        await Promise.all([expectNoMessage(local, 1_500), expectNoMessage(remote, 1_500)]);
        const seen = (c: typeof atLocal) => c.messages.map((m) => `${m.topic}=${m.payload}`).sort();
        expect(seen(atLocal)).toEqual(["shared/a=from-local", "shared/b=from-remote"]);
        expect(seen(atRemote)).toEqual(["shared/a=from-local", "shared/b=from-remote"]);
        atLocal.stop();
        atRemote.stop();
      });

      test("status in $SYS/broker/bridges/cloud/...", async () => {
        const watcher = await connectClient(gannet, { protocolVersion: 5 });
        await subscribe(watcher, "$SYS/broker/bridges/cloud/state", { qos: 0 });
        const m = await nextMessage(watcher, 3_000);
        expect(m.payload.toString()).toBe("connected");
        await closeAll(watcher);
      });

      test("a network client cannot take the bridge's own session: CONNECT as bridge:cloud is refused, forwarding goes on", async () => {
        const { raw, connack } = await connectRaw(gannet, { clientId: "bridge:cloud", protocolVersion: 5, clean: false }, { protocolVersion: 5 });
        raw.close();
        expect(connack.reasonCode).toBe(0x85); // Client Identifier not valid
        await subscribe(remote, "site17/#", { qos: 1 });
        const next = nextMessage(remote, 5_000);
        await publish(local, "plant/after-refusal", "still here", { qos: 1 });
        expect((await next).topic).toBe("site17/plant/after-refusal");
        await remote.unsubscribeAsync("site17/#");
        expect(gannet.logs()).not.toContain("session taken over");
      });
    });
  }
}
