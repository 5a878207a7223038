/**
 * One client connection: framing, the connection state machine, keepalive, outbound delivery
 * with flow control, and the single place where errors become a DISCONNECT (v5) or a close.
 *
 * Design note: packets are handled strictly in arrival order. A handler may be asynchronous
 * (authentication, ACL hooks); while one runs, further frames wait in `backlog` and reading is
 * paused, so ordering and the packet-before-CONNACK rules hold without locks. The publish rate
 * limit uses the same hold: a client over its rate has its further frames wait (never dropped)
 * and its transport paused until a Clock timer says the bucket has refilled.
 */
import type { MqttLimits } from "../config/schema.ts";
import type { ClientInfo, ProtocolVersion } from "../hooks/types.ts";
import { LogThrottle } from "./log-throttle.ts";
import type { Logger } from "../ports/logger.ts";
import type { ConnectionEvents, Transport } from "../ports/transport.ts";
import { encodePacket, type Packet, PacketDecoder } from "../protocol/codec.ts";
import { type AckCmd, decodeShortAck, encodeAck, isAckCmd } from "../protocol/acks.ts";
import { PacketFramer } from "../protocol/framer.ts";
import { Deque } from "../util/deque.ts";
import { DropEpisode } from "./drop-episode.ts";
import { decodePublish } from "../protocol/publish-decoder.ts";
import { ProtocolError, ReasonCode } from "../protocol/reason-codes.ts";
import type { BrokerContext, WillMessage } from "./context.ts";
import { handleAuth, handleDisconnect } from "./handlers/disconnect.ts";
import { handleConnect } from "./handlers/connect.ts";
import { handlePuback, handlePubcomp, handlePubrec } from "./handlers/outbound-acks.ts";
import { handlePublish, handlePubrel } from "./handlers/publish.ts";
import { handleSubscribe, handleUnsubscribe } from "./handlers/subscribe.ts";
import { Outbound } from "./outbound.ts";
import { RateLimiter } from "./rate-limiter.ts";
import type { Delivery, Session, SessionOwner } from "./session.ts";

type State = "awaitingConnect" | "connecting" | "connected" | "closed";

/** Packets written while the client is not reading before it is cut off as a slow consumer. */
const MAX_WRITES_WHILE_CONGESTED = 10_000;
/**
 * Bytes of frames held while an async handler runs or the client is throttled. With reading
 * paused that is about one read (64 KiB in the Deno adapter), which can hold over 10,000 small
 * packets: a frame count would cut off a client that did nothing wrong. Adapters that cannot
 * pause (Bun's WebSocket) keep delivering; past this a client is cut off with 0x96.
 */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;

export class Connection implements SessionOwner {
  state: State = "awaitingConnect";
  version: ProtocolVersion = 4;
  clientId = "";
  username?: string;
  session: Session | null = null;
  will: WillMessage | null = null;
  logger: Logger;
  /** v5 limits the client announced in CONNECT. */
  clientReceiveMaximum = 65_535;
  clientMaximumPacketSize = 268_435_460;
  clientTopicAliasMaximum = 0;
  requestProblemInformation = true;
  /** Inbound topic aliases (v5): alias -> topic, set by the client. */
  readonly topicAliases = new Map<number, string>();
  readonly outbound: Outbound = new Outbound(this);
  /** Session Expiry Interval given in CONNECT (v5: a DISCONNECT may not raise it from 0). */
  connectSessionExpiry = 0;
  authMethod?: string;
  authStep = 0;
  /** Set by the listener (tls/wss): a verified client certificate authenticates, its CN is the user name. */
  useCertificateCnAsUsername = false;
  /** Completes CONNECT once enhanced authentication succeeds. */
  pendingConnect?: () => void;
  keepalive = 0;
  private lastActivity = 0;
  private keepaliveTimer: unknown = null;
  private connectTimer: unknown = null;
  private readonly framer: PacketFramer;
  private readonly decoder = new PacketDecoder();
  /** A Deque: a throttled client can have thousands of frames waiting, shifted one by one. */
  private backlog = new Deque<Uint8Array>();
  private backlogBytes = 0;
  private busy = false;
  /** Over the publish rate: input is held until `throttleTimer` fires. */
  private throttled = false;
  private throttleTimer: unknown = null;
  private readonly rateLimiter: RateLimiter | null;
  /** The client is not reading what we send (the transport's buffer is above its high-water mark). */
  congested = false;
  private readingPaused = false;
  /** QoS 0 messages dropped because the client is not reading what it was sent. */
  readonly notReadingDrops = new DropEpisode(
    this,
    "client not reading: dropping QoS 0 messages until it catches up",
    "client reading again",
  );
  /** QoS 1/2 messages dropped because its session queue is full (maxQueuedMessages, maxQueuedBytes). */
  readonly fullQueueDrops = new DropEpisode(
    this,
    "session queue full: dropping QoS 1/2 messages for this client",
    "session queue drained",
  );
  /** Acks waiting for a store commit, chained so they leave in order [MQTT-4.6.0-2]. */
  private ackTail: Promise<void> | null = null;
  private acksWaiting = 0;
  private writesWhileCongested = 0;
  private willPending = true;

