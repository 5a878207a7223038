/**
 * Hostile input on the TLS and WSS listeners: random bytes instead of a ClientHello, a ClientHello
 * cut short, handshakes aborted halfway, and random bytes after a completed handshake. The broker
 * must survive all of it without an error line, and clients over TLS carry on.
 * Certificates are made by the test with openssl (test/helpers/certificates.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { join } from "node:path";
import { type RunningBroker, RUNTIMES, startBroker } from "../helpers/broker.ts";
import { makeTestCertificates } from "../helpers/certificates.ts";
import { closeAll, connectClient, nextMessage, publish, subscribe, uniqueId } from "../helpers/clients.ts";
import { Random } from "./fuzz-packets.ts";

const CONNECTIONS = 300;
const certs = makeTestCertificates();
const ca = certs.read(certs.ca.cert);

/** A TLS record header and the start of a ClientHello, then `rest` (random) bytes: a hello cut short. */
function truncatedClientHello(r: Random): Buffer {
  return Buffer.concat([
    Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]),
    r.bytes(r.int(400)),
  ]);
}

/** One hostile connection; resolves when it is closed (by either side) or after 3 s. */
function attack(port: number, r: Random, kind: number): Promise<void> {
  return new Promise((resolve) => {
    // From another loopback address, so that any ban it earns does not touch the clients on 127.0.0.1.
    const tcp = netConnect({ host: "127.0.0.1", port, localAddress: "127.0.0.3" });
    const socket: Socket = kind === 1 ? tlsConnect({ socket: tcp, ca, servername: "localhost" }) : tcp;
    tcp.on("error", () => {});
    const done = () => (clearTimeout(timer), socket.destroy(), resolve());
    const timer = setTimeout(done, 3_000);
    socket.on("error", () => {});
    socket.on("close", done);
    if (kind === 0) socket.on("connect", () => socket.write(r.bytes(1 + r.int(3000))));
    if (kind === 2) socket.on("connect", () => socket.write(truncatedClientHello(r)));
    if (kind === 1) {
      socket.on("secureConnect", () => socket.write(r.bytes(1 + r.int(500))));
      if (r.chance(0.5)) setTimeout(() => socket.destroy(), r.int(20)); // abort mid-handshake
    }
  });
}

for (const runtime of RUNTIMES) {
  describe(`hostile input: garbage on TLS and WSS listeners [${runtime}]`, () => {
    let b: RunningBroker;
    let ports: { tls: number; wss: number };
    beforeAll(async () => {
      const file = join(certs.dir, `garbage-${runtime}.yaml`);
      const pem = `cert: ${certs.server.cert}, key: ${certs.server.key}`;
      writeFileSync(
        file,
        [
          "listeners:",
          "  - { kind: tcp, host: 127.0.0.1, port: 0 }",
          `  - { kind: tls, host: 127.0.0.1, port: 0, ${pem} }`,
          `  - { kind: wss, host: 127.0.0.1, port: 0, ${pem} }`,
          "mqtt: { allowAnonymous: true }",
          "",
        ].join("\n"),
      );
      b = await startBroker({ runtime, args: ["--config", file, "--ws-port", "off"] });
      const listening = b.logs().split("\n").filter((l) => l.includes('"msg":"listening"')).map((l) => JSON.parse(l));
      ports = {
        tls: Number(listening.find((l) => l.kind === "tls")?.port),
        wss: Number(listening.find((l) => l.kind === "wss")?.port),
      };
    }, 30_000);
    afterAll(async () => {
      await b?.stop();
    }, 10_000);

    test(
      `${CONNECTIONS} connections of random bytes, cut-short ClientHellos, aborted handshakes and garbage after the handshake: no error, TLS clients carry on`,
      async () => {
        const topic = uniqueId("tls-garbage");
        const mqtts = {
          protocol: "mqtts" as const,
          port: ports.tls,
          ca,
          rejectUnauthorized: true,
          protocolVersion: 5 as const,
        };
        const survivor = await connectClient(b, { clientId: uniqueId("survivor"), ...mqtts });
        try {
          await subscribe(survivor, topic, { qos: 1 });
          const r = new Random(0x7e5);
          await Promise.all(
            Array.from({ length: CONNECTIONS }, (_, i) => attack(i % 2 ? ports.tls : ports.wss, r, i % 3)),
          );
          expect(b.exited).toBe(false);
          const got = nextMessage(survivor, 5_000);
          await publish(survivor, topic, "still here", { qos: 1 });
          expect((await got).payload.toString()).toBe("still here");
          const fresh = await connectClient(b, { clientId: uniqueId("fresh"), ...mqtts });
          await closeAll(fresh);
          const logs = b.logs().split("\n");
          expect(logs.filter((l) => l.includes('"level":"error"'))).toEqual([]);
          expect(logs.filter((l) => l.trim() !== "" && !l.startsWith("{"))).toEqual([]);
          expect(logs.filter((l) => l.includes("TLS handshake failed")).length).toBeGreaterThan(0);
          // Garbage after a completed handshake reached the MQTT layer and was refused there.
          expect(logs.filter((l) => l.includes("closing connection: protocol violation")).length).toBeGreaterThan(0);
        } finally {
          await closeAll(survivor);
        }
      },
      60_000,
    );
  });
}
