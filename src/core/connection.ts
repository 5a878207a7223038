/**
 * One client connection: framing, the connection state machine, keepalive, and the single place
 * where errors become a DISCONNECT (v5) or a close. Which frames are handled when (async
 * handlers, the publish rate, reading pauses) is the input gate's job (input-gate.ts); acks that
 * wait for the store leave in order through ordered-acks.ts; outbound delivery with flow control
 * is outbound.ts.
 */
import type { MqttLimits } from "../config/schema.ts";
import type { ClientInfo, ProtocolVersion } from "../model/message.ts";
import type { LogThrottle } from "../util/log-throttle.ts";
import type { Clock } from "../ports/clock.ts";
import type { Logger } from "../ports/logger.ts";
import type { ConnectionEvents, Transport } from "../ports/transport.ts";
import { encodePacket, type Packet, PacketDecoder } from "../protocol/codec.ts";
import { type AckCmd, decodeShortAck, encodeAck, isAckCmd } from "../protocol/acks.ts";
import { PacketFramer } from "../protocol/framer.ts";
import type { DropEpisode } from "./drop-episode.ts";
import { decodePublish } from "../protocol/publish-decoder.ts";
import { ProtocolError, ReasonCode } from "../protocol/reason-codes.ts";
import type { BrokerContext, WillMessage } from "./context.ts";
import { handleAuth, handleDisconnect } from "./handlers/disconnect.ts";
import { handleConnect, refuseUnsupportedLevel } from "./handlers/connect.ts";
import { handlePuback, handlePubcomp, handlePubrec } from "./handlers/outbound-acks.ts";
import { handlePublish, handlePubrel } from "./handlers/publish.ts";
import { handleSubscribe, handleUnsubscribe } from "./handlers/subscribe.ts";
import { InputGate, type InputGateOptions } from "./input-gate.ts";
import { WriteProgress } from "./write-progress.ts";
import type { AckSink } from "./ordered-acks.ts";
import { Occasional } from "./occasional.ts";
import { ConnectionLogger } from "./connection-logger.ts";
import { type Deadline, deadlinesFor } from "./deadlines.ts";
import { Outbound } from "./outbound.ts";
import type { Delivery, OwnerSnapshot, Session, SessionOwner } from "./session.ts";
import { errorText } from "../util/errors.ts";

type State = "awaitingConnect" | "connecting" | "connected" | "closed";

/** Packets written while the client is not reading before it is cut off as a slow consumer. */
const MAX_WRITES_WHILE_CONGESTED = 10_000;

/** What the client announced in its v5 CONNECT; 3.1.1 clients announce nothing and get these defaults. */
export interface Negotiated {
  readonly receiveMaximum: number;
  readonly maximumPacketSize: number;
  readonly topicAliasMaximum: number;
  readonly requestProblemInformation: boolean;
}

/** Shared by every connection until a v5 CONNECT says otherwise (one object fewer per connection). */
export const DEFAULT_NEGOTIATED: Negotiated = Object.freeze({
  receiveMaximum: 65_535,
  maximumPacketSize: 268_435_460,
  topicAliasMaximum: 0,
  requestProblemInformation: true,
});

/** This connection's traffic, for the management queries. */
export interface Traffic {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * The connection is its own ConnectionEvents (onData, onDrain, onClose): an object and closures fewer
 * per connection than a separate events object (memory per idle connection, issue 14). For the same
 * reason, what only some connections need (topic aliases, acks waiting for the store, drop
 * episodes, congestion tracking, the refusal log bound) is made on first use, and its connect and
 * keepalive deadlines live in one heap shared by all connections (deadlines.ts).
 */
export class Connection implements SessionOwner, AckSink, ConnectionEvents, InputGateOptions, Deadline {
  state: State = "awaitingConnect";
  version: ProtocolVersion = 4;
  clientId = "";
  username?: string;
  session: Session | null = null;
  will: WillMessage | null = null;
  /** Set from a v5 CONNECT's properties. */
  negotiated: Negotiated = DEFAULT_NEGOTIATED;
  /** Traffic counters (see `traffic`), kept as fields: one object fewer per connection. */
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly outbound: Outbound = new Outbound(this);
  /** Session Expiry Interval given in CONNECT (v5: a DISCONNECT may not raise it from 0). */
  connectSessionExpiry = 0;
  cleanStart = true;
  /** Set by the listener (tls/wss): a verified client certificate authenticates, its CN is the user name. */
  useCertificateCnAsUsername = false;
  keepalive = 0;
  /** Clock times: CONNACK sent, last whole Control Packet received. */
  connectedAt = 0;
  lastActivity = 0;
  /** Deadline (deadlines.ts): the connect timeout until CONNECT arrives, then the keepalive check. */
  dueAt = 0;
  heapIndex = -1;
  private readonly framer: PacketFramer;
  private readonly input: InputGate;
  private more: Occasional | null = null;
  /** The client is not reading what we send (the transport's buffer is above its high-water mark). */
  congested = false;