  /** Refusals of single packets (denied publishes, refused filters) share this bound on log lines. */
  readonly refusals: LogThrottle;

  /** The limits when this connection arrived, with its listener's overrides (SIGHUP changes apply to new connections). */
  readonly limits: MqttLimits;

  constructor(readonly ctx: BrokerContext, readonly transport: Transport, limits: MqttLimits = ctx.limits) {
    this.limits = limits;
    this.refusals = new LogThrottle(ctx.clock);
    this.framer = new PacketFramer(this.limits.maxPacketSize);
    this.rateLimiter = RateLimiter.for(ctx.clock, {
      messagesPerSecond: this.limits.maxPublishRate,
      bytesPerSecond: this.limits.maxPublishBytesRate,
    });
    this.logger = ctx.logger.child({ remote: `${transport.remote.address}:${transport.remote.port}` });
    this.connectTimer = ctx.clock.setTimeout(() => {
      ctx.connectionLog.info(this.logger, "closing connection: no CONNECT in time", {
        timeout: this.limits.connectTimeout,
      });
      this.closeTransport();
    }, this.limits.connectTimeout * 1000);
  }

  setDecoderVersion(version: number): void {
    this.decoder.setVersion(version);
  }

  get connected(): boolean {
    return this.state === "connected";
  }

  get info(): ClientInfo {
    return { clientId: this.clientId, username: this.username, protocolVersion: this.version, remote: this.transport.remote };
  }

  /** The events the adapter drives. */
  events(): ConnectionEvents {
    return {
      onData: (bytes) => this.onData(bytes),
      onDrain: () => this.onDrain(),
      onClose: () => this.onClose(),
    };
  }

  // ---- input ----------------------------------------------------------------------------

  private onData(bytes: Uint8Array): void {
    if (this.state === "closed") return;
    this.ctx.counters.bytesReceived += bytes.length;
    let packets = 0;
    try {
      this.framer.push(bytes, (frame) => {
        packets++;
        if (!this.busy && !this.throttled) return this.handleFrame(frame);
        if (this.backlogBytes + frame.length > MAX_BACKLOG_BYTES && this.backlog.length > 0) {
          throw new ProtocolError(ReasonCode.MessageRateTooHigh, "client keeps sending while its packets wait");
        }
        this.backlogBytes += frame.length;
        this.backlog.push(frame);
      });
    } catch (e: unknown) {
      this.fail(e);
    }
    // Keepalive counts Control Packets, not bytes [MQTT-3.1.2-24] (3.1.1), [MQTT-3.1.2-22] (5.0):
    // a client dripping a packet byte by byte is not kept alive by it.
    if (packets > 0) this.lastActivity = this.ctx.clock.now();
  }

  private handleFrame(frame: Uint8Array): void {
    if (this.state === "closed") return;
    try {
      const result = this.dispatch(frame);
      if (result) this.waitFor(result);
    } catch (e: unknown) {
      this.fail(e);
    }
  }

  /**
   * Reading pauses while a handler runs, while the client is not reading what we send, while
   * too many of its acks wait for the store (3.1.1 clients have no Receive Maximum to respect),
   * and while it is over its publish rate; it resumes only when none of these holds.
   */
  private updateReading(): void {
    if (this.state === "closed") return;
    const pause = this.busy || this.congested || this.throttled || this.acksWaiting >= this.limits.receiveMaximum;
    if (pause === this.readingPaused) return;
    this.readingPaused = pause;
    if (pause) this.transport.pauseReading();
    else this.transport.resumeReading();
  }

  /** An async handler is running: hold further frames until it settles. */
  private waitFor(pending: Promise<void>): void {
    this.busy = true;
    this.updateReading();
    pending.then(
      () => {
        this.busy = false;
        this.drainBacklog();
      },
      (e: unknown) => {
        this.busy = false;
        this.fail(e);
      },
    );
  }

