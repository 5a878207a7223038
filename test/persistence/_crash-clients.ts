/**
 * The crash test's clients (crash.test.ts): v5 over node:net with mqtt-packet, no per-packet
 * promises, so that they keep up with the broker. The publisher numbers its messages and resends
 * what is unacknowledged after a reconnect [v5 MQTT-4.4.0-1]; the subscriber records what it gets
 * and keeps its side of the QoS 2 state across connections.
 */
import { connect as netConnect, type Socket } from "node:net";
import mqttPacket from "mqtt-packet";
import type { RunningBroker } from "../helpers/broker.ts";
import type { AnyPacket } from "../helpers/raw.ts";
import { NEVER, sleep } from "../helpers/persistence.ts";

/** A v5 connection over node:net, parsing with mqtt-packet (no per-packet promises: fast). */
export class Conn {
  private socket: Socket | null = null;
  closed = true;
  private closedWaiters: Array<() => void> = [];

  constructor(private readonly onPacket: (p: AnyPacket) => void) {}

  /** Connect and send CONNECT; resolves with the CONNACK. */
  open(b: RunningBroker, connect: AnyPacket): Promise<AnyPacket> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: b.host, port: b.port });
      const parser = mqttPacket.parser({ protocolVersion: 5 });
      let connack: AnyPacket | null = null;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error("no CONNACK within 5 s"));
      }, 5_000);
      parser.on("packet", (p: AnyPacket) => {
        if (!connack) {
          if (p.cmd !== "connack") return;
          connack = p;
          clearTimeout(timer);
          resolve(p);
          return;
        }
        this.onPacket(p);
      });
      parser.on("error", (e: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      });
      socket.on("data", (chunk: Buffer) => parser.parse(chunk));
      socket.on("error", () => {});
      socket.on("close", () => {
        this.closed = true;
        if (!connack) {
          clearTimeout(timer);
          reject(new Error("connection closed before CONNACK"));
        }
        for (const w of this.closedWaiters.splice(0)) w();
      });
      socket.once("connect", () => {
        socket.setNoDelay(true);
        this.socket = socket;
        this.closed = false;
        this.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, keepalive: 60, ...connect });
      });
    });
  }

  send(p: AnyPacket): void {
    if (this.closed || !this.socket) return;
    this.socket.write(mqttPacket.generate(p, { protocolVersion: 5 }));
  }

  waitClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((r) => this.closedWaiters.push(r));
  }

  end(): void {
    this.send({ cmd: "disconnect", reasonCode: 0 });
    this.socket?.end();
  }
}

export interface Outstanding {
  seq: number;
  state: "sent" | "released";
}

export class Publisher {
  private conn = new Conn((p) => this.onPacket(p));
  /** Packet id -> message, in send order (Map keeps insertion order for resends). */
  readonly inflight = new Map<number, Outstanding>();
  readonly acked = new Set<number>();
  /** Numbers sent again after a reconnect (their first ack may have been lost in a crash). */
  readonly resent = new Set<number>();
  readonly refused: Array<{ seq: number; reasonCode: number }> = [];
  readonly sessionsLost: number[] = [];
  readonly unexpected: string[] = [];
  nextSeq = 1;
  private sending = true;
  private lastId = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly clientId: string,
    readonly topic: string,
    readonly qos: 1 | 2,
    /** QoS 1/2 messages in flight at most. */
    readonly window: number,
  ) {}

  /** (Re)connect: a resumed session gets the resends first [v5 MQTT-4.4.0-1], then new numbers. */
  async connect(b: RunningBroker, fresh: boolean): Promise<void> {
    const connack = await this.conn.open(b, {
      clientId: this.clientId,
      clean: fresh,
      properties: { sessionExpiryInterval: NEVER },
    });
    if ((connack.reasonCode ?? 0) !== 0) throw new Error(`publisher CONNACK ${connack.reasonCode}`);
    if (!fresh && !connack.sessionPresent) this.sessionsLost.push(this.nextSeq);
    for (const [messageId, o] of this.inflight) {
      if (o.state === "sent") {
        this.resent.add(o.seq);
        this.conn.send(this.publishPacket(messageId, o.seq, true));
      } else {
        this.conn.send({ cmd: "pubrel", messageId });
      }
    }
    this.pump();
  }

  waitClosed(): Promise<void> {
    return this.conn.waitClosed();
  }

  /** Stop taking new numbers; resolves when everything in flight is complete (or the timeout). */
  async finish(timeoutMs: number): Promise<void> {
    this.sending = false;
    if (this.inflight.size === 0) return;
    await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), sleep(timeoutMs)]);
    if (this.inflight.size > 0) {
      throw new Error(`publisher: ${this.inflight.size} message(s) still unacknowledged after ${timeoutMs} ms`);
    }
  }

  end(): void {
    this.conn.end();
  }

  private publishPacket(messageId: number, seq: number, dup: boolean): AnyPacket {
    return {
      cmd: "publish",
      topic: this.topic,
      payload: Buffer.from(String(seq)),
      qos: this.qos,
      messageId,
      dup,
      retain: false,
    };
  }

  private allocateId(): number {
    for (;;) {
      this.lastId = this.lastId >= 65_535 ? 1 : this.lastId + 1;
      if (!this.inflight.has(this.lastId)) return this.lastId;
    }
  }

  private pump(): void {
    while (this.sending && !this.conn.closed && this.inflight.size < this.window) {
      const messageId = this.allocateId();
      const seq = this.nextSeq++;
      this.inflight.set(messageId, { seq, state: "sent" });
      this.conn.send(this.publishPacket(messageId, seq, false));
    }
    if (this.inflight.size === 0) { for (const w of this.idleWaiters.splice(0)) w(); }
  }

  private onPacket(p: AnyPacket): void {
    const o = this.inflight.get(p.messageId);
    const rc = p.reasonCode ?? 0;
    if (p.cmd === "puback" && o && this.qos === 1) {
      if (rc < 0x80) this.acked.add(o.seq);
      else this.refused.push({ seq: o.seq, reasonCode: rc });
      if (rc !== 0) this.unexpected.push(`PUBACK ${p.messageId} for ${o.seq}: reason 0x${rc.toString(16)}`);
      this.inflight.delete(p.messageId);
    } else if (p.cmd === "pubrec" && o && this.qos === 2 && o.state === "sent") {
      if (rc !== 0) this.unexpected.push(`PUBREC ${p.messageId} for ${o.seq}: reason 0x${rc.toString(16)}`);
      if (rc < 0x80) {
        this.acked.add(o.seq);
        o.state = "released";
        this.conn.send({ cmd: "pubrel", messageId: p.messageId });
      } else {
        this.refused.push({ seq: o.seq, reasonCode: rc });
        this.inflight.delete(p.messageId);
      }
    } else if (p.cmd === "pubcomp" && o && o.state === "released") {
      // 0x92 (Packet Identifier not found) is fine after a crash: the PUBREL was done, its PUBCOMP lost.
      if (rc !== 0 && rc !== 0x92) this.unexpected.push(`PUBCOMP ${p.messageId}: reason 0x${rc.toString(16)}`);
      this.inflight.delete(p.messageId);
    } else if (p.cmd === "disconnect") {
      this.unexpected.push(`DISCONNECT 0x${rc.toString(16)}`);
    }
    this.pump();
  }
}