  /** The limits when this connection arrived, with its listener's overrides (SIGHUP changes apply to new connections). */
  readonly limits: MqttLimits;

  constructor(
    readonly ctx: BrokerContext,
    readonly transport: Transport,
    limits: MqttLimits = ctx.limits,
    /** The listener's name ("tcp 0.0.0.0:1883"), on every log line of this connection. */
    readonly listener = "",
  ) {
    this.limits = limits;
    this.framer = new PacketFramer(this.limits.maxPacketSize);
    // The connection is the gate's options object (methods below): no closures per connection.
    this.input = new InputGate(this);
    deadlinesFor(ctx.clock).schedule(this, ctx.clock.now() + this.limits.connectTimeout * 1000);
  }

  /** This connection's log: its fields on every line (connection-logger.ts); made per use, kept by none. */
  get logger(): Logger {
    return new ConnectionLogger(this);
  }

  /** This connection's traffic, for the management queries. */
  get traffic(): Traffic {
    return { messagesIn: this.messagesIn, messagesOut: this.messagesOut, bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }

  /** What only some connections need, made on first use (occasional.ts). */
  get occasional(): Occasional {
    return (this.more ??= new Occasional(this));
  }

  /** Enhanced authentication: the method CONNECT named (set through `occasional`). */
  get authMethod(): string | undefined {
    return this.more?.authMethod;
  }

  get topicAliases(): Map<number, string> {
    return this.occasional.topicAliases;
  }

  get refusals(): LogThrottle {
    return this.occasional.refusals;
  }

  get notReadingDrops(): DropEpisode {
    return this.occasional.notReadingDrops;
  }

  get fullQueueDrops(): DropEpisode {
    return this.occasional.fullQueueDrops;
  }

  queueDrained(): void {
    this.more?.queueDrained();
  }

  /** Deadline: the connect timeout, or the keepalive check; returns when to look again (0: never). */
  onDeadline(now: number): number {
    if (this.state === "closed") return 0;
    if (this.state === "awaitingConnect") {
      this.ctx.connectionLog.info(this.logger, "closing connection: no CONNECT in time", {
        timeout: this.limits.connectTimeout,
      });
      this.closeTransport("no CONNECT in time");
      return 0;
    }
    if (this.keepalive === 0) return 0;
    const limit = this.keepalive * 1500; // 1.5 times the keepalive [3.1.1 MQTT-3.1.2-24]
    const idle = now - this.lastActivity;
    if (idle >= limit) {
      this.logger.info("keepalive timeout", { clientId: this.clientId, keepalive: this.keepalive });
      this.disconnect(ReasonCode.KeepAliveTimeout, "keepalive timeout");
      return 0;
    }
    return now + (limit - idle);
  }

  /** Fields on every log line of this connection (the client id once CONNECT named it). */
  logFields(): Record<string, string> {
    const fields: Record<string, string> = {};
    if (this.clientId) fields.clientId = this.clientId;
    fields.remote = `${this.transport.remote.address}:${this.transport.remote.port}`;
    if (this.listener) fields.listener = this.listener;
    return fields;
  }

  /** Shared by all connections of this protocol version (see PacketDecoder.forVersion). */
  private get decoder(): PacketDecoder {
    return PacketDecoder.forVersion(this.version);
  }

  get connected(): boolean {
    return this.state === "connected";
  }

  get closed(): boolean {
    return this.state === "closed";
  }

  /** AckSink: reading pauses while too many acks wait for the store. */
  acksWaitingChanged(): void {
    this.input.update();
  }

  /** Who this client is, for hooks: one object per identity, not one per publish. */
  get info(): ClientInfo {
    const cached = this.more?.info;
    if (cached && cached.clientId === this.clientId && cached.username === this.username && cached.protocolVersion === this.version) {
      return cached;
    }
    return (this.occasional.info = { clientId: this.clientId, username: this.username, protocolVersion: this.version, remote: this.transport.remote });
  }

  // ---- InputGateOptions (see input-gate.ts) ----------------------------------------------

  get clock(): Clock {
    return this.ctx.clock;
  }

  get messagesPerSecond(): number {
    return this.limits.maxPublishRate;
  }

  get bytesPerSecond(): number {
    return this.limits.maxPublishBytesRate;
  }

  /** InputGate: one whole frame, in arrival order. */
  handle(frame: Uint8Array): void | Promise<void> {
    return this.state === "closed" ? undefined : this.dispatch(frame);
  }

  /** InputGate: further reasons to pause reading. 3.1.1 clients have no Receive Maximum to respect: bound the acks waiting for the store. */
  extraPause(): boolean {
    return this.congested || (this.more?.acksWaiting ?? 0) >= this.limits.receiveMaximum;
  }

  onThrottle(ms: number): void {
    this.logger.debug("publish rate exceeded: reading paused", { clientId: this.clientId, ms });
  }

  /** The client was sending all along: held input is activity for the keepalive. */
  onThrottleEnd(): void {
    this.lastActivity = this.ctx.clock.now();
  }

  /** Run once when the adapter reports the close (the broker's bookkeeping); set by the broker, shared by its connections. */
  afterClose: ((connection: Connection) => void) | null = null;

  // ---- input ----------------------------------------------------------------------------

  /** ConnectionEvents: bytes from the client. */
  onData(bytes: Uint8Array): void {
    if (this.state === "closed") return;
    this.ctx.counters.bytesReceived += bytes.length;
    this.bytesIn += bytes.length;
    let packets = 0;
    try {
      this.framer.push(bytes, (frame) => {
        packets++;
        this.input.push(frame);
      });
    } catch (e: unknown) {
      this.fail(e);
    }
    // Keepalive counts Control Packets, not bytes [3.1.1 MQTT-3.1.2-24] [v5 MQTT-3.1.2-22]:
    // a client dripping a packet byte by byte is not kept alive by it.
    if (packets > 0) this.lastActivity = this.ctx.clock.now();
  }

  private dispatch(frame: Uint8Array): void | Promise<void> {
    const type = frame[0] >> 4;
    if (this.state === "awaitingConnect") {
      if (type !== 1) {
        throw new ProtocolError(ReasonCode.ProtocolError, `first packet must be CONNECT, got type ${type}`);
      }
      if (refuseUnsupportedLevel(this, frame)) return;
      deadlinesFor(this.ctx.clock).cancel(this); // the connect timeout
      const packet = this.decoder.decode(frame);
      return handleConnect(this, packet as Extract<Packet, { cmd: "connect" }>, frame);
    }
    if (type === 3 && this.state === "connected") {
      this.ctx.counters.messagesReceived++;
      this.messagesIn++;
      this.input.countPublish(frame.length);
      return handlePublish(this, decodePublish(frame, this.version));
    }
    if (this.state === "connected" && frame.length === 2 && frame[1] === 0) {
      // The two packets an idle client sends, read without the generic decoder (CPU per connection, issue 14).
      if (frame[0] === 0xc0) return this.writeBytes(Uint8Array.of(0xd0, 0)); // PINGREQ -> PINGRESP
      if (frame[0] === 0xe0) return handleDisconnect(this, { cmd: "disconnect" }); // reason 0, no properties
    }
    const ack = this.state === "connected" ? decodeShortAck(frame) : null;
    if (ack) return this.handleAck(ack as Extract<Packet, { cmd: typeof ack.cmd }>);
    const packet = this.decoder.decode(frame);
    if (this.state === "connecting" && packet.cmd !== "auth" && packet.cmd !== "disconnect") {
      throw new ProtocolError(ReasonCode.ProtocolError, `${packet.cmd} before authentication completed`);
    }
    switch (packet.cmd) {
      case "puback":
      case "pubrec":
      case "pubrel":
      case "pubcomp":
        return this.handleAck(packet);
      case "subscribe":
        return handleSubscribe(this, packet, frame);
      case "unsubscribe":
        return handleUnsubscribe(this, packet, frame);
      case "pingreq":
        this.send({ cmd: "pingresp" });
        return;
      case "disconnect":
        return handleDisconnect(this, packet);
      case "auth":
        return handleAuth(this, packet);
      case "connect":
        throw new ProtocolError(ReasonCode.ProtocolError, "second CONNECT on a connection");
      default:
        throw new ProtocolError(ReasonCode.ProtocolError, `unexpected ${packet.cmd} from a client`);
    }
  }

  private handleAck(packet: Extract<Packet, { cmd: "puback" | "pubrec" | "pubrel" | "pubcomp" }>): void {
    switch (packet.cmd) {
      case "puback":
        return handlePuback(this, packet);
      case "pubrec":
        return handlePubrec(this, packet);
      case "pubrel":
        return handlePubrel(this, packet);
      case "pubcomp":
        return handlePubcomp(this, packet);
    }
  }

  // ---- output ---------------------------------------------------------------------------

  /** Encode and send a control packet (anything but an outbound PUBLISH). */
  send(packet: Packet): void {
    if (this.state === "closed") return;
    const plainAck = isAckCmd(packet.cmd) && !(packet as { properties?: unknown }).properties;
    if (plainAck) {
      const { messageId, reasonCode } = packet as { messageId: number; reasonCode?: number };
      return this.writeBytes(encodeAck(packet.cmd as AckCmd, messageId, reasonCode ?? 0, this.version));
    }
    let bytes = encodePacket(packet, this.version);
    const max = this.negotiated.maximumPacketSize;
    if (bytes.length > max && "properties" in packet && packet.properties) {
      // Reason strings and user properties may be dropped to fit [v5 MQTT-3.1.2-25].
      const { reasonString: _r, userProperties: _u, ...rest } = packet.properties as Record<string, unknown>;
      bytes = encodePacket({ ...packet, properties: rest } as Packet, this.version);
      if (bytes.length > max) return;
    }
    this.writeBytes(bytes);
  }

  writeBytes(bytes: Uint8Array): void {
    this.ctx.counters.bytesSent += bytes.length;
    this.bytesOut += bytes.length;
    if (this.congested && ++this.occasional.writesWhileCongested > MAX_WRITES_WHILE_CONGESTED) {
      if (this.occasional.progress!.readingLately()) {
        this.occasional.writesWhileCongested = 0; // slow, but reading: not a client to cut off
      } else {
        this.ctx.connectionLog.warn(this.logger, "disconnecting slow client: it stopped reading", {
          clientId: this.clientId,
        });
        this.disconnect(ReasonCode.QuotaExceeded, "client is not reading");
        return;
      }
    }
    if (!this.transport.write(bytes) && !this.congested) {
      this.congested = true;
      const occasional = this.occasional;
      occasional.writesWhileCongested = 0;
      (occasional.progress ??= new WriteProgress(this.transport, this.ctx.clock)).start();
      this.input.update();
    }
  }

  /** Congested and no longer reading (see write-progress.ts): QoS 0 messages for it are dropped. */
  stalled(): boolean {
    return this.congested && this.more!.progress!.stalled(this.limits.maxPacketSize);
  }

  /** ConnectionEvents: the transport's buffer fell below its low-water mark. */
  onDrain(): void {
    if (!this.congested) return;
    this.congested = false;
    this.more?.readingAgain();
    this.input.update();
    this.outbound.pump();
  }

  /** Send `ack` once `durable` (a store commit) resolves, in order (see ordered-acks.ts). */
  sendAfter(ack: Packet | Uint8Array, durable: Promise<void> | null, refusal?: (reasonCode: number) => Packet): void {
    this.occasional.acks.send(ack, durable, refusal);
  }

  /** SessionOwner: a message for this client. */
  deliver(delivery: Delivery): void {
    this.outbound.deliver(delivery);
  }

  /** SessionOwner: resend what is in flight, then the queue, after CONNACK [v5 MQTT-4.4.0-1]. */
  resume(): void {
    this.outbound.resume();
  }

  /**
   * SessionOwner: a new connection took the session. The will goes now unless delayed (the new
   * connection cancels a delayed one) or the new connection starts clean; then DISCONNECT 0x8E.
   */
  takenOver(cleanStart: boolean, reasonCode: number = ReasonCode.SessionTakenOver, reasonString = "session taken over"): WillMessage | null {
    this.logger.info(reasonCode === ReasonCode.SessionTakenOver ? "session taken over by a new connection" : reasonString, {
      clientId: this.clientId,
    });
    const will = this.will;
    this.discardWill();
    this.disconnect(reasonCode, reasonString);
    return will && (will.delayInterval === 0 || cleanStart) ? will : null;
  }

  /** SessionOwner: plain data for the management queries. */
  describe(): OwnerSnapshot {
    const { remote } = this.transport;
    const will = this.will;
    return {
      username: this.username,
      protocolVersion: this.version,
      address: `${remote.address}:${remote.port}`,
      listener: this.listener || undefined,
      connectedAt: this.connectedAt,
      lastPacketAt: this.lastActivity,
      keepalive: this.keepalive,
      cleanStart: this.cleanStart,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      will: will
        ? { topic: will.message.topic, qos: will.message.qos, retain: will.message.retain, delayInterval: will.delayInterval }
        : undefined,
    };
  }

  // ---- lifecycle ------------------------------------------------------------------------

  /** Checked in onDeadline, first 1.5 times the keepalive from now. */
  startKeepalive(seconds: number): void {
    this.keepalive = seconds;
    if (seconds === 0) return;
    deadlinesFor(this.ctx.clock).schedule(this, this.ctx.clock.now() + seconds * 1500);
  }

  /** A normal DISCONNECT (reason 0x00) removes the will [v5 MQTT-3.14.4-3]. */
  discardWill(): void {
    this.will = null;
  }

  /** Server-side end: DISCONNECT with a reason for v5 clients past CONNACK, then close. */
  disconnect(reasonCode: number, reasonString?: string): void {
    if (this.state === "closed") return;
    if (this.version === 5 && this.state === "connected") {
      const properties = reasonString && this.negotiated.requestProblemInformation ? { reasonString } : undefined;
      this.send({ cmd: "disconnect", reasonCode, properties });
    }
    this.closeTransport(reasonString ?? `closed by the broker (reason code 0x${reasonCode.toString(16).padStart(2, "0")})`);
  }

  /** The one place where a thrown error ends a connection. */
  fail(e: unknown): void {
    if (this.state === "closed") return;
    const reasonCode = e instanceof ProtocolError ? e.reasonCode : ReasonCode.UnspecifiedError;
    const message = errorText(e);
    const fields = { clientId: this.clientId || undefined, reason: message, reasonCode };
    if (e instanceof ProtocolError) this.ctx.connectionLog.warn(this.logger, "closing connection: protocol violation", fields);
    else this.logger.error("closing connection: internal error", { ...fields, stack: e instanceof Error ? e.stack : undefined });
    if (this.state === "connecting" && this.version === 5) {
      this.send({ cmd: "connack", sessionPresent: false, reasonCode });
      this.closeTransport(message);
      return;
    }
    this.disconnect(reasonCode, message);
  }

  /** The broker ends the connection; `reason` tells onDisconnected hooks and the "client gone" line why. */
  closeTransport(reason = "closed by the broker"): void {
    if (this.state === "closed") return;
    this.finish(reason);
    this.transport.close();
  }

  /** ConnectionEvents: the socket is gone (adapters may report it more than once). */
  onClose(): void {
    // Not closed by us first: the client (or the network) dropped the connection without DISCONNECT.
    if (this.state !== "closed") this.finish("connection lost");
    const after = this.afterClose;
    this.afterClose = null;
    after?.(this);
  }

  private finish(reason: string): void {
    const wasConnected = this.state === "connected";
    this.state = "closed";
    deadlinesFor(this.ctx.clock).cancel(this);
    this.input.close();
    if (!wasConnected) return;
    this.ctx.connectionClosed(this, this.will, reason);
  }
}
