/**
 * The publish rate limit inside the core, with a fake clock and a fake transport: a client over
 * its rate has its input held (not dropped) and reading paused until the bucket refills, and the
 * pause combines with outgoing backpressure: reading resumes only when no reason holds.
 */
import { describe, expect, test } from "bun:test";
import mqttPacket from "mqtt-packet";
import { createBroker, defaultConfig, type Transport } from "../../src/mod.ts";
import { FakeClock } from "../helpers/fake-clock.ts";

class FakeTransport implements Transport {
  readonly remote = { address: "127.0.0.1", port: 1, kind: "tcp" as const };
  paused = false;
  /** What write() answers: false = the outgoing buffer is above its high-water mark. */
  accepting = true;
  closed = false;
  readonly packets: mqttPacket.Packet[] = [];
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  constructor() {
    this.parser.on("packet", (p) => void this.packets.push(p));
  }
  write(bytes: Uint8Array): boolean {
    this.parser.parse(Buffer.from(bytes));
    return this.accepting;
  }
  pauseReading(): void {
    this.paused = true;
  }
  resumeReading(): void {
    this.paused = false;
  }
  close(): void {
    this.closed = true;
  }
  published(): string[] {
    return this.packets.flatMap((p) => (p.cmd === "publish" ? [String(p.payload)] : []));
  }
}

const bytes = (packet: Record<string, unknown>) =>
  new Uint8Array(mqttPacket.generate(packet as unknown as mqttPacket.Packet));

async function setup(maxPublishRate: number) {
  const clock = new FakeClock();
  const config = defaultConfig();
  config.mqtt = { ...config.mqtt, maxPublishRate, allowAnonymous: true };
  const broker = createBroker(config, { clock });
  await broker.start();
  const opened: Array<() => void> = [];
  const open = (clientId: string) => {
    const transport = new FakeTransport();
    const events = broker.accept(transport);
    opened.push(() => events.onClose());
    events.onData(
      bytes({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clean: true, keepalive: 0, clientId }),
    );
    return { transport, events };
  };
  const tick = () => new Promise((r) => setTimeout(r, 0));
  // broker.close() waits for connections on the (fake) clock: end them first.
  const close = async () => {
    for (const onClose of opened) onClose();
    await broker.close();
  };
  return { clock, close, open, tick };
}

function publishes(n: number, from = 0): Uint8Array {
  const all = Array.from(
    { length: n },
    (_, i) => bytes({ cmd: "publish", topic: "t", payload: String(from + i), qos: 0, retain: false, dup: false }),
  );
  const out = new Uint8Array(all.reduce((s, b) => s + b.length, 0));
  let at = 0;
  for (const b of all) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

describe("publish rate limit in the connection", () => {
  test("over the rate, frames already read wait (none dropped) and reading pauses until the clock refills the bucket", async () => {
    const { clock, open, tick, close } = await setup(10);
    const sub = open("sub");
    await tick();
    sub.events.onData(bytes({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "t", qos: 0 }] }));
    await tick();
    const pub = open("pub");
    await tick();
    pub.events.onData(publishes(25)); // one read holding 25 PUBLISH packets
    expect(sub.transport.published().length).toBe(10); // the burst: one second's worth
    expect(pub.transport.paused).toBe(true);
    clock.advance(1000);
    expect(sub.transport.published().length).toBe(20);
    expect(pub.transport.paused).toBe(true);
    clock.advance(600);
    expect(sub.transport.published()).toEqual(Array.from({ length: 25 }, (_, i) => String(i)));
    // The bucket is empty again, so reading stays paused until the next refill, then resumes.
    clock.advance(200);
    expect(pub.transport.paused).toBe(false);
    expect(pub.transport.closed).toBe(false);
    await close();
  });

  test("throttling and outgoing backpressure: reading resumes only when neither holds", async () => {
    const { clock, open, tick, close } = await setup(10);
    const pub = open("pub");
    await tick();
    pub.events.onData(publishes(11));
    expect(pub.transport.paused).toBe(true); // throttled
    // While throttled the client also stops reading what we send.
    pub.transport.accepting = false;
    pub.events.onData(bytes({ cmd: "pingreq" })); // held: answered once the throttle ends
    clock.advance(200);
    expect(pub.transport.packets.filter((p) => p.cmd === "pingresp").length).toBe(1);
    expect(pub.transport.paused).toBe(true); // congested now (the PINGRESP write was refused)
    pub.events.onDrain();
    expect(pub.transport.paused).toBe(false);
    // And the other way round: congested first, then the drain comes while still throttled.
    pub.transport.accepting = false;
    pub.events.onData(bytes({ cmd: "pingreq" }));
    expect(pub.transport.paused).toBe(true);
    pub.transport.accepting = true;
    pub.events.onData(publishes(1)); // frames the adapter had already read
    clock.advance(1000);
    pub.events.onData(publishes(20));
    pub.events.onDrain();
    expect(pub.transport.paused).toBe(true); // still throttled
    clock.advance(2000);
    expect(pub.transport.paused).toBe(false);
    expect(pub.transport.closed).toBe(false);
    await close();
  });

  test("one read holding 20,000 small PUBLISH packets is held whole while throttled, not cut off; all are delivered", async () => {
    const { clock, open, tick, close } = await setup(1000);
    const sub = open("sub");
    await tick();
    sub.events.onData(bytes({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "t", qos: 0 }] }));
    await tick();
    const pub = open("pub");
    await tick();
    pub.events.onData(publishes(20_000)); // about 160 KB: small packets, as a fast client writes them
    expect(pub.transport.closed).toBe(false);
    expect(sub.transport.published().length).toBe(1000);
    clock.advance(20_000);
    expect(sub.transport.published().length).toBe(20_000);
    expect(pub.transport.closed).toBe(false);
    await close();
  });

  test("no limit configured: nothing is held", async () => {
    const { open, tick, close } = await setup(0);
    const sub = open("sub");
    await tick();
    sub.events.onData(bytes({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "t", qos: 0 }] }));
    await tick();
    const pub = open("pub");
    await tick();
    pub.events.onData(publishes(500));
    expect(sub.transport.published().length).toBe(500);
    expect(pub.transport.paused).toBe(false);
    await close();
  });
});
