/**
 * Test certificates made with the `openssl` CLI (test/prepare.sh installs it) in a temp directory:
 * a CA, a second CA nobody trusts, two server certificates for 127.0.0.1/localhost (for reload),
 * a client certificate from the CA and one from the other CA. Also: the certificate a TLS server
 * presents, read with node:tls.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Pem {
  /** Paths of the PEM files. */
  cert: string;
  key: string;
}

export interface TestCertificates {
  dir: string;
  ca: Pem;
  otherCa: Pem;
  server: Pem;
  /** A second server certificate (subject CN gannet-server-2) signed by the same CA. */
  server2: Pem;
  /** CN alice, signed by the CA. */
  client: Pem;
  /** CN mallory, signed by the other CA. */
  foreignClient: Pem;
  read(path: string): string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function makeCa(dir: string, name: string): Pem {
  openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
  ]);
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

function makeCert(dir: string, name: string, ca: string, cn: string, extensions: string): Pem {
  openssl(dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${cn}`,
  ]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.crt`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  ]);
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

const SERVER_EXT = "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
const CLIENT_EXT = "extendedKeyUsage=clientAuth\n";

/** Generates a fresh set (about a second of openssl); the directory goes when the process exits. */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "gannet-tls-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    ca: makeCa(dir, "ca"),
    otherCa: makeCa(dir, "other-ca"),
    server: makeCert(dir, "server", "ca", "gannet-server", SERVER_EXT),
    server2: makeCert(dir, "server2", "ca", "gannet-server-2", SERVER_EXT),
    client: makeCert(dir, "client", "ca", "alice", CLIENT_EXT),
    foreignClient: makeCert(dir, "foreign-client", "other-ca", "mallory", CLIENT_EXT),
    read: (path) => readFileSync(path, "utf8"),
  };
}

/** The subject CN and serial number of the certificate the server at 127.0.0.1:port presents. */
export function serverCertificate(port: number, ca: string): Promise<{ commonName: string; serialNumber: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      resolve({ commonName: String(cert.subject.CN), serialNumber: cert.serialNumber });
    });
    socket.once("error", reject);
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error(`no TLS handshake with 127.0.0.1:${port} within 5 s`));
    });
  });
}
