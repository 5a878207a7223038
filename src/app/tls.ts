/**
 * TLS material for tls/wss listeners: the app reads the PEM files (through the runtime) and hands
 * the text to the adapter, at start and again on SIGHUP. A file that cannot be read stops the
 * start; on reload it only costs an error line, and the listener keeps its old certificate.
 */
import type { ListenerConfig } from "../config/schema.ts";
import type { Logger } from "../ports/logger.ts";
import type { FileSystem } from "./config-source.ts";
import { errorText } from "../util/errors.ts";
import type { TlsOptions } from "../ports/runtime.ts";
export type { TlsOptions } from "../ports/runtime.ts";


/** A listener that can take new certificates for the connections it accepts from now on. */
export interface TlsReloadable {
  /** Throws (keeping the old certificate) when the new one is unusable. */
  reloadTls(tls: TlsOptions): void;
}

export type TlsRead = { ok: true; tls: TlsOptions } | { ok: false; problem: string };


function readPem(fs: FileSystem, what: string, path: string): string {
  let text: string | undefined;
  try {
    text = fs.readTextFile(path);
  } catch (e: unknown) {
    throw new Error(`${what} ${path}: cannot read: ${errorText(e)}`, { cause: e });
  }
  if (text === undefined) throw new Error(`${what} ${path}: no such file`);
  if (!text.includes("-----BEGIN ")) throw new Error(`${what} ${path}: not a PEM file`);
  return text;
}

/** The listener's cert, key and ca files as PEM text (schema validation made sure cert and key are set). */
export function readTls(fs: FileSystem, l: ListenerConfig): TlsRead {
  try {
    return {
      ok: true,
      tls: {
        cert: readPem(fs, "cert", l.cert ?? ""),
        key: readPem(fs, "key", l.key ?? ""),
        ca: l.ca === undefined ? undefined : readPem(fs, "ca", l.ca),
        clientCertificate: l.clientCertificate,
        needsCommonName: l.useCertificateCnAsUsername,
      },
    };
  } catch (e: unknown) {
    return { ok: false, problem: errorText(e) };
  }
}

export interface SecureListener {
  name: string;
  config: ListenerConfig;
  listener: Partial<TlsReloadable>;
}

/** SIGHUP: re-read every tls/wss listener's files; new connections get the new certificate. */
export function reloadCertificates(fs: FileSystem, secure: readonly SecureListener[], logger: Logger): void {
  for (const { name, config, listener } of secure) {
    const read = readTls(fs, config);
    if (!read.ok) {
      logger.error("certificate reload failed: keeping the old certificate", { listener: name, error: read.problem });
      continue;
    }
    if (!listener.reloadTls) {
      logger.warn("this listener cannot change its certificate while running: restart to apply", { listener: name });
      continue;
    }
    try {
      listener.reloadTls(read.tls);
      logger.info("certificate reloaded", { listener: name, cert: config.cert });
    } catch (e: unknown) {
      logger.error("certificate reload failed: keeping the old certificate", { listener: name, error: errorText(e) });
    }
  }
}

/** The admin port's certificate and key (admin.tls) as PEM text. */
export function readAdminTls(fs: FileSystem, files: { cert: string; key: string }): { ok: true; tls: { cert: string; key: string } } | { ok: false; problem: string } {
  try {
    return { ok: true, tls: { cert: readPem(fs, "admin.tls.cert", files.cert), key: readPem(fs, "admin.tls.key", files.key) } };
  } catch (e: unknown) {
    return { ok: false, problem: errorText(e) };
  }
}
