/**
 * One connection to an upstream broker, as an MQTT client: CONNECT/CONNACK, SUBSCRIBE, outbound
 * PUBLISH with packet ids chosen by the caller (the bridge's durable session owns them, so a QoS 2
 * flow can be resumed after a restart), inbound PUBLISH, and keepalive.
 *
 * Half-open links: a peer that stopped (SIGSTOP, a dead NAT entry) leaves TCP looking healthy. The
 * link pings when it has heard nothing for half the keepalive, and declares the link stalled when
 * an answer it waits for (PINGRESP, an ack) has not come for a whole keepalive, or when written
 * bytes have sat in the process's buffer that long: at most about 1.5x keepalive after the freeze.
 */
import type { MessageProperties, QoS } from "../model/message.ts";
import { encodePacket, type IConnackPacket, type Packet, PacketDecoder } from "../protocol/codec.ts";
import { PacketFramer } from "../protocol/framer.ts";
import { encodePublish } from "../protocol/publish-encoder.ts";
import type { Clock, TimerHandle } from "../ports/clock.ts";
import type { Dial, DialedConnection, DialOptions } from "../ports/dial.ts";

export interface LinkOptions {
  dial: DialOptions;
  protocolVersion: 4 | 5;
  clientId: string;
  username?: string;
  password?: string;
  keepalive: number;
  cleanStart: boolean;
  sessionExpiry: number;
}

export interface OutboundPublish {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  packetId: number;
  dup: boolean;
  properties: MessageProperties;
  /** v5 Message Expiry Interval left, in seconds. */
  messageExpiryInterval?: number;
}

export interface InboundMessage {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  properties: MessageProperties;
  messageExpiryInterval?: number;
}

export interface LinkEvents {
  /** PUBACK, PUBREC or PUBCOMP for an outbound PUBLISH (reasonCode >= 0x80: refused). */
  onAck(kind: "puback" | "pubrec" | "pubcomp", packetId: number, reasonCode: number): void;
  /**
   * A message from the upstream; its PUBACK/PUBREC waits for the returned promise (durably stored
   * locally). For QoS 2, `releaseId` is its packet id, to be recorded with it (until PUBREL).
   */
  onMessage(message: InboundMessage, releaseId?: number): void | Promise<unknown>;
  /** QoS 2 from the upstream: whether `packetId` was stored and awaits PUBREL (a resent PUBLISH is not published again). */
  isAwaitingRelease(packetId: number): boolean;
  /** PUBREL from the upstream: forget `packetId`; PUBCOMP waits for the returned promise. */
  onRelease(packetId: number): void | Promise<unknown>;
  /** The socket can take more after `send` returned false. */
  onWritable(): void;
  /** The link is gone (called once); `error` says why when it was not our own close. */
  onClose(error?: string): void;
}

/** What the upstream told us in CONNACK. */
export interface UpstreamLimits {
  sessionPresent: boolean;
  receiveMaximum: number;
  maximumQoS: QoS;
  retainAvailable: boolean;
  maximumPacketSize: number;
}

const CONNACK_REFUSALS: Record<number, string> = {
  1: "unacceptable protocol version",
  2: "client id rejected",
  3: "server unavailable",
  4: "bad user name or password",
  5: "not authorized",
  0x84: "unsupported protocol version",
  0x85: "client id rejected",
  0x86: "bad user name or password",
  0x87: "not authorized",
  0x88: "server unavailable",
  0x89: "server busy",
  0x8a: "banned",
  0x8c: "bad authentication method",
  0x9c: "use another server",
  0x9d: "server moved",
  0x9f: "connection rate exceeded",
};

export class UpstreamLink {
  private connection: DialedConnection | null = null;
  private readonly framer = new PacketFramer(268_435_460);
  private readonly decoder: PacketDecoder;
  private lastReceivedAt = 0;
  private lastSentAt = 0;
  /** Since when we wait for the peer (a ping, acks), or 0. */
  private waitingSince = 0;
  private pendingSince = 0;
  private outstandingAcks = 0;
  private ticker: TimerHandle = null;
  private closed = false;
  /** CONNACK accepted: from now on the end of the link is reported through onClose. */
  private established = false;
  private connack: PromiseWithResolvers<UpstreamLimits> | null = null;
  private suback: PromiseWithResolvers<number[]> | null = null;
  /** Inbound QoS 2 packet ids whose PUBREC went out (a resend is not delivered again). */

  constructor(
    private readonly options: LinkOptions,
    private readonly clock: Clock,
    private readonly events: LinkEvents,
  ) {
    this.decoder = new PacketDecoder(options.protocolVersion);
  }

