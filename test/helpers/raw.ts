/**
 * A raw TCP client (node:net) for malformed or hand-built packets. Incoming bytes are parsed with
 * mqtt-packet; `protocolVersion` (4 = 3.1.1, 5, 3 = 3.1) selects the parser.
 */
import { connect as netConnect, type Socket } from "node:net";
import mqttPacket from "mqtt-packet";
import type { RunningBroker } from "./broker.ts";

// deno-lint-ignore no-explicit-any
export type AnyPacket = any;

export interface RawClient {
  socket: Socket;
  /** Protocol version used to parse incoming packets (changing it resets the parser). */
  protocolVersion: 3 | 4 | 5;
  send(bytes: Uint8Array | Buffer): void;
  /** Encode a packet with mqtt-packet and send it. */
  sendPacket(packet: AnyPacket): void;
  /** Packets parsed so far (all of them, consumed or not). */
  packets(): AnyPacket[];
  /** The next packet not yet returned by nextPacket (rejects on timeout or close). */
  nextPacket(timeoutMs?: number): Promise<AnyPacket>;
  /** Next packet with the given cmd, skipping others (rejects on timeout or close). */
  nextPacketOf(cmd: string, timeoutMs?: number): Promise<AnyPacket>;
  /** True if the connection is (or becomes) closed within timeoutMs. */
  waitClosed(timeoutMs?: number): Promise<boolean>;
  readonly closed: boolean;
  /** Parse errors seen on the incoming stream. */
  parseErrors: Error[];
  close(): void;
}

export interface OpenRawOptions {
  protocolVersion?: 3 | 4 | 5;
  port?: number;
  timeoutMs?: number;
}

export function encode(packet: AnyPacket, protocolVersion: 3 | 4 | 5 = 4): Buffer {
  return mqttPacket.generate(packet, { protocolVersion });
}

export function openRaw(b: RunningBroker, opts: OpenRawOptions = {}): Promise<RawClient> {
  const port = opts.port ?? b.port;
  const timeoutMs = opts.timeoutMs ?? 3_000;
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: b.host, port });
    const received: AnyPacket[] = [];
    const parseErrors: Error[] = [];
    let cursor = 0;
    let closed = false;
    let version: 3 | 4 | 5 = opts.protocolVersion ?? 4;
    let waiters: Array<() => void> = [];
    const notify = () => {
      const ws = waiters;
      waiters = [];
      for (const w of ws) w();
    };
    const changed = () => new Promise<void>((r) => waiters.push(r));

    let parser = makeParser();
    function makeParser() {
      const p = mqttPacket.parser({ protocolVersion: version });
      p.on("packet", (pk: AnyPacket) => {
        received.push(pk);
        notify();
      });
      p.on("error", (e: Error) => {
        parseErrors.push(e);
        notify();
      });
      return p;
    }

    socket.on("data", (chunk: Buffer) => parser.parse(chunk));
    socket.on("close", () => {
      closed = true;
      notify();
    });
    socket.on("error", () => {
      // ECONNRESET etc.: reported as close
    });

    const connectTimer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw connect to ${b.host}:${port} timed out`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(connectTimer);
      socket.setNoDelay(true);
      resolve(client);
    });
    socket.once("error", (e) => {
      clearTimeout(connectTimer);
      reject(e);
    });

    async function waitUntil<T>(get: () => T | undefined, ms: number, what: string): Promise<T> {
      const deadline = Date.now() + ms;
      for (;;) {
        const v = get();
        if (v !== undefined) return v;
        if (closed) throw new Error(`connection closed while waiting for ${what}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await Promise.race([changed(), new Promise((r) => setTimeout(r, left))]);
      }
    }

    const client: RawClient = {
      socket,
      get protocolVersion() {
        return version;
      },
      set protocolVersion(v: 3 | 4 | 5) {
        version = v;
        parser = makeParser();
      },
      send(bytes) {
        if (!closed && !socket.destroyed) socket.write(bytes);
      },
      sendPacket(packet) {
        client.send(encode(packet, version));
      },
      packets: () => received,
      nextPacket(ms = 2_000) {
        return waitUntil(() => (cursor < received.length ? received[cursor++] : undefined), ms, "a packet");
      },
      nextPacketOf(cmd, ms = 2_000) {
        return waitUntil(() => {
          while (cursor < received.length) {
            const p = received[cursor++];
            if (p.cmd === cmd) return p;
          }
          return undefined;
        }, ms, `a ${cmd} packet`);
      },
      async waitClosed(ms = 2_000) {
        const deadline = Date.now() + ms;
        while (!closed) {
          const left = deadline - Date.now();
          if (left <= 0) return false;
          await Promise.race([changed(), new Promise((r) => setTimeout(r, left))]);
        }
        return true;
      },
      get closed() {
        return closed;
      },
      parseErrors,
      close() {
        socket.destroy();
      },
    };
  });
}

