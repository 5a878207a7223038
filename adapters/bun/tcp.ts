/**
 * MQTT over TCP or TLS on Bun: wraps each Bun socket as a core Transport with bounded, batched writes.
 *
 * TLS: Bun calls `open` before the handshake, so a TLS connection is handed to the core only from
 * `handshake`, once the client certificate (if any) has been checked against `ca`.
 */
import type { Socket, TCPSocketListener } from "bun";
import type { Acceptor, ConnectionEvents, Logger, RemoteInfo, TlsOptions, Transport } from "../../src/mod.ts";
import { OutgoingBuffer } from "../../src/mod.ts";
import { bunTlsOptions } from "./tls.ts";

/**
 * The socket's outgoing buffer. Its sink and drain callbacks are shared functions that reach the
 * socket through `state` (OutgoingBuffer calls them as its methods): two closures and their scope
 * fewer per connection than arrow functions (about 110 bytes, issue 14).
 */
class SocketBuffer extends OutgoingBuffer {
  constructor(readonly state: SocketState) {
    super(writeToSocket, socketWritable);
  }
}

function writeToSocket(this: SocketBuffer, bytes: Uint8Array): number {
  return this.state.socket.write(bytes);
}

function socketWritable(this: SocketBuffer): void {
  this.state.events?.onDrain();
}

/**
 * One connection's state, kept as the socket's `data` and handed to the core as its Transport: a
 * class, so its methods cost nothing per connection (an object of closures cost about a kilobyte
 * of each idle connection, issue 14).
 */
class SocketState implements Transport {
  events?: ConnectionEvents;
  readonly outgoing: OutgoingBuffer;

  constructor(readonly socket: Socket<SocketState | undefined>, readonly remote: RemoteInfo) {
    this.outgoing = new SocketBuffer(this);
  }

  write(bytes: Uint8Array): boolean {
    return this.outgoing.push(bytes);
  }

  sentBytes(): number {
    return this.outgoing.sentBytes;
  }

  backlogBytes(): number {
    return this.outgoing.backlogBytes;
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Flush then end; a peer that never reads cannot hold the socket open past the grace time. */
  close(): void {
    const socket = this.socket;
    const force = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
    this.outgoing.end(() => {
      clearTimeout(force);
      socket.end();
    });
  }
}

const CLOSE_GRACE_MS = 2000;
/** A client that opens a socket and never finishes the TLS handshake does not hold it longer. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

function accept(broker: Acceptor, socket: Socket<SocketState | undefined>, remote: RemoteInfo): void {
  const state = new SocketState(socket, remote);
  socket.data = state;
  state.events = broker.accept(state);
}

/** The client certificate as the core sees it: absent when the client sent none. */
function peerCertificate(socket: Socket<SocketState | undefined>): RemoteInfo["certificate"] {
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  const cn = cert.subject.CN;
  return { authorized: socket.authorized, commonName: Array.isArray(cn) ? cn[0] : cn };
}

export function listenTcp(
  broker: Acceptor,
  host: string,
  port: number,
  logger: Logger,
  tls?: TlsOptions,
): TCPSocketListener<SocketState | undefined> {
  const address = (socket: Socket<SocketState | undefined>) => ({ address: socket.remoteAddress, port: socket.remotePort ?? 0 });
  return Bun.listen<SocketState | undefined>({
    hostname: host,
    port,
    tls: tls ? bunTlsOptions(tls) : undefined,
    socket: {
      open(socket) {
        if (!tls) return accept(broker, socket, { ...address(socket), kind: "tcp" });
        setTimeout(() => {
          if (socket.data?.events) return; // handed to the core; terminate() is a no-op on a closed socket
          logger.debug("TLS handshake timed out", address(socket));
          socket.terminate();
        }, HANDSHAKE_TIMEOUT_MS);
      },
      handshake(socket, success, authorizationError) {
        if (!success || (tls?.clientCertificate === "require" && !socket.authorized)) {
          logger.debug("TLS handshake failed", { ...address(socket), error: String(authorizationError ?? "") });
          socket.terminate();
          return;
        }
        const certificate = tls?.clientCertificate === "none" ? undefined : peerCertificate(socket);
        if (certificate) logger.debug("client certificate", { ...address(socket), ...certificate });
        accept(broker, socket, { ...address(socket), kind: "tls", certificate });
      },
      data(socket, bytes) {
        socket.data?.events?.onData(bytes);
      },
      drain(socket) {
        socket.data?.outgoing?.flush();
      },
      close(socket) {
        socket.data?.events?.onClose();
      },
      error(socket, error) {
        logger.debug("socket error", { error: String(error) });
        socket.data?.events?.onClose();
      },
    },
  });
}
