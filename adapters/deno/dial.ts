/**
 * Dial-out on Deno (bridges): Deno.connect / Deno.connectTls for tcp/tls, the WebSocket client
 * (with an HttpClient carrying the CA and client certificate) for ws/wss.
 *
 * Deno cannot switch certificate verification off per connection (only with a process-wide flag),
 * nor check the certificate against another name than the host dialed: those two options are
 * refused with a message instead of being ignored.
 */
import type { DialedConnection, DialHandlers, DialOptions } from "../../src/mod.ts";
import { connectWebSocket, OutgoingBuffer, withTimeout } from "../../src/mod.ts";

const READ_BUFFER_BYTES = 64 * 1024;
function unsupported(tls: DialOptions["tls"], host: string): string | undefined {
  if (tls?.verify === false) return "tls.verify false is not supported on Deno: give tls.ca (the upstream's CA) instead";
  if (tls?.servername && tls.servername !== host) {
    return "tls.servername other than the URL's host is not supported on Deno: put that name in the url";
  }
  return undefined;
}

function describe(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return /certificate|UnknownIssuer|NotValidForName|invalid peer/i.test(text) ? `certificate not accepted: ${text}` : text;
}

async function connect(options: DialOptions): Promise<Deno.Conn> {
  if (options.kind === "tcp") return await Deno.connect({ hostname: options.host, port: options.port });
  const tls = options.tls;
  const conn = await Deno.connectTls({
    hostname: options.host,
    port: options.port,
    caCerts: tls?.ca ? [tls.ca] : undefined,
    ...(tls?.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
  });
  await conn.handshake(); // certificate problems surface here, not at the first read
  return conn;
}

async function dialSocket(options: DialOptions, handlers: DialHandlers): Promise<DialedConnection> {
  let pending: Deno.Conn | undefined;
  let conn: Deno.Conn;
  try {
    conn = await withTimeout(connect(options).then((c) => (pending = c)), options.timeoutMs, () => pending?.close());
  } catch (e: unknown) {
    throw new Error(`cannot connect: ${describe(e)}`, { cause: e });
  }
  let closed = false;
  const finish = (error?: string) => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch { /* already closed */ }
    handlers.onClose(error);
  };
  let writing = false;
  let written: Promise<void> = Promise.resolve();
  const waitWrite = () => written;
  const outgoing: OutgoingBuffer = new OutgoingBuffer((bytes) => {
    writing = true;
    written = (async () => {
      let offset = 0;
      while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
    })().then(() => {
      writing = false;
      outgoing.flush();
    }, (e: unknown) => finish(e instanceof Error ? e.message : String(e)));
    return -1;
  }, () => handlers.onDrain());
  (async () => {
    const buffer = new Uint8Array(READ_BUFFER_BYTES);
    while (!closed) {
      const n = await conn.read(buffer);
      if (n === null) break;
      handlers.onData(buffer.slice(0, n));
    }
  })().then(() => finish(), (e: unknown) => finish(e instanceof Error ? e.message : String(e)));
  return {
    write: (bytes) => outgoing.push(bytes),
    get pendingBytes() {
      return outgoing.pendingBytes + (writing ? 1 : 0);
    },
    close: () => {
      // Flush what was written (a DISCONNECT) then close; a peer that does not read gets 2 s.
      const shut = () => {
        clearTimeout(force);
        closed = true;
        try {
          conn.close();
        } catch { /* already closed */ }
      };
      const force = setTimeout(shut, 2000);
      outgoing.end(() => (writing ? waitWrite().then(shut) : shut()));
    },
  };
}

function dialWebSocket(options: DialOptions, handlers: DialHandlers): Promise<DialedConnection> {
  const scheme = options.kind === "wss" ? "wss" : "ws";
  const url = `${scheme}://${options.host}:${options.port}${options.path}`;
  const tls = options.tls;
  const client = options.kind === "wss" && (tls?.ca || tls?.cert)
    ? Deno.createHttpClient({
      caCerts: tls.ca ? [tls.ca] : undefined,
      ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
    })
    : undefined;
  const ws = new WebSocket(url, { protocols: ["mqtt"], client });
  return connectWebSocket(ws, handlers, { timeoutMs: options.timeoutMs, describeError: describe, onClosed: () => client?.close() });
}

export function dial(options: DialOptions, handlers: DialHandlers): Promise<DialedConnection> {
  const refusal = options.kind === "tls" || options.kind === "wss" ? unsupported(options.tls, options.host) : undefined;
  if (refusal) return Promise.reject(new Error(refusal));
  return options.kind === "ws" || options.kind === "wss" ? dialWebSocket(options, handlers) : dialSocket(options, handlers);
}
