/**
 * An in-process broker for tests of the engine itself: `createBroker` from src/mod.ts on a
 * FakeClock, a store (MemoryStore unless given) and MemoryTransports, with a small MQTT client that
 * encodes packets with mqtt-packet and parses what the broker writes. No socket, no child process,
 * no real time: timing rules (keepalive, will delay, expiry) are tested with `advance(ms)`.
 *
 * Everything the broker does for a packet happens in `onData` or in promise callbacks after it
 * (store commits, async hooks), so a test sends, then awaits `settle()` (which `nextPacket`,
 * `expectNoPacket` and `advance` do for it) before it looks at what came back.
 *
 *   const b = await inProcessBroker({ mqtt: { maxKeepalive: 60 } });
 *   const { client, connack } = await b.connect({ version: 5, clientId: "a", keepalive: 10 });
 *   await b.advance(15_000);
 *   expect((await client.nextPacket()).cmd).toBe("disconnect");
 *   await b.close();
 *
 * The socket suites (test/conformance, ...) still test the real broker; these tests pin down rules
 * whose checking over sockets would need sleeping.
 */
import { expect } from "bun:test";
import mqttPacket from "mqtt-packet";
import { type Broker, createBroker, defaultConfig, MemoryStore } from "../../src/mod.ts";
import type { Config, Hooks, Logger, LogFields, LogLevel, MqttLimits, Store } from "../../src/mod.ts";
import { FakeClock } from "./fake-clock.ts";
import { MemoryTransport } from "./memory-transport.ts";
import type { AnyPacket } from "./raw.ts";

export type { AnyPacket };
export type Version = 4 | 5;

/** Runs every pending promise callback: a macrotask starts only once the microtask queue is empty. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

export interface LogLine {
  level: LogLevel;
  msg: string;
  fields: LogFields;
}

/** A Logger that keeps its lines, so that a test can check what an operator would read. */
export function memoryLogger(lines: LogLine[] = [], bound: LogFields = {}): Logger & { lines: LogLine[] } {
  const emit = (level: LogLevel) => (msg: string, fields?: LogFields) => lines.push({ level, msg, fields: { ...bound, ...fields } });
  return {
    lines,
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (fields) => memoryLogger(lines, { ...bound, ...fields }),
  };
}

export interface InProcessOptions {
  /** MQTT limits over the defaults of src/config/schema.ts (plus allowAnonymous: true). */
  mqtt?: Partial<MqttLimits>;
  /** Any other change to the config (the default has $SYS off: sys.interval 0). */
  configure?: (config: Config) => void;
  clock?: FakeClock;
  store?: Store;
  hooks?: Hooks[];
}

export interface ConnectOptions {
  /** 4 = MQTT 3.1.1 (default), 5 = MQTT 5.0. */
  version?: Version;
  clientId?: string;
  /** Clean Start (v5) / CleanSession (3.1.1); default true. */
  clean?: boolean;
  /** Seconds; default 0 (off), so that advancing time does not end the connection by accident. */
  keepalive?: number;
  /** v5 CONNECT properties, e.g. { sessionExpiryInterval: 60 }. */
  properties?: Record<string, unknown>;
  /** As mqtt-packet takes it: { topic, payload, qos, retain, properties }. */
  will?: AnyPacket;
  username?: string;
  password?: string;
}

export interface InProcessBroker {
  readonly broker: Broker;
  readonly clock: FakeClock;
  readonly store: Store;
  readonly logs: LogLine[];
  /** A new connection, nothing sent yet. */
  open(version?: Version): TestClient;
  /** A new connection that sent CONNECT; fails unless the CONNACK accepts it. */
  connect(options?: ConnectOptions): Promise<{ client: TestClient; connack: AnyPacket }>;
  /** Move the fake time forward (timers fire in order), then settle. */
  advance(ms: number): Promise<void>;
  settle(): Promise<void>;
  /** Close the broker (disconnects every client) and wait for it. */
  close(): Promise<void>;
}

