/**
 * MQTT over TLS on Deno, through Deno's node:tls.
 *
 * Why not Deno.listenTls (Deno 2.9.6): it has no options for client certificates, and its TlsConn
 * has no setNoDelay, so Nagle's algorithm meets the client's delayed ACK (measured: ~44 ms per
 * write-write-read round against ~3 ms here). node:tls has client certificates (requestCert,
 * rejectUnauthorized, ca, getPeerCertificate), setNoDelay, and swaps the certificate of a
 * listening server (setSecureContext), so SIGHUP needs no re-listen. Node sockets push: data and
 * drain events, write() false = wait for drain, pause()/resume() throttle reads.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { createServer, type TLSSocket } from "node:tls";
import type { Acceptor, ConnectionEvents, Listener, Logger, RemoteInfo, TlsOptions, Transport } from "../../src/mod.ts";
import { OutgoingBuffer } from "../../src/mod.ts";

const CLOSE_GRACE_MS = 2000;
/** A client that opens a socket and never finishes the TLS handshake does not hold it longer. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * node:tls in Deno takes a garbage certificate or a key of another certificate without a word
 * (createServer, setSecureContext) and fails each handshake later: check them first.
 */
function secureContextOptions(tls: TlsOptions) {
  if (!new X509Certificate(tls.cert).checkPrivateKey(createPrivateKey(tls.key))) {
    throw new Error("the key does not belong to the certificate");
  }
  if (tls.ca !== undefined) new X509Certificate(tls.ca);
  return { cert: tls.cert, key: tls.key, ca: tls.ca };
}

/** The client certificate as the core sees it: absent when the client sent none. */
function peerCertificate(socket: TLSSocket): RemoteInfo["certificate"] {
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  const cn: string | string[] | undefined = cert.subject.CN;
  return { authorized: socket.authorized, commonName: Array.isArray(cn) ? cn[0] : cn };
}

function serveSocket(broker: Acceptor, socket: TLSSocket, tls: TlsOptions, logger: Logger): void {
  let events: ConnectionEvents | undefined;
  let closing = false;
  const outgoing = new OutgoingBuffer(
    (bytes) => (socket.destroyed ? bytes.length : socket.write(bytes) ? bytes.length : -1),
    () => events?.onDrain(),
  );
  const remote: RemoteInfo = {
    address: socket.remoteAddress ?? "",
    port: socket.remotePort ?? 0,
    kind: "tls",
    certificate: tls.clientCertificate === "none" ? undefined : peerCertificate(socket),
  };
  const transport: Transport = {
    remote,
    write: (bytes) => outgoing.push(bytes),
    sentBytes: () => outgoing.sentBytes,
    backlogBytes: () => outgoing.backlogBytes,
    pauseReading: () => void socket.pause(),
    resumeReading: () => void socket.resume(),
    close: () => {
      if (closing) return;
      closing = true;
      // A peer that never reads cannot hold the socket open past the grace time.
      const force = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      outgoing.end(() => socket.end(() => clearTimeout(force)));
    },
  };
  const finish = () => {
    const e = events;
    events = undefined;
    e?.onClose();
  };
  if (remote.certificate) {
    logger.debug("client certificate", { address: remote.address, port: remote.port, ...remote.certificate });
  }
  socket.setNoDelay(true);
  socket.on("data", (bytes: Uint8Array) => events?.onData(bytes));
  socket.on("drain", () => outgoing.flush());
  socket.on("error", (e: Error) => logger.debug("socket error", { address: remote.address, error: e.message }));
  socket.on("close", finish);
  events = broker.accept(transport);
}

export function listenTls(
  broker: Acceptor,
  host: string,
  port: number,
  logger: Logger,
  tls: TlsOptions,
): Promise<Listener> {
  const server = createServer({
    ...secureContextOptions(tls),
    requestCert: tls.clientCertificate !== "none",
    // "require": the handshake fails for a client without a certificate signed by `ca`.
    rejectUnauthorized: tls.clientCertificate === "require",
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  }, (socket) => {
    try {
      serveSocket(broker, socket, tls, logger);
    } catch (e: unknown) {
      logger.error("connection failed", { error: e instanceof Error ? e.message : String(e) });
      socket.destroy();
    }
  });
  server.on("tlsClientError", (e: Error, socket: TLSSocket) => {
    logger.debug("TLS handshake failed", { address: socket.remoteAddress, error: e.message });
    socket.destroy(); // Deno leaves the socket open after a handshake timeout
  });
  // node:net binds asynchronously: wait for "listening" (or the bind error) before answering.
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      server.on("error", (e: Error) => logger.error("TLS listener failed", { error: e.message }));
      const address = server.address();
      resolve({
        port: typeof address === "object" && address ? address.port : port,
        stop: () => void server.close(),
        reloadTls: (next: TlsOptions) => server.setSecureContext(secureContextOptions(next)),
      });
    });
  });
}