  /** Dial, CONNECT and wait for CONNACK. Rejects with an operator-readable Error. */
  async open(dial: Dial): Promise<UpstreamLimits> {
    const { options } = this;
    const connection = await dial(options.dial, {
      onData: (bytes) => this.receive(bytes),
      onDrain: () => this.events.onWritable(),
      onClose: (error) => this.finish(error ?? "closed by the upstream"),
    });
    if (this.closed) {
      // Closed (bridge stopped or changed) while dialing: do not leave this connection open.
      connection.close();
      throw new Error("closed while connecting");
    }
    this.connection = connection;
    this.connack = Promise.withResolvers<UpstreamLimits>();
    const connect: Packet = {
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: options.protocolVersion,
      clean: options.cleanStart,
      clientId: options.clientId,
      keepalive: options.keepalive,
      username: options.username,
      // mqtt-packet takes a string (a Uint8Array that is not a Buffer is refused as "Invalid password").
      password: options.password as unknown as Buffer | undefined,
      properties: options.protocolVersion === 5
        ? { sessionExpiryInterval: options.sessionExpiry, receiveMaximum: 65_535 }
        : undefined,
    };
    this.write(connect);
    this.lastReceivedAt = this.clock.now();
    this.waitingSince = this.clock.now();
    const period = Math.max(100, Math.min(1000, (options.keepalive * 1000) / 4));
    this.ticker = this.clock.setInterval(() => this.tick(), period);
    return await this.connack.promise;
  }

  get isOpen(): boolean {
    return this.connection !== null && !this.closed;
  }

  subscribe(packetId: number, subscriptions: Array<{ topic: string; qos: QoS; noLocal: boolean }>): Promise<number[]> {
    this.suback = Promise.withResolvers<number[]>();
    const v5 = this.options.protocolVersion === 5;
    this.write({
      cmd: "subscribe",
      messageId: packetId,
      subscriptions: subscriptions.map((s) => ({
        topic: s.topic,
        qos: s.qos,
        ...(v5 ? { nl: s.noLocal, rap: true, rh: 0 } : {}),
      })),
    } as Packet);
    this.expectAnswer();
    return this.suback.promise;
  }

  /** Send a PUBLISH; false when the socket's buffer is full (wait for onWritable). */
  publish(p: OutboundPublish): boolean {
    const v5 = this.options.protocolVersion === 5;
    if (p.qos > 0) {
      this.outstandingAcks++;
      this.expectAnswer();
    }
    return this.writeBytes(encodePublish({
      topic: p.topic,
      payload: p.payload,
      qos: p.qos,
      retain: p.retain,
      dup: p.dup,
      packetId: p.qos > 0 ? p.packetId : undefined,
      properties: v5 ? p.properties : undefined,
      messageExpiryInterval: v5 ? p.messageExpiryInterval : undefined,
    }, this.options.protocolVersion));
  }

  /** PUBREL for a QoS 2 PUBLISH whose PUBREC was recorded. */
  release(packetId: number): boolean {
    this.outstandingAcks++;
    this.expectAnswer();
    return this.write({ cmd: "pubrel", messageId: packetId } as Packet);
  }

  /** Close the link (DISCONNECT first when it is up). onClose is not called for our own close. */
  close(): void {
    if (this.closed) return;
    if (this.established) this.write({ cmd: "disconnect" } as Packet);
    this.closed = true;
    this.stop();
    this.connection?.close();
  }

  private stop(): void {
    this.clock.clearInterval(this.ticker);
    this.connack?.reject(new Error("connection closed before CONNACK"));
    this.suback?.reject(new Error("connection closed before SUBACK"));
    this.connack = null;
    this.suback = null;
  }

  private finish(error: string): void {
    if (this.closed) return;
    this.closed = true;
    this.connack?.reject(new Error(error));
    this.connack = null;
    this.stop();
    this.connection?.close();
    if (this.established) this.events.onClose(error);
  }

  private write(packet: Packet): boolean {
    return this.writeBytes(encodePacket(packet, this.options.protocolVersion));
  }

  private writeBytes(bytes: Uint8Array): boolean {
    if (!this.connection || this.closed) return false;
    this.lastSentAt = this.clock.now();
    const ok = this.connection.write(bytes);
    if (this.pendingSince === 0 && this.connection.pendingBytes > 0) this.pendingSince = this.clock.now();
    return ok;
  }

  private expectAnswer(): void {
    if (this.waitingSince === 0) this.waitingSince = this.clock.now();
  }

  private tick(): void {
    if (this.closed || !this.connection) return;
    const now = this.clock.now();
    const keepaliveMs = this.options.keepalive * 1000;
    if (this.connection.pendingBytes === 0) this.pendingSince = 0;
    else if (this.pendingSince === 0) this.pendingSince = now;
    if (this.pendingSince !== 0 && now - this.pendingSince > keepaliveMs) {
      return this.finish(`stalled: written data not taken by the upstream for ${Math.round((now - this.pendingSince) / 1000)} s`);
    }
    if (this.waitingSince !== 0 && now - this.waitingSince > keepaliveMs) {
      return this.finish(`stalled: no answer from the upstream for ${Math.round((now - this.waitingSince) / 1000)} s`);
    }
    if (this.connack) return;
    // Ping when either direction has been quiet for half the keepalive (and nothing is awaited).
    if (this.waitingSince === 0 && (now - this.lastReceivedAt >= keepaliveMs / 2 || now - this.lastSentAt >= keepaliveMs / 2)) {
      this.write({ cmd: "pingreq" } as Packet);
      this.expectAnswer();
    }
  }