export async function inProcessBroker(options: InProcessOptions = {}): Promise<InProcessBroker> {
  const config = defaultConfig();
  config.sys.interval = 0;
  config.mqtt.allowAnonymous = true; // as test/helpers/broker.ts starts the real one
  Object.assign(config.mqtt, options.mqtt);
  options.configure?.(config);
  const clock = options.clock ?? new FakeClock();
  const store = options.store ?? new MemoryStore({ now: () => clock.now() });
  const logger = memoryLogger();
  const broker = createBroker(config, { clock, store, logger, hooks: options.hooks });
  await broker.start();
  let port = 50_000;
  const open = (version: Version = 4) => new TestClient(broker, version, port++);
  return {
    broker,
    clock,
    store,
    logs: logger.lines,
    open,
    async connect(o = {}) {
      const client = open(o.version ?? 4);
      const connack = await client.connect(o);
      const code = client.version === 5 ? connack.reasonCode : connack.returnCode;
      if (code) throw new Error(`CONNACK refused ${o.clientId ?? "(no client id)"}: 0x${code.toString(16)}`);
      return { client, connack };
    },
    async advance(ms) {
      clock.advance(ms);
      await settle();
    },
    settle,
    async close() {
      let done = false;
      const closing = broker.close().then(() => (done = true));
      // close() waits on the clock for connections to go: let the fake time pass for it.
      for (let i = 0; i < 200 && !done; i++) {
        await settle();
        clock.advance(20);
      }
      await closing;
    },
  };
}

/** One client connection over a MemoryTransport: send packets, read what the broker sent. */
export class TestClient {
  readonly transport: MemoryTransport;
  /** Every packet the broker sent, in order (consumed or not). */
  readonly received: AnyPacket[] = [];
  private cursor = 0;
  private nextId = 1;
  private readonly parser;

  constructor(broker: Broker, readonly version: Version, port: number) {
    this.transport = new MemoryTransport({ port });
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on("packet", (p: AnyPacket) => this.received.push(p));
    this.parser.on("error", (e: Error) => this.received.push({ cmd: "parse-error", error: e.message }));
    this.transport.onWrite = (bytes) => this.parser.parse(Buffer.from(bytes));
    this.transport.events = broker.accept(this.transport);
  }

  /** The connection is closed (by the broker, or by `drop()`). */
  get closed(): boolean {
    return this.transport.closed;
  }

  /** Encode with mqtt-packet and send. */
  send(packet: AnyPacket): void {
    this.sendBytes(mqttPacket.generate(packet, { protocolVersion: this.version }));
  }

  sendBytes(bytes: Uint8Array): void {
    this.transport.send(bytes);
  }

  /** A fresh packet identifier (1, 2, ...). */
  packetId(): number {
    return this.nextId++;
  }

  /** The next packet not yet read; fails (naming what was seen) when there is none. */
  async nextPacket(): Promise<AnyPacket> {
    await settle();
    if (this.cursor < this.received.length) return this.received[this.cursor++];
    throw new Error(`no packet from the broker (connection ${this.closed ? "closed" : "open"}); ${this.describeAll()}`);
  }

  /** The next packet, which must be of type `cmd`. */
  async expectPacket(cmd: string): Promise<AnyPacket> {
    const p = await this.nextPacket();
    expect(p.cmd, this.describeAll()).toBe(cmd);
    return p;
  }

  /** Nothing unread has arrived (after settling). */
  async expectNoPacket(): Promise<void> {
    await settle();
    expect(this.received.slice(this.cursor).map(describePacket)).toEqual([]);
  }