/** Open a raw connection, send CONNECT and wait for CONNACK (returns the client and the CONNACK). */
export async function connectRaw(
  b: RunningBroker,
  connect: Partial<AnyPacket> & { clientId: string },
  opts: OpenRawOptions = {},
): Promise<{ raw: RawClient; connack: AnyPacket }> {
  const protocolVersion = opts.protocolVersion ?? connect.protocolVersion ?? 4;
  const raw = await openRaw(b, { ...opts, protocolVersion });
  raw.sendPacket({
    cmd: "connect",
    protocolId: protocolVersion === 3 ? "MQIsdp" : "MQTT",
    protocolVersion,
    clean: true,
    keepalive: 60,
    ...connect,
  });
  const connack = await raw.nextPacket(3_000).catch((e) => {
    raw.close();
    throw e;
  });
  if (connack.cmd !== "connack") {
    raw.close();
    throw new Error(`expected CONNACK, got ${connack.cmd}`);
  }
  return { raw, connack };
}

/** Hand-built CONNECT for MQTT 3.1.1 with full control over the bytes (flags, level, name). */
export function rawConnectBytes(o: {
  protocolName?: string;
  level?: number;
  flags?: number;
  keepalive?: number;
  clientId?: string;
  extra?: Buffer;
}): Buffer {
  const name = Buffer.from(o.protocolName ?? "MQTT", "utf8");
  const id = Buffer.from(o.clientId ?? "", "utf8");
  const keep = o.keepalive ?? 60;
  const body = Buffer.concat([
    u16(name.length),
    name,
    Buffer.from([o.level ?? 4, o.flags ?? 0x02]),
    u16(keep),
    u16(id.length),
    id,
    o.extra ?? Buffer.alloc(0),
  ]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** Hand-built PUBLISH (QoS 0 unless flags say otherwise) with raw topic bytes. */
export function rawPublishBytes(topic: Buffer, payload: Buffer, flags = 0, messageId?: number): Buffer {
  const qos = (flags >> 1) & 3;
  const body = Buffer.concat([
    u16(topic.length),
    topic,
    qos > 0 ? u16(messageId ?? 1) : Buffer.alloc(0),
    payload,
  ]);
  return Buffer.concat([Buffer.from([0x30 | (flags & 0x0f)]), remainingLength(body.length), body]);
}

/** SUBSCRIBE over a raw connection; resolves with the SUBACK (rejects on close/timeout). */
export async function rawSubscribe(
  raw: RawClient,
  subscriptions: Array<{ topic: string; qos: 0 | 1 | 2 }>,
  messageId = 1,
  timeoutMs = 3_000,
): Promise<AnyPacket> {
  raw.sendPacket({ cmd: "subscribe", messageId, subscriptions });
  return await raw.nextPacketOf("suback", timeoutMs);
}

/** Raw PUBLISH (valid, via mqtt-packet). */
export function rawPublish(
  raw: RawClient,
  topic: string,
  payload: string | Buffer,
  opts: { qos?: 0 | 1 | 2; retain?: boolean; dup?: boolean; messageId?: number } = {},
): void {
  const qos = opts.qos ?? 0;
  raw.sendPacket({
    cmd: "publish",
    topic,
    payload: typeof payload === "string" ? Buffer.from(payload) : payload,
    qos,
    retain: opts.retain ?? false,
    dup: opts.dup ?? false,
    ...(qos > 0 ? { messageId: opts.messageId ?? 1 } : {}),
  });
}

/** Acknowledge an incoming PUBLISH as a subscriber would: PUBACK for QoS 1, PUBREC for QoS 2. */
export function rawAck(raw: RawClient, publish: AnyPacket): void {
  if (publish.qos === 1) raw.sendPacket({ cmd: "puback", messageId: publish.messageId });
  if (publish.qos === 2) raw.sendPacket({ cmd: "pubrec", messageId: publish.messageId });
}

/** Hex form of a reason code for assertion messages. */
export function hex(n: number | undefined): string {
  return n === undefined ? "undefined" : "0x" + n.toString(16).padStart(2, "0");
}
