/**
 * MQTT over WebSocket (or WSS) on Bun (Bun.serve + upgrade), with the `mqtt` subprotocol.
 *
 * Client certificates: Bun.serve checks them in the handshake, but shows a request nothing of the
 * peer's certificate (Bun 1.4.5). So "require" works (a connection implies a certificate signed by
 * `ca`, whose Common Name we cannot see) and "request" is refused at start: we could not tell
 * a verified certificate from a missing or foreign one.
 */
import type { Server, ServerWebSocket } from "bun";
import type { Acceptor, ConnectionEvents, Logger, RemoteInfo, TlsOptions, Transport } from "../../src/mod.ts";
import { OutgoingBuffer } from "../../src/mod.ts";
import { bunTlsOptions } from "./tls.ts";

/** Largest WebSocket message taken (Bun closes with 1009 beyond it); MQTT packets are framed inside. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

interface WsState {
  events?: ConnectionEvents;
  outgoing?: OutgoingBuffer;
  address: string;
  port: number;
  protocols: string;
}

/** Pick the subprotocol to answer with: "mqtt" when offered (or "mqttv3.1" for old clients). */
function chooseProtocol(offered: string | null): string | undefined {
  const list = (offered ?? "").split(",").map((p) => p.trim()).filter(Boolean);
  return list.find((p) => p === "mqtt") ?? list.find((p) => p === "mqttv3.1");
}

export function listenWebSocket(
  broker: Acceptor,
  host: string,
  port: number,
  path: string,
  logger: Logger,
  tls?: TlsOptions,
): Server<WsState> {
  if (tls?.clientCertificate === "request") {
    throw new Error('wss on Bun: clientCertificate "request" is not supported (Bun.serve does not show the client certificate); use "require" or a tls listener');
  }
  if (tls?.needsCommonName) {
    throw new Error("wss on Bun: useCertificateCnAsUsername is not supported (Bun.serve does not show the client certificate); use a tls listener");
  }
  const kind = tls ? "wss" : "ws";
  const certificate: RemoteInfo["certificate"] = tls?.clientCertificate === "require" ? { authorized: true } : undefined;
  return Bun.serve<WsState>({
    hostname: host,
    port,
    tls: tls ? bunTlsOptions(tls) : undefined,
    fetch(req, server) {
      const url = new URL(req.url);
      if (path !== "*" && url.pathname !== path) {
        return new Response(`MQTT over WebSocket is served at ${path}\n`, { status: 404 });
      }
      const protocol = chooseProtocol(req.headers.get("sec-websocket-protocol"));
      const remote = server.requestIP(req);
      const upgraded = server.upgrade(req, {
        headers: protocol ? { "Sec-WebSocket-Protocol": protocol } : undefined,
        data: { address: remote?.address ?? "", port: remote?.port ?? 0, protocols: protocol ?? "" },
      });
      return upgraded ? undefined : new Response("expected a WebSocket upgrade\n", { status: 426 });
    },
    websocket: {
      maxPayloadLength: MAX_MESSAGE_BYTES,
      backpressureLimit: 1 << 20,
      closeOnBackpressureLimit: false,
      open(ws: ServerWebSocket<WsState>) {
        const outgoing = new OutgoingBuffer((bytes) => {
          const sent = ws.send(bytes);
          // -1: queued by Bun, wait for drain; 0: dropped, keep it and retry on drain.
          return sent === -1 ? -1 : sent === 0 ? 0 : bytes.length;
        }, () => ws.data.events?.onDrain());
        const transport: Transport = {
          remote: { address: ws.data.address, port: ws.data.port, kind, certificate },
          write: (bytes) => outgoing.push(bytes),
          sentBytes: () => outgoing.sentBytes,
          backlogBytes: () => outgoing.backlogBytes,
          pauseReading: () => {},
          resumeReading: () => {},
          close: () => {
            const force = setTimeout(() => ws.terminate(), 2000);
            outgoing.end(() => {
              clearTimeout(force);
              ws.close();
            });
          },
        };
        ws.data.outgoing = outgoing;
        ws.data.events = broker.accept(transport);
      },
      message(ws, message) {
        if (typeof message === "string") {
          logger.debug("text WebSocket frame refused", { address: ws.data.address });
          ws.close(1003, "MQTT needs binary frames");
          return;
        }
        ws.data.events?.onData(message);
      },
      drain(ws) {
        ws.data.outgoing?.flush();
      },
      close(ws, _code, reason) {
        // Bun reports its own refusal of an oversized message as 1006 with this reason.
        if (reason === "Received too big message") {
          logger.info("closing connection: WebSocket message too big", { address: ws.data.address, limit: MAX_MESSAGE_BYTES });
        }
        ws.data.events?.onClose();
      },
    },
  });
}