  connect(o: ConnectOptions = {}): Promise<AnyPacket> {
    this.send({
      cmd: "connect",
      protocolVersion: this.version,
      clientId: o.clientId ?? "",
      clean: o.clean ?? true,
      keepalive: o.keepalive ?? 0,
      ...(o.properties ? { properties: o.properties } : {}),
      ...(o.will ? { will: { qos: 0, retain: false, ...o.will } } : {}),
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: Buffer.from(o.password) } : {}),
    });
    return this.expectPacket("connack");
  }

  /** SUBSCRIBE one filter (or several) and return the SUBACK. */
  async subscribe(
    filters: string | Array<{ topic: string; qos?: 0 | 1 | 2; nl?: boolean; rap?: boolean; rh?: number }>,
    o: { qos?: 0 | 1 | 2; properties?: Record<string, unknown> } = {},
  ): Promise<AnyPacket> {
    const subscriptions = typeof filters === "string" ? [{ topic: filters, qos: o.qos ?? 0 }] : filters.map((f) => ({ qos: 0, ...f }));
    const messageId = this.packetId();
    this.send({ cmd: "subscribe", messageId, subscriptions, ...(o.properties ? { properties: o.properties } : {}) });
    const suback = await this.expectPacket("suback");
    expect(suback.messageId).toBe(messageId);
    return suback;
  }

  /**
   * PUBLISH and complete its flow: QoS 1 returns the PUBACK, QoS 2 sends PUBREL for the PUBREC and
   * returns the PUBCOMP, QoS 0 returns undefined.
   */
  async publish(
    topic: string,
    payload: string | Uint8Array,
    o: { qos?: 0 | 1 | 2; retain?: boolean; properties?: Record<string, unknown> } = {},
  ): Promise<AnyPacket | undefined> {
    const qos = o.qos ?? 0;
    const messageId = qos > 0 ? this.packetId() : undefined;
    this.send({ cmd: "publish", topic, payload: Buffer.from(payload), qos, retain: o.retain ?? false, dup: false, messageId, ...(o.properties ? { properties: o.properties } : {}) });
    if (qos === 0) return undefined;
    if (qos === 1) return this.expectPacket("puback");
    const pubrec = await this.expectPacket("pubrec");
    expect(pubrec.messageId).toBe(messageId);
    this.pubrel(messageId!);
    return this.expectPacket("pubcomp");
  }

  puback(messageId: number): void {
    this.send({ cmd: "puback", messageId });
  }

  pubrec(messageId: number): void {
    this.send({ cmd: "pubrec", messageId });
  }

  pubrel(messageId: number): void {
    this.send({ cmd: "pubrel", messageId });
  }

  pubcomp(messageId: number): void {
    this.send({ cmd: "pubcomp", messageId });
  }

  pingreq(): void {
    this.send({ cmd: "pingreq" });
  }

  /** DISCONNECT (v5: reason 0x00 unless given, optional properties), then the client closes. */
  async disconnect(o: { reasonCode?: number; properties?: Record<string, unknown> } = {}): Promise<void> {
    this.send({ cmd: "disconnect", ...(this.version === 5 ? { reasonCode: o.reasonCode ?? 0, ...(o.properties ? { properties: o.properties } : {}) } : {}) });
    await settle();
    if (!this.closed) this.transport.drop();
    await settle();
  }

  /** The network goes away without a DISCONNECT (the will, if any, is published). */
  async drop(): Promise<void> {
    this.transport.drop();
    await settle();
  }

  private describeAll(): string {
    return `packets: [${this.received.map(describePacket).join(", ")}], ${this.cursor} read`;
  }
}

/** Short form of a packet for assertion messages, e.g. `publish(t/1 "x" qos=1 id=1)`. */
export function describePacket(p: AnyPacket): string {
  if (p.cmd === "publish") return `publish(${p.topic} "${String(p.payload).slice(0, 30)}" qos=${p.qos} dup=${p.dup ? 1 : 0} id=${p.messageId ?? "-"})`;
  const rc = p.reasonCode ?? p.returnCode;
  return `${p.cmd}(${p.messageId !== undefined ? `id=${p.messageId} ` : ""}${rc !== undefined ? `rc=0x${rc.toString(16)}` : ""})`;
}
