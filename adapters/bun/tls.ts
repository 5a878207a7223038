/**
 * TLS on Bun for both listener kinds. Neither Bun.listen's `reload` nor Bun.serve's `reload`
 * changes the certificate (measured on Bun 1.4.5: they only swap handlers), so a certificate
 * reload stops the listening socket (connected clients stay) and listens again on the same port.
 */
import { createSecureContext } from "node:tls";
import type { Listener, TlsOptions } from "../../src/mod.ts";

/** Refuses a bad certificate or a key of another certificate, in words an operator can act on. */
function checkTls(tls: TlsOptions): void {
  try {
    createSecureContext({ cert: tls.cert, key: tls.key, ca: tls.ca });
  } catch (e: unknown) {
    const text = e instanceof Error ? e.message : String(e);
    if (text.includes("KEY_VALUES_MISMATCH")) {
      throw new Error("the key does not belong to the certificate", { cause: e });
    }
    throw new Error(`unusable certificate, key or ca: ${text}`, { cause: e });
  }
}

export function bunTlsOptions(tls: TlsOptions) {
  checkTls(tls);
  return {
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca,
    requestCert: tls.clientCertificate !== "none",
    // "require": Bun ends the handshake of a client without a certificate signed by `ca`.
    rejectUnauthorized: tls.clientCertificate === "require",
  };
}

export interface Started {
  readonly port: number;
  /** Stop listening; connected clients stay. */
  stop(): void;
}

/**
 * A listener whose certificate can be replaced: `start` listens with the given TLS options (and
 * plain when there are none) on the given port.
 */
export function reloadableListener(
  start: (port: number, tls: TlsOptions | undefined) => Started,
  port: number,
  tls: TlsOptions | undefined,
): Listener {
  let current = start(port, tls);
  const bound = current.port; // port 0 asked for: keep the one we got
  let options = tls;
  let stopped = false;
  return {
    get port() {
      return bound;
    },
    stop: () => {
      stopped = true;
      current.stop();
    },
    reloadTls: !tls ? undefined : (next: TlsOptions) => {
      if (stopped) return;
      checkTls(next); // before giving up the port
      current.stop();
      try {
        current = start(bound, next);
        options = next;
      } catch (e: unknown) {
        current = start(bound, options);
        throw e;
      }
    },
  };
}
