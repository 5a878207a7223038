/**
 * Connection limits (global mqtt.maxConnections, per-listener maxConnections) and per-listener
 * MQTT overrides: what an operator sets in the listeners section holds on the wire.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { connect as netConnect, type Socket } from "node:net";
import { type RunningBroker, RUNTIMES, sleep, startBroker } from "../helpers/broker.ts";
import { assertRoundTrip, closeAll, connectClient, publish, subscribe, nextMessage, uniqueId } from "../helpers/clients.ts";

/** Connect and report what happened: "connected" (CONNACK 0) or "refused" (closed or errored first). */
function tryConnect(port: number, protocolVersion: 4 | 5 = 4): Promise<{ outcome: "connected" | "refused"; client: mqtt.MqttClient; connack?: mqtt.IConnackPacket }> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion, reconnectPeriod: 0, connectTimeout: 3000 });
  return new Promise((resolve) => {
    client.once("connect", (connack) => resolve({ outcome: "connected", client, connack }));
    client.once("close", () => resolve({ outcome: "refused", client }));
    client.once("error", () => resolve({ outcome: "refused", client }));
  });
}

for (const runtime of RUNTIMES) {
  describe(`connection limits [${runtime}]`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({
        runtime,
        // allowAnonymous explicitly: setting listeners[0].mqtt as a whole counts as setting its allowAnonymous too.
        set: { "mqtt.maxConnections": 3, "mqtt.allowAnonymous": true, "listeners[0].maxConnections": 2, "listeners[0].mqtt": '{"maxPacketSize":300}' },
      });
    });
    afterAll(async () => {
      await b?.stop();
    });

    test("a listener's maxConnections: one client more is closed before CONNACK and logged; a freed place can be taken again", async () => {
      const first = await tryConnect(b.port);
      const second = await tryConnect(b.port);
      const third = await tryConnect(b.port);
      try {
        expect([first.outcome, second.outcome, third.outcome]).toEqual(["connected", "connected", "refused"]);
        await b.waitForLog(/"msg":"connection refused: too many connections".*"scope":"listener tcp/);
        first.client.end(true);
        await new Promise((r) => setTimeout(r, 300));
        const fourth = await tryConnect(b.port);
        expect(fourth.outcome).toBe("connected");
        fourth.client.end(true);
      } finally {
        for (const c of [first, second, third]) c.client.end(true);
      }
    });

    test("mqtt.maxConnections counts every listener: the WebSocket listener refuses once the broker is full", async () => {
      const tcp = [await tryConnect(b.port), await tryConnect(b.port)];
      const ws1 = mqtt.connect(`ws://127.0.0.1:${b.wsPort}/mqtt`, { reconnectPeriod: 0 });
      await new Promise((resolve, reject) => {
        ws1.once("connect", resolve);
        ws1.once("error", reject);
      });
      const ws2 = mqtt.connect(`ws://127.0.0.1:${b.wsPort}/mqtt`, { reconnectPeriod: 0, connectTimeout: 3000 });
      const outcome = await new Promise((resolve) => {
        ws2.once("connect", () => resolve("connected"));
        ws2.once("close", () => resolve("refused"));
        ws2.once("error", () => resolve("refused"));
      });
      try {
        expect(tcp.map((t) => t.outcome)).toEqual(["connected", "connected"]);
        expect(outcome).toBe("refused");
        await b.waitForLog(/"msg":"connection refused: too many connections".*"scope":"broker"/);
      } finally {
        for (const t of tcp) t.client.end(true);
        ws1.end(true);
        ws2.end(true);
      }
    });

    test("a listener's mqtt overrides apply to its connections: CONNACK Maximum Packet Size 300 on TCP, the global default on WebSocket", async () => {
      await new Promise((r) => setTimeout(r, 300));
      const tcp = await tryConnect(b.port, 5);
      const ws = mqtt.connect(`ws://127.0.0.1:${b.wsPort}/mqtt`, { protocolVersion: 5, reconnectPeriod: 0 });
      const wsConnack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
        ws.once("connect", resolve);
        ws.once("error", reject);
      });
      try {
        expect(tcp.outcome).toBe("connected");
        expect(tcp.connack?.properties?.maximumPacketSize).toBe(300);
        expect(wsConnack.properties?.maximumPacketSize).toBe(1_048_576);
      } finally {
        tcp.client.end(true);
        ws.end(true);
      }
    });
  });

  describe(`connection limits: the open files limit [${runtime}]`, () => {
    const OPEN_FILES = 256;
    const CEILING = OPEN_FILES - 64; // src/app/open-files.ts RESERVED_FILES
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startBroker({ runtime, openFiles: OPEN_FILES });
    });
    afterAll(async () => {
      await b?.stop();
    });

    test(`mqtt.maxConnections 0 means the open files limit (${OPEN_FILES}) minus a reserve: a flood of ${2 * OPEN_FILES} sockets is refused by the broker, logged, and a connected client carries on`, async () => {
      await b.waitForLog(new RegExp(`"msg":"connections limited by the open files limit","openFiles":${OPEN_FILES},"maxConnections":${CEILING}`));
      const topic = uniqueId("nofile");
      const survivor = await connectClient(b, { clientId: uniqueId("survivor") });
      const flood: Socket[] = [];
      let closedByBroker = 0;
      try {
        await subscribe(survivor, topic, { qos: 1 });
        for (let i = 0; i < 2 * OPEN_FILES; i++) {
          const socket = netConnect({ host: b.host, port: b.port, localAddress: "127.0.0.2" });
          socket.on("error", () => {});
          socket.once("close", () => closedByBroker++);
          flood.push(socket);
        }
        // Without the bound, accept() fails once descriptors run out: Bun then leaves the extra
        // sockets hanging, unanswered. With it, the broker closes each one beyond the limit.
        const deadline = Date.now() + 10_000;
        while (closedByBroker < 2 * OPEN_FILES - CEILING && Date.now() < deadline) await sleep(100);
        expect(closedByBroker).toBeGreaterThanOrEqual(2 * OPEN_FILES - CEILING);
        await b.waitForLog(/"msg":"connection refused: too many connections".*"limit":192,"scope":"broker"/);
        const got = nextMessage(survivor, 5_000);
        await publish(survivor, topic, "still here", { qos: 1 }, 5_000);
        expect((await got).payload.toString()).toBe("still here");
      } finally {
        for (const socket of flood) socket.destroy();
        await closeAll(survivor);
      }
      await sleep(500);
      await assertRoundTrip(b);
    }, 60_000);
  });
}
