/**
 * The bridge driven by a fake clock and a fake upstream connection (no sockets, no sleeping):
 * the drain rate, the Receive Maximum window, the keepalive ping and stall detection, and the
 * backoff delays. Packets the bridge writes are decoded with mqtt-packet; the test answers them.
 */
import { describe, expect, test } from "bun:test";
import mqttPacket from "mqtt-packet";
import { Bridge } from "../../src/bridge/bridge.ts";
import { startBridges } from "../../src/app/bridges.ts";
import { bridgeSchema } from "../../src/config/bridges.ts";
import { createBroker, defaultConfig, silentLogger } from "../../src/mod.ts";
import type { DialedConnection, DialHandlers, DialOptions } from "../../src/mod.ts";
import { FakeClock } from "../helpers/fake-clock.ts";

// deno-lint-ignore no-explicit-any
type AnyPacket = any;

class FakeUpstream {
  handlers: DialHandlers | null = null;
  packets: AnyPacket[] = [];
  dials = 0;
  refuse = false;
  private parser = mqttPacket.parser({ protocolVersion: 5 });

  constructor() {
    this.parser.on("packet", (p: AnyPacket) => this.packets.push(p));
  }

  dial = (_options: DialOptions, handlers: DialHandlers): Promise<DialedConnection> => {
    this.dials++;
    if (this.refuse) return Promise.reject(new Error("cannot connect: Connection refused"));
    this.handlers = handlers;
    return Promise.resolve({
      write: (bytes: Uint8Array) => {
        this.parser.parse(Buffer.from(bytes));
        return true;
      },
      pendingBytes: 0,
      close: () => {},
    });
  };

  send(packet: AnyPacket): void {
    this.handlers!.onData(mqttPacket.generate(packet, { protocolVersion: 5 }));
  }

  of(cmd: string): AnyPacket[] {
    return this.packets.filter((p) => p.cmd === cmd);
  }
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 5));

async function setup(extra: Record<string, unknown>, receiveMaximum = 65_535) {
  const clock = new FakeClock();
  const broker = createBroker(defaultConfig(), { clock });
  await broker.start();
  const upstream = new FakeUpstream();
  const config = bridgeSchema.parse({ name: "t", url: "mqtt://upstream:1883", out: [{ local: "d/#", qos: 1 }], ...extra });
  const bridge = new Bridge(config, {}, {
    openSession: (o, d) => broker.openLocalSession(o, d),
    dial: upstream.dial,
    clock,
    logger: silentLogger,
  });
  bridge.start();
  await flush();
  upstream.send({ cmd: "connack", sessionPresent: false, reasonCode: 0, properties: { receiveMaximum } });
  await flush();
  expect(bridge.state).toBe("connected");
  return { clock, broker, upstream, bridge };
}

describe("bridge (fake clock, fake upstream)", () => {
  test("rate: a backlog drains at the configured messages per second", async () => {
    const { clock, broker, upstream } = await setup({ rate: 4 });
    for (let n = 0; n < 10; n++) broker.publish({ topic: "d/x", payload: String(n), qos: 1 });
    await flush();
    const sentBy = (ms: number) => {
      clock.advance(ms);
      return upstream.of("publish").length;
    };
    expect(upstream.of("publish").length).toBe(1);
    const counts = [];
    for (let i = 0; i < 4; i++) {
      counts.push(sentBy(250));
      await flush();
    }
    expect(counts).toEqual([2, 3, 4, 5]); // one every 250 ms
  });

  test("window: no more unacknowledged than the upstream's Receive Maximum; acks open it again, in order", async () => {
    const { broker, upstream, bridge } = await setup({}, 3);
    for (let n = 0; n < 5; n++) broker.publish({ topic: "d/x", payload: String(n), qos: 1 });
    await flush();
    expect(upstream.of("publish").map((p) => p.payload.toString())).toEqual(["0", "1", "2"]);
    upstream.send({ cmd: "puback", messageId: upstream.of("publish")[0].messageId, reasonCode: 0 });
    await flush();
    expect(upstream.of("publish").map((p) => p.payload.toString())).toEqual(["0", "1", "2", "3"]);
    expect(bridge.status()).toMatchObject({ forwarded: 1, queued: 0 });
  });

  test("keepalive: a ping after half the keepalive of silence; no answer for a keepalive: stalled, then a redial", async () => {
    const { clock, upstream, bridge } = await setup({ keepalive: 10, reconnect: { min: "1s", max: "1s" } });
    clock.advance(5_000);
    expect(upstream.of("pingreq").length).toBe(1);
    clock.advance(9_000);
    expect(bridge.state).toBe("connected");
    clock.advance(2_000); // 11 s without PINGRESP
    expect(bridge.state).toBe("stalled");
    expect(bridge.status().lastError).toMatch(/^stalled: no answer from the upstream/);
    clock.advance(1_000);
    await flush();
    expect(upstream.dials).toBe(2);
  });

  test("a PINGRESP keeps the link up", async () => {
    const { clock, upstream, bridge } = await setup({ keepalive: 10 });
    for (let i = 0; i < 6; i++) {
      clock.advance(5_000);
      upstream.send({ cmd: "pingresp" });
    }
    expect(bridge.state).toBe("connected");
    expect(upstream.of("pingreq").length).toBeGreaterThanOrEqual(5);
  });

  test("backoff: delays double from reconnect.min up to reconnect.max, with jitter between half and all of it", async () => {
    const { clock, upstream, bridge } = await setup({ reconnect: { min: "1s", max: "8s" } });
    upstream.refuse = true;
    upstream.handlers!.onClose("connection reset");
    const delays: number[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      const before = upstream.dials;
      let waited = 0;
      while (upstream.dials === before && waited < 20_000) {
        clock.advance(50);
        waited += 50;
        await Promise.resolve();
      }
      delays.push(waited);
      await flush();
    }
    const bounds = [1000, 2000, 4000, 8000, 8000, 8000];
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(bounds[i] / 2);
      expect(d).toBeLessThanOrEqual(bounds[i] + 50);
    });
    expect(bridge.state).toBe("backingOff");
  });
});

describe("broker.bridges() (for the admin API)", () => {
  test("lists each bridge's status once the app started them", async () => {
    const clock = new FakeClock();
    const config = defaultConfig();
    config.bridges = [bridgeSchema.parse({ name: "cloud", url: "mqtt://u:secret@upstream:1883", out: [{ local: "d/#" }] })];
    const broker = createBroker(config, { clock });
    await broker.start();
    expect(broker.bridges()).toEqual([]);
    const upstream = new FakeUpstream();
    const started = startBridges({ dial: upstream.dial, readTextFile: () => undefined }, broker, config, clock, silentLogger);
    expect(started).toBeDefined();
    await flush();
    upstream.send({ cmd: "connack", sessionPresent: false, reasonCode: 0 });
    await flush();
    expect(broker.bridges()).toEqual([{
      name: "cloud",
      url: "mqtt://upstream:1883",
      state: "connected",
      since: clock.now(),
      lastError: undefined,
      queued: 0,
      queuedBytes: 0,
      inflight: 0,
      oldestQueuedAge: 0,
      forwarded: 0,
      received: 0,
      dropped: 0,
    }]);
  });
});
