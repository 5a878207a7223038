/**
 * Dial-out port: an outgoing connection to another broker (bridges). Each adapter implements it
 * with its runtime's sockets (TCP, TLS) and WebSocket client (ws, wss); the bridge sees bytes only.
 */
export type DialKind = "tcp" | "tls" | "ws" | "wss";

export interface DialOptions {
  kind: DialKind;
  host: string;
  port: number;
  /** ws/wss: the HTTP path, e.g. "/mqtt". */
  path: string;
  /** tls/wss. PEM texts (not file names): the caller reads the files so errors name them. */
  tls?: { ca?: string; cert?: string; key?: string; servername?: string; verify: boolean };
  /** Give up when the connection (and TLS handshake) is not up within this many milliseconds. */
  timeoutMs: number;
}

export interface DialHandlers {
  onData(bytes: Uint8Array): void;
  /** Bytes written earlier have left the process's buffer (after write returned false). */
  onDrain(): void;
  /** The connection is gone; called once, with the error when there was one. */
  onClose(error?: string): void;
}

export interface DialedConnection {
  /** Queue bytes; false = above the high-water mark, wait for onDrain. Never drops bytes. */
  write(bytes: Uint8Array): boolean;
  /** Bytes accepted by `write` not yet handed to the operating system (write-stall detection). */
  readonly pendingBytes: number;
  close(): void;
}

/**
 * Open a connection. Rejects with an Error whose message says what failed in an operator's words
 * ("connection refused", "certificate ...", "timed out after 5000 ms").
 */
export type Dial = (options: DialOptions, handlers: DialHandlers) => Promise<DialedConnection>;
