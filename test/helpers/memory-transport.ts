/**
 * A Transport (src/ports/transport.ts) with no socket: what the broker writes goes to `onWrite`,
 * what the test client sends goes to the broker's ConnectionEvents. It behaves like the adapters
 * where the core can tell: bytes sent while reading is paused are held and delivered on resume,
 * `close()` is idempotent and `onClose` is called once, a turn later (as a socket's close event).
 */
import type { ConnectionEvents, RemoteInfo, Transport } from "../../src/ports/transport.ts";

export class MemoryTransport implements Transport {
  readonly remote: RemoteInfo;
  /** The broker's side, set once `broker.accept(transport)` returned it. */
  events?: ConnectionEvents;
  /** Called with every chunk the broker writes. */
  onWrite: (bytes: Uint8Array) => void = () => {};
  /** What `write` returns: false simulates a client that is not reading (outgoing buffer full). */
  writable = true;
  private closedFlag = false;
  private paused = false;
  private held: Uint8Array[] = [];
  private closeNotified = false;

  constructor(remote: Partial<RemoteInfo> = {}) {
    this.remote = { address: "127.0.0.1", port: 50_000, kind: "tcp", ...remote };
  }

  /** Either side closed the connection. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** The broker asked to stop reading (backpressure, an async handler, throttling). */
  get readingPaused(): boolean {
    return this.paused;
  }

  // ---- the broker's side (Transport) ------------------------------------------------------

  write(bytes: Uint8Array): boolean {
    if (this.closedFlag) return true; // a closed socket swallows writes, as the adapters do
    this.onWrite(bytes);
    return this.writable;
  }

  pauseReading(): void {
    this.paused = true;
  }

  resumeReading(): void {
    this.paused = false;
    while (!this.paused && this.held.length > 0 && !this.closedFlag) this.events?.onData(this.held.shift()!);
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    queueMicrotask(() => this.notifyClose());
  }

  // ---- the client's side ------------------------------------------------------------------

  /** Bytes from the client to the broker (held while the broker paused reading). */
  send(bytes: Uint8Array): void {
    if (this.closedFlag) throw new Error("MemoryTransport: send on a closed connection");
    if (this.paused) this.held.push(bytes);
    else this.events?.onData(bytes);
  }

  /** The client's buffer drained after `writable` was false: the broker may send again. */
  drain(): void {
    this.writable = true;
    this.events?.onDrain();
  }

  /** The client drops the connection (no DISCONNECT): the broker sees the socket close. */
  drop(): void {
    this.closedFlag = true;
    this.notifyClose();
  }

  private notifyClose(): void {
    if (this.closeNotified) return;
    this.closeNotified = true;
    this.events?.onClose();
  }
}
