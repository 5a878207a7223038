/**
 * TLS on Bun for both listener kinds. Neither Bun.listen's `reload` nor Bun.serve's `reload`
 * changes the certificate (measured on Bun 1.4.5: they only swap handlers), so a certificate
 * reload stops the listening socket (connected clients stay) and listens again on the same port.
 */
import { createSecureContext } from "node:tls";
import type { Listener, TlsOptions } from "../../src/mod.ts";

export function bunTlsOptions(tls: TlsOptions) {
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
      // Refuse a bad certificate or a key that does not match before giving up the port.
      createSecureContext({ cert: next.cert, key: next.key, ca: next.ca });
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