/**
 * The persistent subscriber, a v5 client with Session Expiry "never". It keeps its side of the
 * QoS 2 state across connections as a real client must: packet ids it sent PUBREC for and has
 * not had the PUBREL of. A PUBLISH with such an id is the broker resending the same message: it
 * gets PUBREC again and is not delivered again [v5 MQTT-4.3.3-10].
 */
export class Subscriber {
  private conn = new Conn((p) => this.onPacket(p));
  readonly deliveries: Array<{ seq: number; dup: boolean; qos: number }> = [];
  readonly distinct = new Set<number>();
  private readonly awaitingRelease = new Set<number>();
  /** PUBLISH packets for ids awaiting PUBREL (resends of a message already delivered). */
  resentPublishes = 0;
  readonly sessionsLost: number[] = [];
  private subacked: ((p: AnyPacket) => void) | null = null;

  constructor(readonly clientId: string, readonly topic: string, readonly qos: 1 | 2) {}

  async connect(b: RunningBroker, fresh: boolean): Promise<boolean> {
    const connack = await this.conn.open(b, {
      clientId: this.clientId,
      clean: fresh,
      properties: { sessionExpiryInterval: NEVER },
    });
    if ((connack.reasonCode ?? 0) !== 0) throw new Error(`subscriber CONNACK ${connack.reasonCode}`);
    if (!fresh && !connack.sessionPresent) this.sessionsLost.push(this.deliveries.length);
    return !!connack.sessionPresent;
  }

  async subscribe(): Promise<void> {
    const suback = new Promise<AnyPacket>((r) => (this.subacked = r));
    this.conn.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: this.topic, qos: this.qos }] });
    const p = await Promise.race([suback, sleep(3_000).then(() => null)]);
    if (!p || p.granted?.[0] !== this.qos) throw new Error(`SUBACK: ${JSON.stringify(p?.granted)}`);
  }

  /** Until every number in `expected` is in (failing when nothing arrives for 5 s), then 1 s more. */
  async receive(expected: Set<number>): Promise<void> {
    let last = -1;
    let stalledSince = Date.now();
    const missing = () => {
      for (const n of expected) if (!this.distinct.has(n)) return true;
      return false;
    };
    while (missing() && !this.conn.closed) {
      if (this.deliveries.length !== last) {
        last = this.deliveries.length;
        stalledSince = Date.now();
      } else if (Date.now() - stalledSince > 5_000) {
        break;
      }
      await sleep(20);
    }
    await sleep(1_000);
  }

  waitClosed(): Promise<void> {
    return this.conn.waitClosed();
  }

  async end(): Promise<void> {
    this.conn.end();
    await this.conn.waitClosed();
  }

  private onPacket(p: AnyPacket): void {
    if (p.cmd === "suback") {
      this.subacked?.(p);
    } else if (p.cmd === "publish") {
      if (p.qos === 2 && this.awaitingRelease.has(p.messageId)) {
        this.resentPublishes++;
        this.conn.send({ cmd: "pubrec", messageId: p.messageId });
        return;
      }
      const seq = Number(String(p.payload));
      this.deliveries.push({ seq, dup: !!p.dup, qos: p.qos });
      this.distinct.add(seq);
      if (p.qos === 1) this.conn.send({ cmd: "puback", messageId: p.messageId });
      if (p.qos === 2) {
        this.awaitingRelease.add(p.messageId);
        this.conn.send({ cmd: "pubrec", messageId: p.messageId });
      }
    } else if (p.cmd === "pubrel") {
      this.awaitingRelease.delete(p.messageId);
      this.conn.send({ cmd: "pubcomp", messageId: p.messageId });
    }
  }
}
