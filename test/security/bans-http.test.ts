/**
 * Over real sockets, both runtimes: automatic bans (flapping client ids, repeated authentication
 * failures from one address), the HTTP auth backend (allow, deny, cache, unreachable), and ACL
 * rules reloaded on SIGHUP.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { RUNTIMES, sleep } from "../helpers/broker.ts";
import { closeAll, connectClient } from "../helpers/clients.ts";
import { connectOutcome, publishOutcome, startWithConfig } from "../helpers/security.ts";

interface Question {
  action: string;
  clientId: string;
  username: string | null;
  password?: string | null;
  topic?: string;
}

/** A tiny auth service: allows user "good" with password "pw", denies the rest; topics under allowed/ only. */
function authService(): Promise<{ server: Server; url: string; questions: Question[] }> {
  const questions: Question[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const q = JSON.parse(body) as Question;
      questions.push(q);
      if (q.username === "slow") return void setTimeout(() => res.writeHead(200).end(), 3_000);
      if (q.username === "broken") return void res.writeHead(500).end();
      const ok = q.action === "connect" ? q.username === "good" && q.password === "pw" : (q.topic ?? "").startsWith("allowed/");
      if (q.username === "json") return void res.writeHead(200).end('{"result":"deny"}');
      res.writeHead(ok ? 200 : 403).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}/auth`, questions });
    })
  );
}

for (const runtime of RUNTIMES) {
  describe(`automatic bans (${runtime})`, () => {
    test("a client id connecting more than bans.flapping.threshold times in the window gets CONNACK 0x8A Banned", async () => {
      const b = await startWithConfig(runtime, "mqtt:\n  allowAnonymous: true\nbans:\n  flapping:\n    threshold: 3\n    window: 60\n    duration: 60\n");
      try {
        for (let i = 0; i < 3; i++) expect(await connectOutcome(b, { protocolVersion: 5, clientId: "flappy" })).toBe(0);
        expect(await connectOutcome(b, { protocolVersion: 5, clientId: "flappy" })).toBe(0x8a);
        expect(await connectOutcome(b, { protocolVersion: 4, clientId: "flappy" })).toBe(5); // v3.1.1: not authorized
        await b.waitForLog(/banned.*flappy.*flapping/);
        expect(await connectOutcome(b, { protocolVersion: 5, clientId: "steady" })).toBe(0); // others carry on
      } finally {
        await b.stop();
      }
    }, 30_000);

    test("repeated authentication failures from one address ban the address: new sockets are closed at once", async () => {
      const b = await startWithConfig(
        runtime,
        "auth:\n  users:\n    - { username: u, password: right }\nbans:\n  authFailures:\n    threshold: 3\n    window: 60\n    duration: 60\n",
      );
      try {
        for (let i = 0; i < 3; i++) {
          expect(await connectOutcome(b, { protocolVersion: 5, username: "u", password: "wrong" })).toBe(0x86);
        }
        await b.waitForLog(/banned.*kind=address.*127\.0\.0\.1|"msg":"banned".*127\.0\.0\.1/);
        expect(await connectOutcome(b, { protocolVersion: 5, username: "u", password: "right" })).toBe("closed");
        await b.waitForLog(/connection refused: address banned/);
      } finally {
        await b.stop();
      }
    }, 30_000);
  });

  describe(`HTTP auth backend (${runtime})`, () => {
    let service: Awaited<ReturnType<typeof authService>>;
    beforeAll(async () => {
      service = await authService();
    });
    afterAll(() => service?.server.close());

    test("200 allows, 403 denies, answers are cached; timeouts and errors defer to the anonymous policy", async () => {
      const b = await startWithConfig(runtime, `auth:\n  http:\n    url: ${service.url}\n    timeout: 0.5\n    cacheTtl: 60\n`);
      try {
        expect(await connectOutcome(b, { protocolVersion: 5, clientId: "h1", username: "good", password: "pw" })).toBe(0);
        expect(await connectOutcome(b, { protocolVersion: 5, clientId: "h1", username: "good", password: "pw" })).toBe(0);
        expect(service.questions.filter((q) => q.clientId === "h1").length).toBe(1); // the second answer came from the cache
        expect(service.questions[0]).toMatchObject({ action: "connect", username: "good", password: "pw" });
        expect(await connectOutcome(b, { protocolVersion: 5, username: "good", password: "nope" })).toBe(0x86);
        expect(await connectOutcome(b, { protocolVersion: 5, username: "json", password: "pw" })).toBe(0x86); // 200 {"result":"deny"}
        // No answer in time, or a 500: the next check decides; here that is "no anonymous access".
        expect(await connectOutcome(b, { protocolVersion: 5, username: "slow", password: "x" })).toBe(0x86);
        expect(await connectOutcome(b, { protocolVersion: 5, username: "broken", password: "x" })).toBe(0x86);
        await b.waitForLog(/auth service unreachable/);
        await b.waitForLog(/auth service gave no decision.*500|"status":500/);
      } finally {
        await b.stop();
      }
    }, 30_000);

    test("with authorize: true it is asked about topics too", async () => {
      const b = await startWithConfig(runtime, `auth:\n  http:\n    url: ${service.url}\n    authorize: true\n    cacheTtl: 0\n`);
      const c = await connectClient(b, { protocolVersion: 5, username: "good", password: "pw" }).catch((e) => {
        throw e;
      });
      try {
        const outcome = (topic: string) => publishOutcome(c, topic, { qos: 1 });
        expect(await outcome("allowed/x")).toBe(0);
        expect(await outcome("other/x")).toBe(0x87);
        expect(service.questions.some((q) => q.action === "publish" && q.topic === "other/x")).toBe(true);
      } finally {
        await closeAll(c);
        await b.stop();
      }
    }, 30_000);
  });

  describe(`SIGHUP (${runtime})`, () => {
    test("new ACL rules apply to the next publish; connected clients stay", async () => {
      const base = "mqtt:\n  allowAnonymous: true\nacl:\n  default: allow\n";
      const b = await startWithConfig(runtime, base);
      const c = await connectClient(b, { protocolVersion: 5, clientId: "hup" });
      try {
        const outcome = (topic: string) => publishOutcome(c, topic, { qos: 1 });
        expect(await outcome("locked/x")).toBe(0);
        writeFileSync(b.path, `${base}  rules:\n    - { topic: locked/#, permission: deny }\n`);
        b.sendSignal("SIGHUP");
        await b.waitForLog(/configuration reloaded/);
        for (let i = 0; i < 20 && (await outcome("locked/x")) !== 0x87; i++) await sleep(100);
        expect(await outcome("locked/x")).toBe(0x87);
        expect(c.connected).toBe(true);
      } finally {
        await closeAll(c);
        await b.stop();
      }
    }, 30_000);
  });
}
