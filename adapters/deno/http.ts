/**
 * MQTT over WebSocket on Deno (Deno.serve + Deno.upgradeWebSocket), with the `mqtt` subprotocol.
 *
 * Deno's `ws.send()` never refuses and buffers without limit, so backpressure is ours: after a send
 * we look at `bufferedAmount`; above the high-water mark the sink answers -1 (wait) and a 10 ms
 * poll flushes the OutgoingBuffer once Deno has written enough out. Reading cannot be paused
 * at the socket (Deno reads frames on its own), so pauses hold frames back, with a cap.
 *
 * WSS (Deno 2.9.6): Deno.serve takes a cert and key but has no options for client certificates,
 * and cannot change its certificate while running (shutdown() would also close every upgraded
 * WebSocket), so clientCertificate is refused at start and a new certificate needs a restart.
 * It also leaves Nagle on over TLS: small messages can wait ~40 ms for the peer's delayed ACK.
 * node:https with the `ws` package would fix all three (measured to work with client
 * certificates on Deno) at the price of one more dependency.
 */
import type { Acceptor, ConnectionEvents, Logger, TlsOptions, Transport, TransportKind } from "../../src/mod.ts";
import { OutgoingBuffer } from "../../src/mod.ts";

const HIGH_WATER_BYTES = 1 << 20;
const LOW_WATER_BYTES = 1 << 18;
const DRAIN_POLL_MS = 10;
const CLOSE_GRACE_MS = 2000;
const HELD_LIMIT_BYTES = 8 << 20;

/** Pick the subprotocol to answer with: "mqtt" when offered (or "mqttv3.1" for old clients). */
function chooseProtocol(offered: string | null): string | undefined {
  const list = (offered ?? "").split(",").map((p) => p.trim()).filter(Boolean);
  return list.find((p) => p === "mqtt") ?? list.find((p) => p === "mqttv3.1");
}

function attach(
  broker: Acceptor,
  ws: WebSocket,
  remote: { address: string; port: number; kind: TransportKind },
  logger: Logger,
): void {
  const { address } = remote;
  let events: ConnectionEvents | undefined;
  let poll: ReturnType<typeof setInterval> | undefined;
  let force: ReturnType<typeof setTimeout> | undefined;
  let closing = false;
  let paused = false;
  let held: Uint8Array[] = []; // frames received while paused, oldest first
  let heldBytes = 0;

  const stopTimers = () => {
    if (poll !== undefined) clearInterval(poll);
    if (force !== undefined) clearTimeout(force);
    poll = force = undefined;
  };
  /** Calls into the core from our own callbacks: a throw must not escape and stop the process. */
  const guarded = (fn: () => void) => {
    try {
      fn();
    } catch (e: unknown) {
      logger.error("connection failed", { address, error: e instanceof Error ? e.message : String(e) });
      if (events) {
        try {
          ws.close(1011);
        } catch { /* already closed */ }
      }
    }
  };
  /** Tell the core once, whichever of close/error/forced close comes first. */
  const notifyClose = () => {
    stopTimers();
    const e = events;
    events = undefined;
    guarded(() => e?.onClose());
  };

  /** Hand frames held during a pause to the core, in order, until it pauses again. */
  const deliverHeld = () => {
    let i = 0;
    while (i < held.length && !paused && events) {
      const bytes = held[i++];
      heldBytes -= bytes.length;
      events.onData(bytes);
    }
    held = held.slice(i);
  };
  /**
   * Without a pause, frames go straight to the core. While paused they wait here; a client that
   * keeps sending past HELD_LIMIT_BYTES (e.g. publishing QoS 1 and never reading its PUBACKs)
   * is closed with 1008, since holding more would let one client grow the broker without bound.
   */
  const receive = (bytes: Uint8Array) => {
    if (!paused && held.length === 0) return events?.onData(bytes);
    held.push(bytes);
    heldBytes += bytes.length;
    if (heldBytes > HELD_LIMIT_BYTES && !closing) {
      logger.warn("WebSocket client keeps sending while paused: closing", { address, heldBytes });
      held = [];
      heldBytes = 0;
      ws.close(1008, "sending faster than the broker can process");
    }
  };

  const outgoing = new OutgoingBuffer((bytes) => {
    if (ws.readyState !== WebSocket.OPEN) return bytes.length; // closing or gone: discard
    ws.send(bytes);
    if (ws.bufferedAmount <= HIGH_WATER_BYTES) return bytes.length;
    poll ??= setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > LOW_WATER_BYTES) return;
      clearInterval(poll);
      poll = undefined;
      guarded(() => outgoing.flush());
    }, DRAIN_POLL_MS);
    return -1;
  }, () => events?.onDrain());

  const transport: Transport = {
    remote,
    write: (bytes) => outgoing.push(bytes),
    sentBytes: () => outgoing.sentBytes,
    backlogBytes: () => outgoing.backlogBytes,
    // Deno's WebSocket pushes messages as events and cannot stop reading from the socket, so a
    // pause only holds frames back from the core (see `receive`), up to HELD_LIMIT_BYTES.
    pauseReading: () => {
      paused = true;
    },
    resumeReading: () => {
      paused = false;
      if (held.length > 0) queueMicrotask(() => guarded(deliverHeld)); // not inside the core's call
    },
    close: () => {
      if (closing) return;
      closing = true;
      // Deno cannot terminate a WebSocket: after the grace time we give up on the peer and let
      // the core forget the connection; Deno drops the socket when its close handshake fails.
      force = setTimeout(() => {
        notifyClose();
        try {
          ws.close();
        } catch { /* already closed */ }
      }, CLOSE_GRACE_MS);
      outgoing.end(() => {
        try {
          ws.close(); // queued behind the frames already sent
        } catch { /* already closed */ }
      });
    },
  };

  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    try {
      events = broker.accept(transport);
    } catch (e: unknown) {
      logger.error("connection failed", { address, error: e instanceof Error ? e.message : String(e) });
      ws.close(1011);
    }
  };
  ws.onmessage = (event: MessageEvent) => {
    if (ws.readyState !== WebSocket.OPEN) return; // frames that arrive after we began closing
    if (typeof event.data === "string") {
      logger.debug("text WebSocket frame refused", { address });
      ws.close(1003, "MQTT needs binary frames");
      return;
    }
    guarded(() => receive(new Uint8Array(event.data as ArrayBuffer)));
  };
  ws.onerror = (event: Event) => {
    const error = event instanceof ErrorEvent ? event.message : event.type;
    // Deno takes WebSocket messages up to 64 MiB (not configurable), then fails the connection.
    if (error === "Frame too large") logger.info("closing connection: WebSocket message too big", { address, limit: 64 << 20 });
    else logger.debug("WebSocket error", { address, error });
  };
  ws.onclose = () => notifyClose();
}

