/**
 * MQTT over TCP on Deno: wraps each Deno.TcpConn as a core Transport with bounded, batched writes.
 *
 * Deno sockets are pulled, not pushed: one read loop per connection awaits `conn.read` into a reused
 * buffer (bytes are copied out before the core sees them). A pending read holds its buffer, so an
 * idle connection keeps a small one (1 KiB) and a busy one grows it, x4 per full read, to 64 KiB;
 * a run of small reads gives the memory back. (A fixed 64 KiB buffer was most of the 85 KiB each idle
 * connection cost.) Pausing makes that loop await a
 * gate, so a flooding client is not read from while the core pushes back. Writes go through the
 * shared OutgoingBuffer; the sink starts one async write (looped, `conn.write` may be short) and
 * answers -1, so the buffer keeps everything else queued until that write completes and we flush.
 */
import type { Acceptor, ConnectionEvents, Logger, Transport } from "../../src/mod.ts";
import { OutgoingBuffer } from "../../src/mod.ts";

const READ_BUFFER_MIN = 1024;
const READ_BUFFER_MAX = 64 * 1024;
/** Consecutive reads smaller than READ_BUFFER_MIN after which a grown buffer shrinks back. */
const SMALL_READS_TO_SHRINK = 16;
const CLOSE_GRACE_MS = 2000;
/** Back-off after the process ran out of file descriptors (EMFILE/ENFILE) or an unknown accept failure. */
const ACCEPT_RETRY_MS = 100;

/**
 * An accept that failed for that one connection only: the peer reset or went away while it waited in
 * the queue (ENOTCONN 107, ECONNABORTED 103, ECONNRESET 104). The next connection in the queue is
 * fine, so the listener goes straight on; sleeping here turned a churn of 1,000 dead connections
 * into 25 s without CONNACKs.
 */
export function isPerConnectionAcceptError(e: unknown): boolean {
  if (
    e instanceof Deno.errors.NotConnected || e instanceof Deno.errors.ConnectionAborted ||
    e instanceof Deno.errors.ConnectionReset
  ) return true;
  return e instanceof Error && /\(os error (107|103|104)\)/.test(e.message);
}

/** Errors that only mean "the peer or we went away": logged at debug, never thrown further. */
function isDisconnect(e: unknown): boolean {
  return e instanceof Deno.errors.BadResource || e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.Interrupted ||
    e instanceof Deno.errors.ConnectionAborted || e instanceof Deno.errors.NotConnected;
}

/** Write every byte, reporting each piece the socket takes (a slow reader's progress). */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array, progress: (n: number) => void): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const n = await conn.write(bytes.subarray(offset));
    offset += n;
    progress(n);
  }
}

