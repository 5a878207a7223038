/**
 * TLS listeners that cannot start, and what each runtime refuses: the broker exits 1 with the
 * reason when a certificate file is missing or its key does not match, and a reload with a
 * mismatched key keeps the old certificate. Client certificates on wss: Bun supports "require"
 * (no Common Name: Bun.serve does not show the certificate) and refuses "request"; Deno.serve has
 * no client certificate options, so Deno refuses both. Runs under every runtime in RUNTIMES.
 */
import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTestCertificates, serverCertificate } from "../helpers/certificates.ts";
import { type RunningBroker, type Runtime, RUNTIMES, startBroker } from "../helpers/broker.ts";
import { closeAll, connectClient, uniqueId } from "../helpers/clients.ts";

const certs = makeTestCertificates();
const ca = certs.read(certs.ca.cert);

/** A config file with the tcp listener the harness needs and the given extra listener. */
function config(listener: string): string {
  const dir = mkdtempSync(join(certs.dir, "cfg-"));
  const file = join(dir, "gannet.yaml");
  writeFileSync(
    file,
    `mqtt: { allowAnonymous: true }\nlisteners:\n  - { kind: tcp, host: 127.0.0.1, port: 0 }\n  - ${listener}\n`,
  );
  return file;
}

/** Starting must fail: resolves with the harness's error (it carries the logs). */
async function startFails(runtime: Runtime, file: string): Promise<string> {
  let broker: RunningBroker | undefined;
  try {
    broker = await startBroker({ runtime, args: ["--config", file] });
  } catch (e: unknown) {
    return e instanceof Error ? e.message : String(e);
  }
  await broker.stop();
  throw new Error(`the broker started with ${file}`);
}

const server = `cert: ${certs.server.cert}, key: ${certs.server.key}`;

for (const runtime of RUNTIMES) {
  describe(`TLS listener errors (${runtime})`, () => {
    test("a missing certificate file: exit 1 naming the file", async () => {
      const missing = join(certs.dir, "nowhere.crt");
      const error = await startFails(
        runtime,
        config(`{ kind: tls, host: 127.0.0.1, port: 0, cert: ${missing}, key: ${certs.server.key} }`),
      );
      expect(error).toContain("exited (code 1");
      expect(error).toContain(`cert ${missing}: no such file`);
    }, 20_000);

    test("a key that does not belong to the certificate: exit 1", async () => {
      const error = await startFails(
        runtime,
        config(`{ kind: tls, host: 127.0.0.1, port: 0, cert: ${certs.server.cert}, key: ${certs.client.key} }`),
      );
      expect(error).toContain("exited (code 1");
      expect(error).toContain("cannot start listener");
    }, 20_000);

    test("reload with a key that does not belong to the certificate keeps the old certificate", async () => {
      const dir = mkdtempSync(join(certs.dir, "reload-"));
      const cert = join(dir, "server.crt");
      const key = join(dir, "server.key");
      copyFileSync(certs.server.cert, cert);
      copyFileSync(certs.server.key, key);
      const b = await startBroker({
        runtime,
        args: ["--config", config(`{ kind: tls, host: 127.0.0.1, port: 0, cert: ${cert}, key: ${key} }`)],
      });
      try {
        const line = b.logs().split("\n").find((l) => l.includes('"kind":"tls"'));
        const port = Number((JSON.parse(line ?? "{}") as { port?: number }).port);
        copyFileSync(certs.server2.cert, cert); // the new certificate, but the old key
        void b.kill("SIGHUP"); // kill() resolves only when the process exits
        await b.waitForLog(/certificate reload failed/);
        expect((await serverCertificate(port, ca)).commonName).toBe("gannet-server");
      } finally {
        await b.stop();
      }
    }, 20_000);

    const wss = (clientCertificate: string) =>
      config(
        `{ kind: wss, host: 127.0.0.1, port: 0, ${server}, ca: ${certs.ca.cert}, clientCertificate: ${clientCertificate} }`,
      );

    test('wss with clientCertificate "request" is refused at start', async () => {
      const error = await startFails(runtime, wss("request"));
      expect(error).toContain("exited (code 1");
      expect(error).toContain("clientCertificate");
    }, 20_000);

    test(
      "wss with useCertificateCnAsUsername is refused at start (neither runtime shows the certificate there)",
      async () => {
        const file = config(
          `{ kind: wss, host: 127.0.0.1, port: 0, ${server}, ca: ${certs.ca.cert}, clientCertificate: require, useCertificateCnAsUsername: true }`,
        );
        const error = await startFails(runtime, file);
        expect(error).toContain("exited (code 1");
        expect(error).toMatch(/wss on (Bun|Deno): \w+ is not supported/);
      },
      20_000,
    );

    if (runtime === "deno") {
      test('wss with clientCertificate "require" is refused at start (Deno.serve cannot ask for one)', async () => {
        const error = await startFails(runtime, wss("require"));
        expect(error).toContain("exited (code 1");
        expect(error).toContain("wss on Deno: clientCertificate is not supported");
      }, 20_000);
    } else {
      test('wss with clientCertificate "require": a certificate from the CA connects, none is refused', async () => {
        const b = await startBroker({ runtime, args: ["--config", wss("require")] });
        try {
          const line = b.logs().split("\n").find((l) => l.includes('"kind":"wss"'));
          const port = Number((JSON.parse(line ?? "{}") as { port?: number }).port);
          const opts = { transport: "ws" as const, protocol: "wss" as const, port, ca, rejectUnauthorized: true };
          const good = await connectClient(b, {
            ...opts,
            clientId: uniqueId("wss-mtls"),
            cert: certs.read(certs.client.cert),
            key: certs.read(certs.client.key),
          });
          await closeAll(good);
          const clientId = uniqueId("wss-nocert");
          await expect(connectClient(b, { ...opts, clientId, connectTimeout: 3_000 })).rejects.toThrow();
          expect(b.logs()).not.toContain(clientId);
        } finally {
          await b.stop();
        }
      }, 20_000);
    }
  });
}
