/** admin.tls: the admin port over HTTPS (Bun and Deno), Secure session cookies; a warning when it is exposed without TLS. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { adminExposureWarning } from "../../src/app/start.ts";
import { defaultConfig } from "../../src/config/schema.ts";
import { makeTestCertificates } from "../helpers/certificates.ts";
import { freePort, RUNTIMES, type RunningBroker, startBroker } from "../helpers/broker.ts";

const certs = makeTestCertificates();

test("a warning when the admin port is bound beyond loopback without TLS, none otherwise", () => {
  const admin = defaultConfig().admin;
  expect(adminExposureWarning(admin)).toBeUndefined();
  expect(adminExposureWarning({ ...admin, host: "0.0.0.0" })).toContain("without TLS");
  expect(adminExposureWarning({ ...admin, host: "0.0.0.0", tls: { cert: "c", key: "k" } })).toBeUndefined();
});

for (const runtime of RUNTIMES) {
  describe(`admin port over HTTPS (${runtime})`, () => {
    let broker: RunningBroker | undefined;
    let base = "";
    beforeAll(async () => {
      const port = await freePort();
      broker = await startBroker({
        runtime,
        args: ["--admin-port", String(port)],
        set: { "admin.tls.cert": certs.server.cert, "admin.tls.key": certs.server.key, "admin.initialPassword": "tls-admin-pw" },
      });
      base = `https://127.0.0.1:${port}`;
    }, 30_000);
    afterAll(async () => {
      await broker?.stop();
    }, 10_000);

    test("healthz over TLS with the configured certificate; login sets a Secure cookie", async () => {
      const tls = { ca: certs.read(certs.ca.cert), checkServerIdentity: () => undefined };
      const health = await fetch(`${base}/healthz`, { tls } as RequestInit);
      expect(health.status).toBe(200);
      const login = await fetch(`${base}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "admin", password: "tls-admin-pw" }),
        tls,
      } as RequestInit);
      expect(login.status).toBe(200);
      expect(login.headers.get("set-cookie")).toContain("; Secure");
      await broker!.waitForLog(/"kind":"admin https"/);
    });
  });
}

test("an unreadable admin.tls.cert stops the start with a clear line", async () => {
  const port = await freePort();
  await expect(startBroker({
    runtime: RUNTIMES[0]!,
    args: ["--admin-port", String(port)],
    set: { "admin.tls.cert": "/nonexistent/admin.crt", "admin.tls.key": certs.server.key },
  })).rejects.toThrow(/admin\.tls\.cert \/nonexistent\/admin\.crt: no such file/);
}, 30_000);
