/** Starting the parts of the process: the store, the admin HTTP port and the MQTT listeners. */
import { createAdminApp } from "../admin/mod.ts";
import type { Broker } from "../core/broker.ts";
import { VERSION } from "../config/version.ts";
import { LOOPBACK } from "../config/load.ts";
import type { Config, PersistenceConfig } from "../config/schema.ts";
import type { KeyPath } from "../config/schema-walk.ts";
import type { Logger } from "../ports/logger.ts";
import type { Transport } from "../ports/transport.ts";
import { MemoryStore } from "../store/memory.ts";
import type { Store } from "../store/types.ts";
import type { Readiness } from "./readiness.ts";
import type { Listener, RuntimeAdapter } from "./serve.ts";
import { readTls, type SecureListener, type TlsOptions } from "./tls.ts";
import { errorText } from "../util/errors.ts";


/** The configured store, or undefined (after one clear log line) when it cannot be opened. */
export async function openStore(
  runtime: RuntimeAdapter,
  persistence: PersistenceConfig,
  logger: Logger,
): Promise<Store | undefined> {
  if (persistence.store === "memory") {
    logger.warn("persistence.store is memory: sessions, queued and retained messages do not survive a restart");
    return new MemoryStore();
  }
  const where = persistence.store === "libsql" ? persistence.url : persistence.path;
  try {
    const store = await runtime.openStore(persistence);
    logger.info("store opened", { store: persistence.store, location: where });
    return store;
  } catch (e: unknown) {
    const cause = e instanceof Error && e.cause ? errorText(e.cause) : undefined;
    logger.error("cannot open the store", { store: persistence.store, location: where, error: errorText(e), cause });
    return undefined;
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
): Listener | undefined | "failed" {
  if (!config.admin.enabled) return undefined;
  const startedAt = Date.now();
  const app = createAdminApp({
    version: VERSION,
    runtime: runtime.name,
    readiness: () => readiness.state,
    assets: runtime.assets,
    uptime: () => Math.round((Date.now() - startedAt) / 1000),
  });
  const { host, port } = config.admin;
  try {
    const admin = runtime.serveHttp((request) => app.fetch(request), host, port);
    logger.info("listening", { kind: "admin", host, port: admin.port });
    return admin;
  } catch (e: unknown) {
    if (isSet(["admin", "port"])) {
      logger.error("cannot start the admin HTTP port", { host, port, error: errorText(e) });
      return "failed";
    }
    logger.warn("admin HTTP port not started; set admin.port (or --admin-port) to choose another", {
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
  for (const l of config.listeners) {
    // Each listener hands its connections over with its own connection limit and MQTT overrides.
    const name = `${l.kind} ${l.host}:${l.port}`;
    const options = {
      name,
      maxConnections: l.maxConnections,
      limits: l.mqtt,
      useCertificateCnAsUsername: l.useCertificateCnAsUsername || undefined,
    };
    const acceptor = { accept: (transport: Transport) => broker.accept(transport, options) };
    let tls: TlsOptions | undefined;
    if (l.kind === "tls" || l.kind === "wss") {
      const read = readTls(runtime, l);
      if (!read.ok) {
        logger.error("cannot start listener", { listener: name, error: read.problem });
        return false;
      }
      tls = read.tls;
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
      logger.error("cannot start listener", { listener: name, error: errorText(e) });
      return false;
    }
  }
  return true;
}
