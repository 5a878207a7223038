/**
 * Transport port: one network connection as the core sees it.
 * Adapters (Bun, Deno; TCP, TLS, WebSocket) implement it; the core never touches a socket.
 */
export type TransportKind = "tcp" | "tls" | "ws" | "wss";

export interface RemoteInfo {
  readonly address: string;
  readonly port: number;
  readonly kind: TransportKind;
  /** tls/wss with client certificates: what the peer presented (absent when it sent none). */
  readonly certificate?: {
    /** The certificate chains to the listener's `ca`. */
    readonly authorized: boolean;
    /** The subject's Common Name. */
    readonly commonName?: string;
  };
}

export interface Transport {
  readonly remote: RemoteInfo;
  /**
   * Queue bytes for sending. Returns false when the adapter's outgoing buffer is above its
   * high-water mark: the core then stops reading from this client and sends only what it must
   * until `onDrain` is called. The adapter never drops bytes it accepted.
   */
  write(bytes: Uint8Array): boolean;
  /** Stop delivering `onData` (backpressure, throttling) until `resumeReading`. */
  pauseReading(): void;
  resumeReading(): void;
  /** Close after flushing what was already written. Idempotent. */
  close(): void;
  /**
   * Bytes the socket has taken so far, and bytes accepted by `write` it has not taken yet. Optional:
   * they tell a client that reads slowly (the count moves) from one that stopped; without them the
   * core can only go by time.
   */
  sentBytes?(): number;
  backlogBytes?(): number;
}

/**
 * What the core gives back for a connection: the adapter calls these as events happen, as methods
 * of this object (they are not bound: the core's connection object is its own events object).
 */
export interface ConnectionEvents {
  onData(bytes: Uint8Array): void;
  /** The outgoing buffer went below its low-water mark after `write` returned false. */
  onDrain(): void;
  /** The connection is gone (either side closed it, or an error). Called once. */
  onClose(): void;
}
