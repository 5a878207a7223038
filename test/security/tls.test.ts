/**
 * TLS and WSS listeners, socket level, under every runtime in RUNTIMES: the broker runs as a child
 * process with a config file naming certificates made by openssl for this run (see
 * test/helpers/certificates.ts). mqtt.js and mosquitto_pub are the clients.
 *
 * The client certificate's Common Name is checked through the adapters' debug line
 * "client certificate", and (last block) as the user name ACL rules see with useCertificateCnAsUsername.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { makeTestCertificates, serverCertificate } from "../helpers/certificates.ts";
import { publishOutcome } from "../helpers/security.ts";
import { type RunningBroker, type Runtime, RUNTIMES, startBroker } from "../helpers/broker.ts";
import {
  closeAll,
  connectClient,
  type ConnectOptions,
  nextMessage,
  publish,
  subscribe,
  uniqueId,
} from "../helpers/clients.ts";

const certs = makeTestCertificates();
const ca = certs.read(certs.ca.cert);
const client = { cert: certs.read(certs.client.cert), key: certs.read(certs.client.key) };
const foreign = { cert: certs.read(certs.foreignClient.cert), key: certs.read(certs.foreignClient.key) };

interface Ports {
  tls: number;
  wss: number;
  require: number;
  request: number;
}

/** Each runtime gets its own copy of the server certificate: the reload test overwrites it. */
function writeConfig(runtime: Runtime): { file: string; cert: string; key: string } {
  const dir = mkdtempSync(join(certs.dir, `${runtime}-`));
  const cert = join(dir, "server.crt");
  const key = join(dir, "server.key");
  copyFileSync(certs.server.cert, cert);
  copyFileSync(certs.server.key, key);
  const tls = (extra: string) => `{ host: 127.0.0.1, port: 0, cert: ${cert}, key: ${key}${extra} }`;
  const file = join(dir, "gannet.yaml");
  writeFileSync(
    file,
    [
      "mqtt: { allowAnonymous: true }",
      "listeners:",
      "  - { kind: tcp, host: 127.0.0.1, port: 0 }", // the harness's --port
      "  - { kind: ws, host: 127.0.0.1, port: 0 }",
      `  - ${tls("").replace("{ ", "{ kind: tls, ")}`,
      `  - ${tls("").replace("{ ", "{ kind: wss, ")}`,
      `  - ${tls(`, ca: ${certs.ca.cert}, clientCertificate: require`).replace("{ ", "{ kind: tls, ")}`,
      `  - ${tls(`, ca: ${certs.ca.cert}, clientCertificate: request`).replace("{ ", "{ kind: tls, ")}`,
      "",
    ].join("\n"),
  );
  return { file, cert, key };
}

/** JSON log lines of the broker whose msg is `msg`. */
function logLines(b: RunningBroker, msg: string): Record<string, unknown>[] {
  return b.logs().split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return [];
    try {
      const obj = JSON.parse(line) as Record<string, unknown>;
      return obj.msg === msg ? [obj] : [];
    } catch {
      return [];
    }
  });
}

function listenerPorts(b: RunningBroker): Ports {
  const listening = logLines(b, "listening");
  const port = (kind: string, clientCertificate: string) => {
    const line = listening.find((l) => l.kind === kind && l.clientCertificate === clientCertificate);
    if (!line) throw new Error(`no ${kind} listener with clientCertificate ${clientCertificate}:\n${b.logs()}`);
    return Number(line.port);
  };
  return {
    tls: port("tls", "none"),
    wss: port("wss", "none"),
    require: port("tls", "require"),
    request: port("tls", "request"),
  };
}

