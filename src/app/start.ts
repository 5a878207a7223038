/** Starting the parts of the process: the store, the admin HTTP port and the MQTT listeners. */
import type { Management } from "../admin/mod.ts";
import type { Broker } from "../core/broker.ts";
import { VERSION } from "../config/version.ts";
import { LOOPBACK } from "../config/load-core.ts";
import type { Config, PersistenceConfig } from "../config/schema.ts";
import type { KeyPath } from "../config/schema-walk.ts";
import { LogThrottle } from "../util/log-throttle.ts";
import { systemClock } from "../ports/clock.ts";
import type { Logger } from "../ports/logger.ts";
import type { Transport } from "../ports/transport.ts";
import { MemoryStore } from "../store/memory.ts";
import type { Store } from "../store/types.ts";
import { EXIT_CONFIG, EXIT_FAILURE } from "./exit-codes.ts";
import { type DatabaseContext, explainOpenFailure, localDatabasePath, preflightDatabase } from "./database.ts";
import { userName } from "./host.ts";
import type { Readiness } from "./readiness.ts";
import { ensureAdmin } from "../security/admin-accounts.ts";
import type { Acceptor, Fetch, Listener, RuntimeAdapter } from "./serve.ts";
import { readAdminTls, readTls, type SecureListener, type TlsOptions } from "./tls.ts";
import { errorText } from "../util/errors.ts";


/**
 * Why a port could not be bound, in words (Bun and Deno word and code their errors differently):
 * `what` names the likely other owner of a taken port.
 */
export function listenFailure(e: unknown, host: string, port: number, what: string): string {
  const code = typeof e === "object" && e !== null ? String((e as { code?: unknown }).code ?? "") : "";
  const text = errorText(e);
  const name = typeof e === "object" && e !== null ? String((e as { name?: unknown }).name ?? "") : "";
  if (code === "EADDRINUSE" || name === "AddrInUse" || /in use|os error 98/i.test(text)) {
    return `port ${port} is already in use (${what}?); stop it or choose another port`;
  }
  if (code === "EACCES" || name === "PermissionDenied" || /permission denied|os error 13/i.test(text)) {
    return `permission denied to listen on port ${port}` +
      (port < 1024 ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : "");
  }
  if (code === "EADDRNOTAVAIL" || name === "AddrNotAvailable" || /not available|assign requested|os error 99/i.test(text)) {
    return `${host} is not an address of this machine (use 0.0.0.0 for every interface)`;
  }
  return text;
}

/**
 * The configured store, or the exit code (after one log line that says why) when it cannot be
 * opened: 2 when the configuration must change, 1 otherwise.
 */
export async function openStore(
  runtime: RuntimeAdapter,
  persistence: PersistenceConfig,
  context: DatabaseContext,
  logger: Logger,
): Promise<Store | { exitCode: number }> {
  if (persistence.store === "memory") {
    logger.warn("persistence.store is memory: sessions, queued and retained messages do not survive a restart");
    return new MemoryStore();
  }
  const where = persistence.store === "libsql" ? persistence.url : persistence.path;
  const path = localDatabasePath(persistence);
  if (path !== undefined) {
    const checked = preflightDatabase(runtime, path, "serve", context);
    if (!checked.ok) {
      logger.error(`cannot open the store: ${checked.problem}`, { store: persistence.store, location: where });
      return { exitCode: checked.configProblem ? EXIT_CONFIG : EXIT_FAILURE };
    }
    const owner = runtime.uid() === 0 ? runtime.stat(checked.file.directory)?.uid : undefined;
    if (owner !== undefined && owner !== 0) {
      // Files root creates here would stop the service user from opening the database later.
      const name = userName((p) => runtime.readTextFile(p), owner);
      logger.warn(`running as root in ${checked.file.directory}, which belongs to ${name}: run the broker as ${name} ` +
        `(sudo -u ${name} gannet ...), or the files root creates there may stop the service from opening the database`);
    }
  }
  try {
    const store = await runtime.openStore(persistence);
    logger.info("store opened", { store: persistence.store, location: where });
    if (store.migration) {
      const { from, applied, backup } = store.migration;
      logger.info("database migrated", { location: where, from, applied: applied.join(", "), backup });
    }
    return store;
  } catch (e: unknown) {
    const cause = e instanceof Error && e.cause ? ` (${errorText(e.cause)})` : "";
    const reason = path !== undefined
      ? explainOpenFailure(runtime, path, "serve", context, errorText(e) + cause)
      : `${errorText(e)}${cause}`;
    logger.error(`cannot open the store: ${reason}`, { store: persistence.store, location: where });
    return { exitCode: EXIT_FAILURE };
  }
}

/**
 * The admin HTTP port, or undefined when disabled or (default port only) taken: the default port
 * is best effort, since another service may own 18083; a port the operator chose is required, so
 * then this returns "failed".
 */