function serveConnection(broker: Acceptor, conn: Deno.TcpConn, logger: Logger): void {
  let events: ConnectionEvents | undefined;
  let finished = false; // socket closed and onClose due (exactly once)
  let closing = false; // transport.close() was called
  let force: ReturnType<typeof setTimeout> | undefined;
  const reading: { gate: PromiseWithResolvers<void> | null } = { gate: null }; // gate set while paused
  const whilePaused = async () => {
    while (reading.gate && !finished) await reading.gate.promise;
  };
  let writing: Promise<void> | null = null; // the write in progress, if any

  const notifyClose = () => {
    const e = events;
    events = undefined;
    try {
      e?.onClose();
    } catch (error: unknown) {
      logger.error("onClose failed", { error: error instanceof Error ? error.message : String(error) });
    }
  };
  /** Release the socket and tell the core, once, whatever ended the connection. */
  const finish = (reason?: unknown) => {
    if (finished) return;
    finished = true;
    if (force !== undefined) clearTimeout(force);
    if (reason !== undefined) {
      if (isDisconnect(reason)) logger.debug("socket error", { error: String(reason) });
      else logger.error("connection failed", { error: reason instanceof Error ? reason.message : String(reason) });
    }
    try {
      conn.close();
    } catch { /* already closed */ }
    reading.gate?.resolve(); // let a paused read loop see the end
    notifyClose();
  };

  const outgoing = new OutgoingBuffer((bytes) => {
    if (finished) return bytes.length; // nobody to send to: discard
    writing = writeAll(conn, bytes, (n) => outgoing.progress(n)).then(() => {
      writing = null; // flush() may start the next write right away
      if (!finished) outgoing.flush();
    }).catch((e: unknown) => {
      writing = null;
      finish(e); // a write error, or a throw from the core's onDrain: never an unhandled rejection
    });
    return -1;
  }, () => events?.onDrain());

  const transport: Transport = {
    remote: { address: conn.remoteAddr.hostname, port: conn.remoteAddr.port, kind: "tcp" },
    write: (bytes) => outgoing.push(bytes),
    sentBytes: () => outgoing.sentBytes,
    backlogBytes: () => outgoing.backlogBytes,
    pauseReading: () => {
      reading.gate ??= Promise.withResolvers<void>();
    },
    resumeReading: () => {
      reading.gate?.resolve();
      reading.gate = null;
    },
    close: () => {
      if (closing || finished) return;
      closing = true;
      // A peer that never reads cannot hold the socket open past the grace time.
      force = setTimeout(() => finish(), CLOSE_GRACE_MS);
      // end() fires once the queue is handed over; the last write may still be in flight.
      outgoing.end(async () => {
        while (writing) await writing;
        finish();
      });
    },
  };

  try {
    conn.setNoDelay(true);
    events = broker.accept(transport);
  } catch (e: unknown) {
    finish(e);
    return;
  }
  if (finished) return notifyClose(); // closed synchronously inside accept()

  void (async () => {
    let buf = new Uint8Array(READ_BUFFER_MIN);
    let smallReads = 0;
    try {
      while (!finished) {
        if (reading.gate) await whilePaused();
        if (finished) break;
        const n = await conn.read(buf);
        if (n === null) break;
        const bytes = buf.slice(0, n);
        if (n === buf.length && buf.length < READ_BUFFER_MAX) {
          buf = new Uint8Array(Math.min(READ_BUFFER_MAX, buf.length * 4)); // more was waiting: read more per call
          smallReads = 0;
        } else if (n < READ_BUFFER_MIN && buf.length > READ_BUFFER_MIN && ++smallReads >= SMALL_READS_TO_SHRINK) {
          buf = new Uint8Array(READ_BUFFER_MIN); // quiet again
          smallReads = 0;
        } else if (n >= READ_BUFFER_MIN) smallReads = 0;
        if (reading.gate) await whilePaused(); // a pause that came while the read was pending
        if (finished) break;
        events?.onData(bytes);
      }
      finish();
    } catch (e: unknown) {
      finish(finished ? undefined : e);
    }
  })();
}

export interface TcpServer {
  readonly port: number;
  /** Stop accepting; open connections stay until the broker closes them. */
  stop(): void;
}

/** Log a failed accept under the broker's bound on connection lines when the acceptor offers one. */
export function logAcceptFailure(broker: Acceptor, logger: Logger, e: unknown, retry: "now" | "after back-off"): void {
  const fields = { error: e instanceof Error ? e.message : String(e), retry };
  const msg = retry === "now"
    ? "accept failed: the connection went away while queued; accepting the next one"
    : `accept failed: backing off ${ACCEPT_RETRY_MS} ms (out of file descriptors? raise the open files limit or lower mqtt.maxConnections)`;
  if (broker.logBounded) broker.logBounded(retry === "now" ? "info" : "warn", msg, fields);
  else logger.warn(msg, fields);
}

export function listenTcp(broker: Acceptor, host: string, port: number, logger: Logger): TcpServer {
  const listener = Deno.listen({ hostname: host, port, transport: "tcp" });
  let stopped = false;
  void (async () => {
    while (!stopped) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (e: unknown) {
        if (stopped || e instanceof Deno.errors.BadResource) break;
        if (isPerConnectionAcceptError(e)) {
          logAcceptFailure(broker, logger, e, "now");
          continue;
        }
        // EMFILE/ENFILE (or anything unknown): back off instead of spinning or giving up the listener.
        logAcceptFailure(broker, logger, e, "after back-off");
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
        continue;
      }
      serveConnection(broker, conn, logger);
    }
  })();
  return {
    port: listener.addr.port,
    stop: () => {
      if (stopped) return;
      stopped = true;
      try {
        listener.close();
      } catch { /* already closed */ }
    },
  };
}
