/**
 * MQTT 3.1.1 (OASIS 2014) §6 Using WebSocket as a network transport: the same pub/sub behaviour over
 * ws://127.0.0.1:<wsPort>/mqtt, interworking with TCP clients, the "mqtt" subprotocol, binary frames
 * and packets split over or packed into frames.
 */
import { describe, expect, test } from "bun:test";
import WebSocket from "ws";
import { RUNTIMES, type RunningBroker } from "../../helpers/broker.ts";
import {
  closeAll,
  collectMessages,
  connectClient,
  nextMessage,
  publish,
  subscribe,
  uniqueId,
} from "../../helpers/clients.ts";
import { encode } from "../../helpers/raw.ts";
import { useBroker } from "../../helpers/suite.ts";
import mqttPacket from "mqtt-packet";

interface WsRaw {
  ws: WebSocket;
  packets: Array<{ cmd: string; [k: string]: unknown }>;
  binaryFrames: boolean[];
  next(cmd: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  closed: Promise<void>;
}

function openWs(b: RunningBroker): Promise<WsRaw> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${b.host}:${b.wsPort}/mqtt`, ["mqtt"]);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const packets: WsRaw["packets"] = [];
    const binaryFrames: boolean[] = [];
    parser.on("packet", (p: { cmd: string }) => packets.push(p));
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      binaryFrames.push(isBinary);
      parser.parse(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer));
    });
    const closed = new Promise<void>((r) => ws.once("close", () => r()));
    const timer = setTimeout(() => reject(new Error("WebSocket open timed out")), 3_000);
    ws.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    ws.once("open", () => {
      clearTimeout(timer);
      resolve({
        ws,
        packets,
        binaryFrames,
        closed,
        async next(cmd, timeoutMs = 2_000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const i = packets.findIndex((p) => p.cmd === cmd);
            if (i >= 0) return packets.splice(i, 1)[0];
            if (Date.now() > deadline) throw new Error(`no ${cmd} over WebSocket within ${timeoutMs} ms`);
            await new Promise((r) => setTimeout(r, 20));
          }
        },
      });
    });
  });
}

const connectBytes = (clientId: string) =>
  encode({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, keepalive: 60, clientId });

for (const runtime of RUNTIMES) {
  describe(`MQTT 3.1.1 §6 WebSocket transport [${runtime}]`, () => {
    const b = useBroker(runtime);

    for (const qos of [0, 1, 2] as const) {
      test(`publish and subscribe over WebSocket at QoS ${qos}`, async () => {
        const topic = uniqueId("ws/basic");
        const sub = await connectClient(b(), { clientId: uniqueId("wsub"), transport: "ws" });
        const pub = await connectClient(b(), { clientId: uniqueId("wpub"), transport: "ws" });
        try {
          await subscribe(sub, topic, { qos });
          const got = nextMessage(sub);
          await publish(pub, topic, `over ws ${qos}`, { qos });
          const m = await got;
          expect(m.topic).toBe(topic);
          expect(m.payload.toString()).toBe(`over ws ${qos}`);
          expect(m.packet.qos).toBe(qos);
        } finally {
          await closeAll(sub, pub);
        }
      });
    }

    test("WebSocket and TCP clients exchange messages in both directions", async () => {
      const topic = uniqueId("ws/mixed");
      const wsClient = await connectClient(b(), { clientId: uniqueId("w"), transport: "ws" });
      const tcpClient = await connectClient(b(), { clientId: uniqueId("t"), transport: "tcp" });
      try {
        await subscribe(wsClient, `${topic}/to-ws`, { qos: 1 });
        await subscribe(tcpClient, `${topic}/to-tcp`, { qos: 1 });
        const toWs = nextMessage(wsClient);
        const toTcp = nextMessage(tcpClient);
        await publish(tcpClient, `${topic}/to-ws`, "from tcp", { qos: 1 });
        await publish(wsClient, `${topic}/to-tcp`, "from ws", { qos: 1 });
        expect((await toWs).payload.toString()).toBe("from tcp");
        expect((await toTcp).payload.toString()).toBe("from ws");
      } finally {
        await closeAll(wsClient, tcpClient);
      }
    });

    test("a retained message and a 300 KiB payload cross the WebSocket transport intact", async () => {
      const topic = uniqueId("ws/retain");
      const big = Buffer.alloc(300 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 13) & 0xff;
      const pub = await connectClient(b(), { clientId: uniqueId("p"), transport: "ws" });
      await publish(pub, topic, big, { qos: 1, retain: true }, 5_000);
      await closeAll(pub);
      const sub = await connectClient(b(), { clientId: uniqueId("s"), transport: "ws" });
      try {
        const got = nextMessage(sub, 5_000);
        await subscribe(sub, topic, { qos: 1 });
        const m = await got;
        expect(m.packet.retain).toBe(true);
        expect(Buffer.compare(m.payload, big)).toBe(0);
      } finally {
        await publish(sub, topic, "", { qos: 1, retain: true }).catch(() => {});
        await closeAll(sub);
      }
    });

    test("[3.1.1 MQTT-6.0.0-4] the server selects the \"mqtt\" WebSocket subprotocol; [3.1.1 MQTT-6.0.0-1] it sends binary frames", async () => {
      const w = await openWs(b());
      try {
        expect(w.ws.protocol).toBe("mqtt");
        w.ws.send(connectBytes(uniqueId("frames")));
        const ack = await w.next("connack");
        expect(ack.returnCode).toBe(0);
        expect(w.binaryFrames.length).toBeGreaterThan(0);
        expect(w.binaryFrames.every(Boolean)).toBe(true);
      } finally {
        w.ws.terminate();
      }
    });

    test("[3.1.1 MQTT-6.0.0-2] a packet split over several WebSocket frames, and several packets in one frame, are both read", async () => {
      const topic = uniqueId("ws/split");
      const w = await openWs(b());
      try {
        const connect = connectBytes(uniqueId("split"));
        for (let i = 0; i < connect.length; i += 3) w.ws.send(connect.subarray(i, i + 3)); // 3-byte frames
        expect((await w.next("connack")).returnCode).toBe(0);
        const subscribeAndPublish = Buffer.concat([
          encode({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic, qos: 1 }] }),
          encode({ cmd: "publish", topic, payload: Buffer.from("packed"), qos: 1, messageId: 2, retain: false, dup: false }),
          encode({ cmd: "pingreq" }),
        ]);
        w.ws.send(subscribeAndPublish);
        expect((await w.next("suback")).granted).toEqual([1]);
        expect((await w.next("puback")).messageId).toBe(2);
        await w.next("pingresp");
        const p = await w.next("publish");
        expect((p.payload as Buffer).toString()).toBe("packed");
      } finally {
        w.ws.terminate();
      }
    });

    test("[3.1.1 MQTT-3.1.2-8] the will of a WebSocket client is published when its connection drops", async () => {
      const topic = uniqueId("ws/will");
      const sub = await connectClient(b(), { clientId: uniqueId("sub") });
      try {
        await subscribe(sub, topic, { qos: 1 });
        const w = await openWs(b());
        w.ws.send(encode({
          cmd: "connect",
          protocolId: "MQTT",
          protocolVersion: 4,
          clean: true,
          keepalive: 60,
          clientId: uniqueId("wswill"),
          will: { topic, payload: Buffer.from("ws gone"), qos: 1, retain: false },
        }));
        await w.next("connack");
        const got = nextMessage(sub, 3_000);
        w.ws.terminate();
        expect((await got).payload.toString()).toBe("ws gone");
      } finally {
        await closeAll(sub);
      }
    });

    test("many WebSocket clients receive a fan-out of QoS 1 messages", async () => {
      const topic = uniqueId("ws/fan");
      const subs = await Promise.all(Array.from({ length: 10 }, () => connectClient(b(), { clientId: uniqueId("f"), transport: "ws" })));
      const pub = await connectClient(b(), { clientId: uniqueId("p"), transport: "ws" });
      try {
        for (const s of subs) await subscribe(s, topic, { qos: 1 });
        const cols = subs.map((s) => collectMessages(s));
        for (let i = 0; i < 20; i++) await publish(pub, topic, String(i), { qos: 1 });
        for (const c of cols) {
          await c.waitFor(20, 5_000);
          expect(c.messages.map((m) => Number(m.payload.toString()))).toEqual(Array.from({ length: 20 }, (_, i) => i));
        }
      } finally {
        await closeAll(pub, ...subs);
      }
    });
  });
}
