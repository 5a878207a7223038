/**
 * The parts of dialing out (bridges) that both adapters share: a timeout on connecting, and an
 * outgoing connection over the standard WebSocket client, whose construction is runtime-specific
 * (TLS options differ) but whose use is not.
 */
import type { DialedConnection, DialHandlers } from "../ports/dial.ts";

/** Bytes buffered in a WebSocket before write() says "wait for onDrain". */
const WS_HIGH_WATER = 1 << 20;

/** `promise`, or a rejection "timed out after N ms" (calling `onTimeout` first) when it takes longer. */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`timed out after ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface WebSocketDialOptions {
  timeoutMs: number;
  /** Turns the runtime's error text into an operator's words (e.g. certificate problems). */
  describeError?: (message: string) => string;
  /** Called once the socket is closed, from either side (release a per-connection HTTP client). */
  onClosed?: () => void;
}

/** A DialedConnection over `ws` (created by the adapter with its TLS options), once it is open. */
export function connectWebSocket(ws: WebSocket, handlers: DialHandlers, options: WebSocketDialOptions): Promise<DialedConnection> {
  const describe = options.describeError ?? ((m: string) => m);
  ws.binaryType = "arraybuffer";
  let open = false;
  let closed = false;
  let drainTimer: ReturnType<typeof setInterval> | undefined;
  const connected = new Promise<DialedConnection>((resolve, reject) => {
    ws.onopen = () => {
      open = true;
      resolve({
        write: (bytes) => {
          ws.send(bytes);
          if (ws.bufferedAmount <= WS_HIGH_WATER) return true;
          // WebSocket has no drain event: poll bufferedAmount until it is low again.
          drainTimer ??= setInterval(() => {
            if (ws.bufferedAmount > WS_HIGH_WATER / 4) return;
            clearInterval(drainTimer);
            drainTimer = undefined;
            handlers.onDrain();
          }, 10);
          return false;
        },
        get pendingBytes() {
          return ws.bufferedAmount;
        },
        close: () => {
          closed = true;
          clearInterval(drainTimer);
          ws.close();
          options.onClosed?.();
        },
      });
    };
    ws.onmessage = (event) => handlers.onData(new Uint8Array(event.data as ArrayBuffer));
    ws.onerror = (event) => {
      if (!open) reject(new Error(`cannot connect: ${describe((event as ErrorEvent).message || "WebSocket error")}`));
    };
    ws.onclose = (event) => {
      clearInterval(drainTimer);
      if (!open) return reject(new Error(`cannot connect: WebSocket closed (${event.code} ${event.reason})`.trim()));
      if (closed) return;
      closed = true;
      options.onClosed?.();
      handlers.onClose(event.code === 1000 ? undefined : `WebSocket closed (${event.code})`);
    };
  });
  return withTimeout(connected, options.timeoutMs, () => ws.close());
}
