/**
 * Per-connection outgoing byte queue shared by the adapters.
 *
 * Why: writing one syscall per packet is what keeps Mosquitto's fan-out busy; here every packet
 * written during one event-loop turn is coalesced into a single sink write (flushed on a
 * microtask). It also carries the backpressure contract of the Transport port: `push` returns
 * false once more than `highWaterMark` bytes wait, and `onWritable` is called once the queue
 * has fallen below the low-water mark again, whether that happened in the same tick (the socket
 * took everything) or later, when the adapter calls `flush` on the socket's drain event.
 *
 * `sentBytes` and `backlogBytes` tell the core whether a client above the high-water mark is still
 * reading (the count of bytes the socket took moves) or has stopped: bytes a sink took with -1 count
 * as sent at the next `flush` (the socket's drain), or earlier through `progress` from an adapter
 * that sees its write go out piece by piece.
 */

/**
 * Hands bytes to the socket. Returns how many bytes it took: all of them (carry on), fewer
 * (the rest stays queued until the adapter calls `flush` on drain), or -1 (took them all, but
 * the socket asks to wait for drain before the next write).
 */
export type ByteSink = (bytes: Uint8Array) => number;

export class OutgoingBuffer {
  private chunks: Uint8Array[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private waitingForDrain = false;
  private signalledFull = false;
  private onEmpty: (() => void) | null = null;
  /** Bytes the socket took, in total. */
  private sent = 0;
  /** Bytes handed to a sink that answered -1 and not yet reported sent. */
  private inFlight = 0;

  constructor(
    private readonly sink: ByteSink,
    /** Called when a producer told to stop (push returned false) may write again. */
    private readonly onWritable: () => void,
    private readonly highWaterMark = 1 << 20,
    private readonly lowWaterMark = 1 << 18,
  ) {}

  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Bytes the socket has taken since the start (moves while the peer reads). */
  get sentBytes(): number {
    return this.sent;
  }

  /** Bytes accepted and not yet taken by the socket: queued here plus a write still in flight. */
  get backlogBytes(): number {
    return this.queuedBytes + this.inFlight;
  }

  /** Part of the write in flight went out (for adapters whose sink answers -1 and writes in pieces). */
  progress(bytes: number): void {
    const n = Math.min(bytes, this.inFlight);
    this.inFlight -= n;
    this.sent += n;
  }

  /** Queue bytes; false means "above the high-water mark: stop producing until drain". */
  push(bytes: Uint8Array): boolean {
    this.chunks.push(bytes);
    this.queuedBytes += bytes.length;
    if (!this.scheduled && !this.waitingForDrain) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.writeOut();
      });
    }
    if (this.queuedBytes > this.highWaterMark) this.signalledFull = true;
    return !this.signalledFull;
  }

  /** The socket can take more (its drain event): write what waits. */
  flush(): void {
    this.sent += this.inFlight; // the socket drained: what it held went out
    this.inFlight = 0;
    this.waitingForDrain = false;
    this.writeOut();
  }

  /** Run `done` once everything queued has been handed to the socket. */
  end(done: () => void): void {
    if (this.queuedBytes === 0) return done();
    this.onEmpty = done;
    if (!this.scheduled && !this.waitingForDrain) this.writeOut();
  }

  private writeOut(): void {
    while (this.chunks.length > 0 && !this.waitingForDrain) {
      const bytes = this.chunks.length === 1 ? this.chunks[0] : concat(this.chunks, this.queuedBytes);
      const taken = this.sink(bytes);
      if (taken === -1 || taken >= bytes.length) {
        this.chunks = [];
        this.queuedBytes = 0;
        if (taken === -1) {
          this.inFlight += bytes.length;
          this.waitingForDrain = true;
        } else this.sent += bytes.length;
      } else {
        this.chunks = [bytes.subarray(Math.max(0, taken))];
        this.queuedBytes = bytes.length - Math.max(0, taken);
        this.sent += Math.max(0, taken);
        this.waitingForDrain = true;
      }
    }
    if (this.queuedBytes === 0 && this.onEmpty) {
      const done = this.onEmpty;
      this.onEmpty = null;
      done();
    }
    if (this.signalledFull && this.queuedBytes <= this.lowWaterMark) {
      this.signalledFull = false;
      this.onWritable();
    }
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