async function waitForLogLine(b: RunningBroker, msg: string, match: (l: Record<string, unknown>) => boolean) {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const line = logLines(b, msg).find(match);
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no log line "${msg}" matching; logs:\n${b.logs().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A QoS 1 publish/subscribe round trip between two clients made by `connect`. */
async function roundTrip(connect: (clientId: string) => Promise<MqttClient>): Promise<void> {
  const topic = uniqueId("tls");
  const sub = await connect(uniqueId("tls-sub"));
  const pub = await connect(uniqueId("tls-pub"));
  try {
    await subscribe(sub, topic, { qos: 1 });
    const got = nextMessage(sub, 3_000);
    await publish(pub, topic, "over tls", { qos: 1 });
    const m = await got;
    expect(m.topic).toBe(topic);
    expect(m.payload.toString()).toBe("over tls");
  } finally {
    await closeAll(sub, pub);
  }
}

/** Expects the connection to fail before CONNACK; returns the error message. */
async function expectRefused(b: RunningBroker, opts: ConnectOptions): Promise<string> {
  const clientId = uniqueId("refused");
  let error = "";
  try {
    const c = await connectClient(b, { clientId, connectTimeout: 3_000, ...opts });
    await closeAll(c);
  } catch (e: unknown) {
    error = e instanceof Error ? e.message : String(e);
  }
  expect(error).not.toBe("");
  expect(b.logs()).not.toContain(clientId);
  return error;
}

function mosquittoPub(port: number, topic: string, extra: string[]): { status: number | null; output: string } {
  const r = spawnSync("mosquitto_pub", [
    "-h",
    "127.0.0.1",
    "-p",
    String(port),
    "--cafile",
    certs.ca.cert,
    "-t",
    topic,
    "-m",
    "from mosquitto_pub",
    "-q",
    "1",
    ...extra,
  ], {
    encoding: "utf8",
    timeout: 10_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

for (const runtime of RUNTIMES) {
  describe(`TLS listeners (${runtime})`, () => {
    let b: RunningBroker;
    let ports: Ports;
    let files: ReturnType<typeof writeConfig>;
    const mqtts = (port: number, extra: ConnectOptions = {}) => (clientId: string) =>
      connectClient(b, { clientId, protocol: "mqtts", port, ca, rejectUnauthorized: true, ...extra });

    beforeAll(async () => {
      files = writeConfig(runtime);
      b = await startBroker({ runtime, args: ["--config", files.file] });
      ports = listenerPorts(b);
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    test("mqtts:// with the CA: publish/subscribe round trip", async () => {
      await roundTrip(mqtts(ports.tls));
    });

    test("wss:// with the CA: publish/subscribe round trip", async () => {
      await roundTrip((clientId) =>
        connectClient(b, { clientId, transport: "ws", protocol: "wss", port: ports.wss, ca, rejectUnauthorized: true })
      );
    });

    test("a client that does not trust the server certificate cannot connect (tls and wss)", async () => {
      const tlsError = await expectRefused(b, { protocol: "mqtts", port: ports.tls, rejectUnauthorized: true });
      expect(tlsError).toMatch(/self[- ]signed|unable to (get|verify)|certificate/i);
      await expectRefused(b, { transport: "ws", protocol: "wss", port: ports.wss, rejectUnauthorized: true });
    });

    test("clientCertificate require: no client certificate is refused", async () => {
      await expectRefused(b, { protocol: "mqtts", port: ports.require, ca, rejectUnauthorized: true });
    });

    test("clientCertificate require: a certificate from another CA is refused", async () => {
      await expectRefused(b, { protocol: "mqtts", port: ports.require, ca, rejectUnauthorized: true, ...foreign });
    });

    test("clientCertificate require: a certificate from the CA connects, and its CN reaches the broker", async () => {
      await roundTrip(mqtts(ports.require, client));
      await waitForLogLine(b, "client certificate", (l) => l.commonName === "alice" && l.authorized === true);
    });

    test("clientCertificate request: without a certificate, or with a foreign one (not authorized), clients connect", async () => {
      await roundTrip(mqtts(ports.request));
      const c = await mqtts(ports.request, foreign)(uniqueId("foreign"));
      await closeAll(c);
      await waitForLogLine(b, "client certificate", (l) => l.commonName === "mallory" && l.authorized === false);
    });

    test("interop: mosquitto_pub over TLS with --cafile, and with --cert/--key where a certificate is required", async () => {
      const topic = uniqueId("mosq-tls");
      const sub = await mqtts(ports.tls)(uniqueId("mosq-sub"));
      try {
        await subscribe(sub, topic, { qos: 1 });
        const got = nextMessage(sub, 5_000);
        const plain = mosquittoPub(ports.tls, topic, []);
        expect(plain.output).toBe("");
        expect(plain.status).toBe(0);
        expect((await got).payload.toString()).toBe("from mosquitto_pub");

        const mtls = mosquittoPub(ports.require, topic, ["--cert", certs.client.cert, "--key", certs.client.key]);
        expect(mtls.status).toBe(0);
        const refused = mosquittoPub(ports.require, topic, []);
        expect(refused.status).not.toBe(0);
      } finally {
        await closeAll(sub);
      }
    });

    test("SIGHUP with a missing certificate file keeps the old certificate", async () => {
      const before = await serverCertificate(ports.tls, ca);
      const moved = `${files.cert}.away`;
      copyFileSync(files.cert, moved);
      writeFileSync(files.cert, ""); // not PEM
      try {
        b.sendSignal("SIGHUP");
        await b.waitForLog(/certificate reload failed/);
      } finally {
        copyFileSync(moved, files.cert);
      }
      expect(await serverCertificate(ports.tls, ca)).toEqual(before);
      await roundTrip(mqtts(ports.tls));
    });

    test("SIGHUP: new clients get the new certificate, connected clients stay", async () => {
      const topic = uniqueId("reload");
      const oldSub = await mqtts(ports.tls)(uniqueId("old-sub"));
      const oldMtls = await mqtts(ports.require, client)(uniqueId("old-mtls"));
      const oldWss = await connectClient(b, {
        clientId: uniqueId("old-wss"),
        transport: "ws",
        protocol: "wss",
        port: ports.wss,
        ca,
        rejectUnauthorized: true,
      });
      try {
        await subscribe(oldSub, topic, { qos: 1 });
        expect((await serverCertificate(ports.tls, ca)).commonName).toBe("gannet-server");
        copyFileSync(certs.server2.cert, files.cert);
        copyFileSync(certs.server2.key, files.key);
        const reloads = logLines(b, "certificate reloaded").length;
        b.sendSignal("SIGHUP");
        for (let i = 0; i < 100 && logLines(b, "certificate reloaded").length < reloads + 3; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        const expected = new X509Certificate(certs.read(certs.server2.cert)).serialNumber;
        for (const port of [ports.tls, ports.require, ports.request]) {
          const seen = await serverCertificate(port, ca);
          expect(seen.commonName).toBe("gannet-server-2");
          expect(seen.serialNumber.toUpperCase()).toBe(expected.toUpperCase());
        }
        if (runtime === "bun") {
          expect((await serverCertificate(ports.wss, ca)).commonName).toBe("gannet-server-2");
        } else {
          // Deno.serve cannot change its certificate (see adapters/deno/http.ts): said, not hidden.
          await b.waitForLog(/cannot change its certificate while running/);
          expect((await serverCertificate(ports.wss, ca)).commonName).toBe("gannet-server");
        }
        // Connections made before the reload still work both ways.
        const got = nextMessage(oldSub, 3_000);
        await publish(oldMtls, topic, "after reload", { qos: 1 });
        expect((await got).payload.toString()).toBe("after reload");
        const gotWss = nextMessage(oldSub, 3_000);
        await publish(oldWss, topic, "wss after reload", { qos: 1 });
        expect((await gotWss).payload.toString()).toBe("wss after reload");
        await roundTrip(mqtts(ports.tls));
      } finally {
        await closeAll(oldSub, oldMtls, oldWss);
      }
    });
  });
}

/** Config for the identity tests: the certificate authenticates, its CN is the user name in ACL rules. */
function writeIdentityConfig(runtime: Runtime): string {
  const dir = mkdtempSync(join(certs.dir, `${runtime}-id-`));
  const file = join(dir, "gannet.yaml");
  const tls = (mode: string) =>
    `  - { kind: tls, host: 127.0.0.1, port: 0, cert: ${certs.server.cert}, key: ${certs.server.key}, ` +
    `ca: ${certs.ca.cert}, clientCertificate: ${mode}, useCertificateCnAsUsername: true }`;
  writeFileSync(
    file,
    [
      "listeners:",
      "  - { kind: tcp, host: 127.0.0.1, port: 0 }",
      tls("require"),
      tls("request"),
      "acl:",
      "  default: deny",
      "  rules:",
      "    - { topic: 'devices/%u/#', permission: allow }",
      "",
    ].join("\n"),
  );
  return file;
}

for (const runtime of RUNTIMES) {
  describe(`client certificate as identity (${runtime})`, () => {
    let b: RunningBroker;
    let ports: { require: number; request: number };
    const mqtts = (port: number, extra: ConnectOptions = {}) =>
      connectClient(b, { clientId: uniqueId("id"), protocol: "mqtts", port, ca, rejectUnauthorized: true, protocolVersion: 5, ...extra });
    const outcome = (c: MqttClient, topic: string) => publishOutcome(c, topic, { qos: 1 });

    beforeAll(async () => {
      b = await startBroker({ runtime, args: ["--config", writeIdentityConfig(runtime), "--ws-port", "off"] });
      const listening = logLines(b, "listening");
      const port = (mode: string) => Number(listening.find((l) => l.kind === "tls" && l.clientCertificate === mode)?.port);
      ports = { require: port("require"), request: port("request") };
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    test("a verified certificate connects without a password; its CN (alice) is the user name for ACL rules", async () => {
      const c = await mqtts(ports.require, client);
      try {
        expect(await outcome(c, "devices/alice/state")).toBe(0);
        expect(await outcome(c, "devices/bob/state")).toBe(0x87);
      } finally {
        await closeAll(c);
      }
      await b.waitForLog(/client connected.*alice/);
    });

    test("the certificate wins over a user name and password in CONNECT", async () => {
      const c = await mqtts(ports.require, { ...client, username: "bob", password: "whatever" });
      try {
        expect(await outcome(c, "devices/bob/state")).toBe(0x87);
        expect(await outcome(c, "devices/alice/state")).toBe(0);
      } finally {
        await closeAll(c);
      }
    });

    test("clientCertificate request: no certificate, or one that is not verified, falls back to the usual rules (anonymous refused: 0x87)", async () => {
      const refused = (opts: ConnectOptions) =>
        mqtts(ports.request, opts).then(
          (c) => (closeAll(c), 0),
          (e: unknown) => (e as { code?: number }).code,
        );
      expect(await refused({})).toBe(0x87);
      expect(await refused(foreign)).toBe(0x87);
    });
  });
}