  private receive(bytes: Uint8Array): void {
    this.lastReceivedAt = this.clock.now();
    try {
      this.framer.push(bytes, (frame) => this.handle(this.decoder.decode(frame)));
    } catch (e: unknown) {
      this.finish(`bad packet from the upstream: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Any packet from the peer answers what we waited for, unless acks are still outstanding. */
  private answered(): void {
    this.waitingSince = this.outstandingAcks > 0 ? this.clock.now() : 0;
  }

  private handle(packet: Packet): void {
    switch (packet.cmd) {
      case "connack":
        return this.handleConnack(packet);
      case "suback": {
        this.answered();
        const granted = (packet as { granted: number[] }).granted;
        this.suback?.resolve(granted);
        this.suback = null;
        return;
      }
      case "pingresp":
        return this.answered();
      case "puback":
      case "pubrec":
      case "pubcomp": {
        this.outstandingAcks = Math.max(0, this.outstandingAcks - 1);
        this.answered();
        const code = (packet as { reasonCode?: number }).reasonCode ?? 0;
        return this.events.onAck(packet.cmd, packet.messageId!, code);
      }
      case "publish":
        return this.handlePublish(packet);
      case "pubrel":
        return this.ackWhen(this.events.onRelease(packet.messageId!), { cmd: "pubcomp", messageId: packet.messageId } as Packet);
      case "disconnect": {
        const code = (packet as { reasonCode?: number }).reasonCode ?? 0;
        return this.finish(`the upstream disconnected us (reason 0x${code.toString(16).padStart(2, "0")})`);
      }
      default:
        return;
    }
  }

  private handleConnack(packet: IConnackPacket): void {
    const pending = this.connack;
    if (!pending) return;
    this.connack = null;
    this.waitingSince = 0;
    const code = packet.reasonCode ?? packet.returnCode ?? 0;
    if (code !== 0) {
      const what = CONNACK_REFUSALS[code] ?? "refused";
      pending.reject(new Error(`connection refused by the upstream: ${what} (code 0x${code.toString(16).padStart(2, "0")})`));
      this.finish(what);
      return;
    }
    const props = packet.properties ?? {};
    this.established = true;
    pending.resolve({
      sessionPresent: packet.sessionPresent,
      receiveMaximum: props.receiveMaximum ?? 65_535,
      maximumQoS: (props.maximumQoS ?? 2) as QoS,
      retainAvailable: props.retainAvailable ?? true,
      maximumPacketSize: props.maximumPacketSize ?? 268_435_460,
    });
  }

  private handlePublish(packet: Packet & { cmd: "publish" }): void {
    const props = (packet.properties ?? {}) as Record<string, unknown>;
    const properties: MessageProperties = {};
    if (props.payloadFormatIndicator !== undefined) properties.payloadFormatIndicator = props.payloadFormatIndicator as boolean;
    if (props.contentType !== undefined) properties.contentType = props.contentType as string;
    if (props.responseTopic !== undefined) properties.responseTopic = props.responseTopic as string;
    if (props.correlationData !== undefined) properties.correlationData = props.correlationData as Uint8Array;
    if (props.userProperties !== undefined) {
      properties.userProperties = Object.entries(props.userProperties as Record<string, string | string[]>)
        .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((value) => [k, value] as [string, string]));
    }
    const message: InboundMessage = {
      topic: packet.topic,
      payload: new Uint8Array(packet.payload as Uint8Array),
      qos: packet.qos,
      retain: packet.retain,
      properties,
      messageExpiryInterval: props.messageExpiryInterval as number | undefined,
    };
    const id = packet.messageId!;
    if (packet.qos === 2) {
      // Exactly once across restarts: the id is stored with the message and kept until PUBREL.
      if (this.events.isAwaitingRelease(id)) return void this.write({ cmd: "pubrec", messageId: id } as Packet);
      return this.ackWhen(this.events.onMessage(message, id), { cmd: "pubrec", messageId: id } as Packet);
    }
    const stored = this.events.onMessage(message);
    if (packet.qos === 1) this.ackWhen(stored, { cmd: "puback", messageId: id } as Packet);
  }

  /** Acknowledge once the message is stored; when storing failed, no ack: the upstream resends it. */
  private ackWhen(stored: void | Promise<unknown>, ack: Packet): void {
    if (!stored) return void this.write(ack);
    stored.then(() => this.write(ack), () => {});
  }
}
