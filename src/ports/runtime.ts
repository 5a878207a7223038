/**
 * The runtime port: what each adapter (Bun, Deno) hands the process in src/app (serve): printing,
 * signals, listeners, the store, the admin HTTP server, the machine (files, users, a password
 * prompt), dialing out, and the console's files. src/ is written against these and never touches a
 * runtime API itself.
 */
import type { Broker } from "../core/broker-api.ts";
import type { PersistenceConfig } from "../config/schema.ts";
import type { Store } from "../store/types.ts";
import type { Dial } from "./dial.ts";
import type { LogFields, Logger } from "./logger.ts";

/**
 * What a listener needs of the broker: hand it each new connection, and log listener-level trouble
 * (a failed accept) under one process-wide bound, so a storm of failures cannot flood the journal. Optional so a test can pass a bare `accept`.
 */
export type Acceptor = Pick<Broker, "accept"> & {
  logBounded?(level: "info" | "warn", msg: string, fields: LogFields): void;
};

export interface Listener {
  /** The bound port (useful when 0 was asked for). */
  readonly port: number;
  /** Stop accepting new connections; connected clients stay until the broker closes them. */
  stop(): void;
  /** tls/wss: new connections get this certificate; connected clients keep theirs. Throws when unusable. */
  reloadTls?(tls: TlsOptions): void;
}

/** Serves one HTTP request; `env.remoteAddress` is the peer's address (login rate limit, audit log). */
export type Fetch = (request: Request, env?: { remoteAddress?: string }) => Response | Promise<Response>;

export interface RuntimeAdapter extends CommandIo {
  /** e.g. "bun 1.4.5", shown in logs and $SYS/broker/version. */
  readonly name: string;
  readonly args: readonly string[];
  /** Write text completely and synchronously (log lines must not be lost at exit). */
  print(stream: "stdout" | "stderr", text: string): void;
  exit(code: number): never;
  onSignal(signal: "SIGTERM" | "SIGINT" | "SIGHUP", handler: () => void): void;
  /** MQTT over TCP, or over TLS when `tls` is given (throws when the runtime cannot do what `tls` asks). */
  listenTcp(broker: Acceptor, host: string, port: number, logger: Logger, tls?: TlsOptions): Listener | Promise<Listener>;
  /** MQTT over WebSocket, or over WSS when `tls` is given. */
  listenWebSocket(
    broker: Acceptor,
    host: string,
    port: number,
    path: string,
    logger: Logger,
    tls?: TlsOptions,
  ): Listener | Promise<Listener>;
  /** Open the durable store (sqlite or libsql; "memory" is handled here). */
  openStore(persistence: PersistenceConfig): Promise<Store>;
  /** All of standard input as text (passwords for `gannet user add` and `user hash`). */
  readStdin(): Promise<string>;
  /** Serve the admin app over HTTP, or HTTPS with `tls` (PEM text). */
  serveHttp(fetch: Fetch, host: string, port: number, tls?: { cert: string; key: string }): Listener;
  /** The process's soft limit on open files (RLIMIT_NOFILE), when the runtime can tell; it bounds connections. */
  openFilesLimit?(): number | undefined;
  /** Outgoing connections for bridges (tcp, tls, ws, wss). */
  dial?: Dial;
  /** CPU time and memory of this process (the overview, /metrics). */
  processStats?(): ProcessStats;
  /** Reads the console's files (web/): from the disk from source, from inside the executable when compiled. */
  readonly assets: AssetReader;
  /**
   * Tells systemd (Type=notify, $NOTIFY_SOCKET) the process's state, e.g. ["READY=1"]; absent when
   * no service manager listens. Rejects with the reason when the message could not be sent.
   */
  notifyServiceManager?(fields: readonly string[]): Promise<void>;
}

export interface CommandIo extends FileSystem, Host {
  readonly env: Readonly<Record<string, string | undefined>>;
  print(stream: "stdout" | "stderr", text: string): void;
}

export interface FileSystem {
  /** The file's text, or undefined when it does not exist (other failures throw). */
  readTextFile(path: string): string | undefined;
}

/**
 * What the commands and the start need to know about the machine, beyond reading files: who runs
 * this process, who owns a file, whether a path can be written, changing a file's owner, checking
 * that a certificate and a key belong together, and a password prompt without echo. Each adapter
 * implements it with its runtime's file system and crypto; src/ stays runtime-neutral.
 */
export interface PathStat {
  isDirectory: boolean;
  uid: number;
  gid: number;
  /** Permission bits (e.g. 0o640). */
  mode: number;
}

export interface Host {
  /** The current working directory (relative paths given on the command line resolve against it). */
  cwd(): string;
  /** The real user id of this process (0: root). */
  uid(): number;
  /** Owner and kind of `path`; undefined when it does not exist (other failures throw). */
  stat(path: string): PathStat | undefined;
  /** undefined when this process may read (or write) `path`, else the system's reason (EACCES, EROFS, ...). */
  access(path: string, mode: "read" | "write"): string | undefined;
  chown(path: string, uid: number, gid: number): void;
  /** undefined when the PEM certificate and PEM private key belong together, else why not. */
  checkKeyPair(certPem: string, keyPem: string): string | undefined;
  /**
   * On a terminal: writes `prompt` to it and reads one line without echo. Undefined when standard
   * input is not a terminal (then the caller reads a line from the pipe).
   */
  readSecret(prompt: string): Promise<string | undefined>;
}

/** PEM text, not paths: adapters never read files themselves. */
export interface TlsOptions {
  cert: string;
  key: string;
  /** The CAs that sign client certificates. */
  ca?: string;
  clientCertificate: "none" | "request" | "require";
  /** useCertificateCnAsUsername: the adapter must read the client certificate's CN (or refuse to start). */
  needsCommonName: boolean;
}

/** The bytes of `web/<path>` (path without a leading slash), or undefined when there is no such file. */
export type AssetReader = (path: string) => Promise<Uint8Array | undefined>;

export interface ProcessStats {
  /** User + system CPU seconds since start. */
  cpuSeconds: number;
  /** Resident memory in bytes. */
  residentBytes: number;
  /** JavaScript heap in use, bytes. */
  heapBytes?: number;
  platform: string;
}