  /** Handle held frames until another hold starts, then pause or resume reading to match. */
  private drainBacklog(): void {
    while (this.backlog.length > 0 && !this.busy && !this.throttled && this.state !== "closed") {
      const frame = this.backlog.shift()!;
      this.backlogBytes -= frame.length;
      this.handleFrame(frame);
    }
    this.updateReading();
  }

  /** Count a PUBLISH against the rate limit; over it, hold input until the bucket has refilled. */
  private throttle(size: number): void {
    const wait = this.rateLimiter!.take(size);
    if (wait === 0) return;
    if (!this.throttled) this.logger.debug("publish rate exceeded: reading paused", { clientId: this.clientId, ms: wait });
    this.throttled = true;
    this.updateReading();
    this.throttleTimer = this.ctx.clock.setTimeout(() => {
      this.throttleTimer = null;
      this.throttled = false;
      // The client was sending all along: held input is activity for the keepalive.
      this.lastActivity = this.ctx.clock.now();
      this.drainBacklog();
    }, wait);
  }

  private dispatch(frame: Uint8Array): void | Promise<void> {
    const type = frame[0] >> 4;
    if (this.state === "awaitingConnect") {
      if (type !== 1) {
        throw new ProtocolError(ReasonCode.ProtocolError, `first packet must be CONNECT, got type ${type}`);
      }
      if (this.refuseUnsupportedLevel(frame)) return;
      this.ctx.clock.clearTimeout(this.connectTimer);
      const packet = this.decoder.decode(frame);
      return handleConnect(this, packet as Extract<Packet, { cmd: "connect" }>, frame);
    }
    if (type === 3 && this.state === "connected") {
      this.ctx.counters.messagesReceived++;
      if (this.rateLimiter) this.throttle(frame.length);
      return handlePublish(this, decodePublish(frame, this.version));
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

  /**
   * A CONNECT whose protocol level the broker does not speak gets CONNACK 0x01 and a close
   * [MQTT-3.1.2-2] (3.1.1); mqtt-packet cannot parse such a packet, so look at the raw bytes.
   */
  private refuseUnsupportedLevel(frame: Uint8Array): boolean {
    let i = 1;
    while (frame[i] & 0x80 && i < 5) i++;
    const nameLength = (frame[i + 1] << 8) | frame[i + 2];
    const name = String.fromCharCode(...frame.subarray(i + 3, i + 3 + nameLength));
    const level = frame[i + 3 + nameLength];
    if (name !== "MQTT" && name !== "MQIsdp") return false; // malformed: the decoder says so
    const supported = name === "MQTT" ? level === 4 || level === 5 : level === 3;
    if (supported || level === undefined) return false;
    this.ctx.connectionLog.info(this.logger, "refusing connection: unsupported protocol level", {
      protocol: name,
      level,
    });
    this.writeBytes(new Uint8Array([0x20, 0x02, 0x00, 0x01]));
    this.closeTransport();
    return true;
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
    if (bytes.length > this.clientMaximumPacketSize && "properties" in packet && packet.properties) {
      // Reason strings and user properties may be dropped to fit [MQTT-3.1.2-25].
      const { reasonString: _r, userProperties: _u, ...rest } = packet.properties as Record<string, unknown>;
      bytes = encodePacket({ ...packet, properties: rest } as Packet, this.version);
      if (bytes.length > this.clientMaximumPacketSize) return;
    }
    this.writeBytes(bytes);
  }

  writeBytes(bytes: Uint8Array): void {
    this.ctx.counters.bytesSent += bytes.length;
    if (this.congested && ++this.writesWhileCongested > MAX_WRITES_WHILE_CONGESTED) {
      this.ctx.connectionLog.warn(this.logger, "disconnecting slow client: it stopped reading", {
        clientId: this.clientId,
      });
      this.disconnect(ReasonCode.QuotaExceeded, "client is not reading");
      return;
    }
    if (!this.transport.write(bytes) && !this.congested) {
      this.congested = true;
      this.writesWhileCongested = 0;
      this.updateReading();
    }
  }

  private onDrain(): void {
    if (!this.congested) return;
    this.congested = false;
    this.notReadingDrops.end();
    this.updateReading();
    this.outbound.pump();
  }

  /**
   * Send a packet (or encoded bytes) once `durable` (a store commit) resolves, after anything
   * already waiting, so acknowledgements and write-ahead PUBLISHes keep their order. If the store
   * fails, `refusal` (v5: the same ack with 0x80/0x97) goes instead; a client that cannot be told
   * (3.1.1, or an outbound PUBLISH) is disconnected so the exchange restarts after reconnecting.
   */
  sendAfter(ack: Packet | Uint8Array, durable: Promise<void> | null, refusal?: (reasonCode: number) => Packet): void {
    const out = () => (ack instanceof Uint8Array ? this.state !== "closed" && this.writeBytes(ack) : this.send(ack));
    if (!durable && this.acksWaiting === 0) {
      out();
      return;
    }
    this.acksWaiting++;
    this.updateReading();
    const previous = this.ackTail ?? Promise.resolve();
    this.ackTail = previous
      .then(() => durable ?? undefined)
      .then(
        () => void out(),
        (e: unknown) => this.storeFailed(e, refusal),
      )
      .finally(() => {
        if (--this.acksWaiting === 0) this.ackTail = null;
        this.updateReading();
      });
  }

  private storeFailed(e: unknown, refusal?: (reasonCode: number) => Packet): void {
    const full = e instanceof Error && e.name === "StoreFullError";
    this.logger.error("store write failed: message not acknowledged", {
      error: e instanceof Error ? e.message : String(e),
      cause: e instanceof Error && e.cause ? String(e.cause) : undefined,
    });
    if (this.version === 5 && refusal) this.send(refusal(full ? ReasonCode.QuotaExceeded : ReasonCode.UnspecifiedError));
    else this.disconnect(ReasonCode.UnspecifiedError, "store failure");
  }

  /** SessionOwner: a message for this client. */
  deliver(delivery: Delivery): void {
    this.outbound.deliver(delivery);
  }

  // ---- lifecycle ------------------------------------------------------------------------

  startKeepalive(seconds: number): void {
    this.keepalive = seconds;
    if (seconds === 0) return;
    const limit = seconds * 1500; // 1.5 times the keepalive [MQTT-3.1.2-24]
    const check = () => {
      if (this.state === "closed") return;
      const idle = this.ctx.clock.now() - this.lastActivity;
      if (idle >= limit) {
        this.logger.info("keepalive timeout", { clientId: this.clientId, keepalive: seconds });
        this.disconnect(ReasonCode.KeepAliveTimeout, "keepalive timeout");
        return;
      }
      this.keepaliveTimer = this.ctx.clock.setTimeout(check, limit - idle);
    };
    this.keepaliveTimer = this.ctx.clock.setTimeout(check, limit);
  }

  /** A normal DISCONNECT (reason 0x00) removes the will [MQTT-3.14.4-3]. */
  discardWill(): void {
    this.willPending = false;
  }

  /** Server-side end: DISCONNECT with a reason for v5 clients past CONNACK, then close. */
  disconnect(reasonCode: number, reasonString?: string): void {
    if (this.state === "closed") return;
    if (this.version === 5 && this.state === "connected") {
      const properties = reasonString && this.requestProblemInformation ? { reasonString } : undefined;
      this.send({ cmd: "disconnect", reasonCode, properties });
    }
    this.closeTransport();
  }

  /** The one place where a thrown error ends a connection. */
  fail(e: unknown): void {
    if (this.state === "closed") return;
    const reasonCode = e instanceof ProtocolError ? e.reasonCode : ReasonCode.UnspecifiedError;
    const message = e instanceof Error ? e.message : String(e);
    const fields = { clientId: this.clientId || undefined, reason: message, reasonCode };
    if (e instanceof ProtocolError) this.ctx.connectionLog.warn(this.logger, "closing connection: protocol violation", fields);
    else this.logger.error("closing connection: internal error", { ...fields, stack: (e as Error)?.stack });
    if (this.state === "connecting" && this.version === 5) {
      this.send({ cmd: "connack", sessionPresent: false, reasonCode });
      this.closeTransport();
      return;
    }
    this.disconnect(reasonCode, message);
  }

  closeTransport(): void {
    if (this.state === "closed") return;
    this.finish();
    this.transport.close();
  }

  private onClose(): void {
    if (this.state === "closed") return;
    this.finish();
  }

  private finish(): void {
    const wasConnected = this.state === "connected";
    this.state = "closed";
    this.ctx.clock.clearTimeout(this.connectTimer);
    this.ctx.clock.clearTimeout(this.keepaliveTimer);
    this.ctx.clock.clearTimeout(this.throttleTimer);
    this.backlog = new Deque();
    this.backlogBytes = 0;
    if (!wasConnected) return;
    this.ctx.connectionClosed(this, this.willPending ? this.will : null);
  }
}