export function startAdmin(
  runtime: RuntimeAdapter,
  config: Config,
  readiness: Readiness,
  isSet: (path: KeyPath) => boolean,
  logger: Logger,
  management: () => Management | undefined,
): Listener | undefined | "failed" {
  if (!config.admin.enabled) return undefined;
  const startedAt = Date.now();
  // The app (Hono, the API's zod schemas, the console routes) is built on the first request, not
  // at start: a broker nobody administers, or not yet, does not hold it (about 2 MiB of the
  // executable's idle RSS, bench/executable-rss.ts). The port itself is bound now, so a taken
  // port is still reported at start.
  let app: Promise<Fetch> | undefined;
  const fetchOfApp = () =>
    app ??= import("../admin/app.ts").then(({ createAdminApp }) => {
      const admin = createAdminApp({
        version: VERSION,
        runtime: runtime.name,
        readiness: () => readiness.state,
        assets: runtime.assets,
        uptime: () => Math.round((Date.now() - startedAt) / 1000),
        management,
      });
      return (request, env) => admin.fetch(request, env);
    });
  const { host, port } = config.admin;
  let tls: { cert: string; key: string } | undefined;
  if (config.admin.tls) {
    const read = readAdminTls(runtime, config.admin.tls);
    if (!read.ok) {
      logger.error("cannot start the admin HTTPS port", { host, port, error: read.problem });
      return "failed";
    }
    tls = read.tls;
  }
  const exposure = adminExposureWarning(config.admin);
  if (exposure) logger.warn(exposure, { host });
  try {
    const admin = runtime.serveHttp(async (request, env) => (await fetchOfApp())(request, env), host, port, tls);
    logger.info("listening", { kind: tls ? "admin https" : "admin", host, port: admin.port });
    return admin;
  } catch (e: unknown) {
    const reason = listenFailure(e, host, port, "another service");
    if (isSet(["admin", "port"])) {
      logger.error(`cannot start the admin HTTP port: ${reason}`, { host, port, error: errorText(e) });
      return "failed";
    }
    logger.warn(`admin HTTP port not started: ${reason}; set admin.port (or --admin-port) to choose another`, {
      host,
      port,
      error: errorText(e),
    });
    return undefined;
  }
}

/**
 * Every configured MQTT listener, pushed into `listeners` as it starts (tls/wss ones into `secure`
 * too, for certificate reload); false (logged) when one fails, e.g. a certificate file is missing.
 */
export async function startListeners(
  runtime: RuntimeAdapter,
  broker: Broker,
  config: Config,
  listeners: Listener[],
  secure: SecureListener[],
  logger: Logger,
): Promise<boolean> {
  // One bound for all listeners' own lines (failed accepts), as the broker has one for connection lines.
  const listenerLog = new LogThrottle(systemClock, 50);
  for (const l of config.listeners) {
    // Each listener hands its connections over with its own connection limit and MQTT overrides.
    const name = `${l.kind} ${l.host}:${l.port}`;
    const options = {
      name,
      maxConnections: l.maxConnections,
      limits: l.mqtt,
      useCertificateCnAsUsername: l.useCertificateCnAsUsername || undefined,
    };
    const acceptor: Acceptor = {
      accept: (transport: Transport) => broker.accept(transport, options),
      logBounded: (level, msg, fields) => listenerLog[level](logger, msg, { listener: name, ...fields }),
    };
    let tls: TlsOptions | undefined;
    if (l.kind === "tls" || l.kind === "wss") {
      const read = readTls(runtime, l);
      if (!read.ok) {
        logger.error(`cannot start listener ${name}: ${read.problem}`, { listener: name });
        return false;
      }
      tls = read.tls;
      const mismatch = runtime.checkKeyPair(tls.cert, tls.key);
      if (mismatch) {
        logger.error(`cannot start listener ${name}: cert ${l.cert} and key ${l.key}: ${mismatch}`, { listener: name });
        return false;
      }
    }
    try {
      const listener = await (l.kind === "tcp" || l.kind === "tls"
        ? runtime.listenTcp(acceptor, l.host, l.port, logger, tls)
        : runtime.listenWebSocket(acceptor, l.host, l.port, l.path, logger, tls));
      listeners.push(listener);
      if (tls) secure.push({ name, config: l, listener });
      const path = l.kind === "ws" || l.kind === "wss" ? l.path : undefined;
      const clientCertificate = tls ? l.clientCertificate : undefined;
      const anonymous = l.mqtt?.allowAnonymous ?? config.mqtt.allowAnonymous;
      logger.info("listening", { kind: l.kind, host: l.host, port: listener.port, path, clientCertificate, anonymous });
      if (anonymous && !LOOPBACK.test(l.host)) {
        logger.warn("anonymous clients are allowed on a listener other networks can reach", { listener: name });
      }
    } catch (e: unknown) {
      const other = l.kind === "ws" || l.kind === "wss" ? "another MQTT broker or web server" : "another MQTT broker";
      // The system's own words stay as `error` (scripts match on them, e.g. "address already in use").
      logger.error(`cannot start listener ${name}: ${listenFailure(e, l.host, l.port, other)}`, { listener: name, error: errorText(e) });
      return false;
    }
  }
  return true;
}

/**
 * First start: with no admin account, create `admin` (admin.initialPassword, or a random password
 * printed once in the log: the operator needs it to log in to the console). False when it failed.
 */
export async function ensureFirstAdmin(
  store: Store,
  config: Config,
  logger: Logger,
  /** Keeps the password out of the console's log page: it is for the operator's terminal only. */
  hide: (secret: string) => void,
): Promise<boolean> {
  try {
    const created = await ensureAdmin(store.admin, config.admin.initialPassword, Date.now());
    if (created?.password !== undefined) {
      hide(created.password);
      logger.warn("created the admin account 'admin' with a random password, shown only now: log in to the console and change it", {
        account: created.name,
        password: created.password,
      });
    } else if (created) {
      logger.info("created the admin account 'admin' with admin.initialPassword", { account: created.name });
    }
    return true;
  } catch (e: unknown) {
    logger.error("cannot create the first admin account", { error: errorText(e) });
    return false;
  }
}

/** Why the admin port's settings are risky, or undefined: beyond loopback without TLS, passwords and cookies travel in clear. */
export function adminExposureWarning(admin: Config["admin"]): string | undefined {
  if (admin.tls || LOOPBACK.test(admin.host)) return undefined;
  return "the admin port is reachable from other networks without TLS: console passwords, session cookies and API keys " +
    "cross the network in clear; set admin.tls.cert and admin.tls.key (or bind admin.host to 127.0.0.1)";
}