export interface WebSocketServer {
  readonly port: number;
  /** Refuse new requests; open WebSockets stay until the broker closes them. */
  stop(): void;
}

export function listenWebSocket(
  broker: Acceptor,
  host: string,
  port: number,
  path: string,
  logger: Logger,
  tls?: TlsOptions,
): WebSocketServer {
  if (tls && tls.clientCertificate !== "none") {
    throw new Error("wss on Deno: clientCertificate is not supported (Deno.serve has no client certificate options); use a tls listener");
  }
  const kind = tls ? "wss" : "ws";
  let accepting = true;
  const server = Deno.serve({
    hostname: host,
    port,
    ...(tls ? { cert: tls.cert, key: tls.key } : {}),
    onListen() {}, // main.ts logs "listening" itself
    onError(e: unknown) {
      logger.error("HTTP request failed", { error: e instanceof Error ? e.message : String(e) });
      return new Response("internal error\n", { status: 500 });
    },
  }, (req, info) => {
    if (!accepting) return new Response("shutting down\n", { status: 503 });
    const url = new URL(req.url);
    if (path !== "*" && url.pathname !== path) {
      return new Response(`MQTT over WebSocket is served at ${path}\n`, { status: 404 });
    }
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade\n", { status: 426 });
    }
    const protocol = chooseProtocol(req.headers.get("sec-websocket-protocol"));
    // Read the address first: after the upgrade `info.remoteAddr` throws "Request closed", and a
    // handler that throws after upgrading takes the whole Deno.serve listener down with it.
    const { hostname, port: remotePort } = info.remoteAddr;
    try {
      const { socket, response } = Deno.upgradeWebSocket(req, protocol ? { protocol } : {});
      attach(broker, socket, { address: hostname, port: remotePort, kind }, logger);
      return response;
    } catch (e: unknown) {
      logger.debug("WebSocket upgrade refused", {
        address: hostname,
        error: e instanceof Error ? e.message : String(e),
      });
      return new Response("bad WebSocket upgrade\n", { status: 400 });
    }
  });
  return {
    port: server.addr.port,
    // Not server.shutdown(): that closes upgraded WebSockets too (code 1001), before the core
    // could send them DISCONNECT. The listening socket goes when the process exits.
    stop: () => {
      accepting = false;
    },
  };
}
