/**
 * Dial-out on Bun (bridges): Bun.connect for tcp/tls, the WebSocket client for ws/wss (Bun's
 * WebSocket takes TLS options, so a private CA and client certificates work for wss too).
 */
import type { Socket } from "bun";
import type { DialedConnection, DialHandlers, DialOptions } from "../../src/mod.ts";
import { connectWebSocket, OutgoingBuffer, withTimeout } from "../../src/mod.ts";

function tlsOptions(tls: NonNullable<DialOptions["tls"]>, host: string) {
  return {
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    serverName: tls.servername ?? host,
    rejectUnauthorized: tls.verify,
  };
}

interface State {
  handlers: DialHandlers;
  outgoing?: OutgoingBuffer;
  closed?: boolean;
}

function dialSocket(options: DialOptions, handlers: DialHandlers): Promise<DialedConnection> {
  const secure = options.kind === "tls";
  let socketRef: Socket<State> | undefined;
  const connected = new Promise<DialedConnection>((resolve, reject) => {
    const finish = (socket: Socket<State>, error?: string) => {
      if (socket.data.closed) return;
      socket.data.closed = true;
      handlers.onClose(error);
    };
    const ready = (socket: Socket<State>) => {
      const outgoing = new OutgoingBuffer((bytes) => socket.write(bytes), () => handlers.onDrain());
      socket.data.outgoing = outgoing;
      resolve({
        write: (bytes) => outgoing.push(bytes),
        get pendingBytes() {
          return outgoing.pendingBytes;
        },
        close: () => {
          // Flush what was written (a DISCONNECT) then end; a peer that does not read gets 2 s.
          socket.data.closed = true;
          const force = setTimeout(() => socket.terminate(), 2000);
          outgoing.end(() => {
            clearTimeout(force);
            socket.end();
          });
        },
      });
    };
    Bun.connect<State>({
      hostname: options.host,
      port: options.port,
      tls: secure && options.tls ? tlsOptions(options.tls, options.host) : secure,
      data: { handlers },
      socket: {
        open(socket) {
          socketRef = socket;
          if (!secure) ready(socket);
        },
        handshake(socket, success, authorizationError) {
          if (!success || (options.tls?.verify !== false && authorizationError)) {
            const why = authorizationError ? String(authorizationError.message ?? authorizationError) : "TLS handshake failed";
            reject(new Error(`certificate not accepted: ${why}`));
            socket.data.closed = true;
            socket.terminate();
            return;
          }
          ready(socket);
        },
        data(socket, bytes) {
          socket.data.handlers.onData(bytes);
        },
        drain(socket) {
          socket.data.outgoing?.flush();
        },
        close(socket) {
          reject(new Error("connection closed during the handshake"));
          finish(socket);
        },
        error(socket, error) {
          reject(error);
          finish(socket, error.message);
        },
        connectError(_socket, error) {
          reject(new Error(`cannot connect: ${error.message}`));
        },
      },
    }).catch((e: unknown) => reject(new Error(`cannot connect: ${e instanceof Error ? e.message : String(e)}`)));
  });
  return withTimeout(connected, options.timeoutMs, () => socketRef?.terminate());
}

function dialWebSocket(options: DialOptions, handlers: DialHandlers): Promise<DialedConnection> {
  const scheme = options.kind === "wss" ? "wss" : "ws";
  const url = `${scheme}://${options.host}:${options.port}${options.path}`;
  const ws = new WebSocket(url, {
    protocols: ["mqtt"],
    tls: options.kind === "wss" && options.tls ? tlsOptions(options.tls, options.host) : undefined,
  } as unknown as string[]);
  return connectWebSocket(ws, handlers, { timeoutMs: options.timeoutMs });
}

export function dial(options: DialOptions, handlers: DialHandlers): Promise<DialedConnection> {
  return options.kind === "ws" || options.kind === "wss" ? dialWebSocket(options, handlers) : dialSocket(options, handlers);
}
