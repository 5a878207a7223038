/**
 * The `enhancedAuthenticate` hook (v5 section 4.12, AUTH): called for a CONNECT that names an
 * Authentication Method, then once per AUTH packet, with step numbers; its answer allows (CONNACK
 * or AUTH 0x00), continues (AUTH 0x18 with the hook's data), denies or defers to the next hook.
 * Test/conformance/v5/3.15-auth.test.ts covers a broker without such a hook, over sockets.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { EnhancedAuthRequest, EnhancedAuthResult, Hooks } from "../../src/mod.ts";
import { type InProcessBroker, inProcessBroker, type TestClient } from "../helpers/in-process.ts";

let b: InProcessBroker;
afterEach(async () => {
  await b.close();
});

const METHOD = "TOKEN";
const enc = (s: string) => new TextEncoder().encode(s);
const text = (data: Uint8Array | undefined) => (data === undefined ? undefined : new TextDecoder().decode(data));

/** A hook that records each request (data as text) and answers from `answer`. */
function authHook(id: string, answer: (r: EnhancedAuthRequest) => EnhancedAuthResult | Promise<EnhancedAuthResult>) {
  const requests: Array<Omit<EnhancedAuthRequest, "data"> & { data?: string }> = [];
  const hook: Hooks = {
    id,
    enhancedAuthenticate: (r) => {
      requests.push({ ...r, data: text(r.data) });
      return answer(r);
    },
  };
  return { hook, requests };
}

async function start(...hooks: Hooks[]): Promise<void> {
  b = await inProcessBroker({ hooks });
}

/** CONNECT with the Authentication Method and `data`; returns the client without reading a reply. */
function connectWithMethod(clientId: string, data: string): TestClient {
  const client = b.open(5);
  client.send({
    cmd: "connect",
    protocolVersion: 5,
    clientId,
    clean: true,
    keepalive: 0,
    properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(data) },
  });
  return client;
}

function sendAuth(client: TestClient, reasonCode: number, data: string): void {
  client.send({
    cmd: "auth",
    reasonCode,
    properties: { authenticationMethod: METHOD, authenticationData: Buffer.from(data) },
  });
}

describe("enhancedAuthenticate", () => {
  test("[v5 MQTT-4.12.0-5] CONNECT with a method: one call at step 0 with the client id, method and data; allow answers CONNACK 0x00 with the method", async () => {
    const { hook, requests } = authHook("token", () => ({ result: "allow" }));
    const connected: string[] = [];
    const asked: string[] = [];
    await start(hook, {
      id: "watch",
      onConnected: (c) => connected.push(c.clientId),
      authenticate: (r) => (asked.push(r.clientId), "deny"),
    });
    const client = connectWithMethod("dev", "tok-1");
    const connack = await client.expectPacket("connack");
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.authenticationMethod).toBe(METHOD);
    expect(requests).toEqual([{ clientId: "dev", method: METHOD, data: "tok-1", step: 0, reauthenticate: false }]);
    expect(connected).toEqual(["dev"]);
    expect(asked).toEqual([]); // the method replaces user name and password checks
  });

  test("allow with data: the data goes back in the CONNACK's Authentication Data (short and over 127 bytes)", async () => {
    const long = "v=".padEnd(300, "x");
    const { hook } = authHook(
      "token",
      (r) => ({ result: "allow", data: enc(r.clientId === "short" ? "server-final" : long) }),
    );
    await start(hook);
    const short = await connectWithMethod("short", "x").expectPacket("connack");
    expect([short.reasonCode, short.properties?.authenticationMethod, text(short.properties?.authenticationData)])
      .toEqual([0, METHOD, "server-final"]);
    const big = await connectWithMethod("long", "x").expectPacket("connack");
    expect([big.reasonCode, big.properties?.authenticationMethod, text(big.properties?.authenticationData)]).toEqual([
      0,
      METHOD,
      long,
    ]);
  });

  test("[v5 MQTT-4.12.0-2] [v5 MQTT-4.12.0-5] continue sends AUTH 0x18 with the method and the hook's data; each AUTH is the next step; allow ends with CONNACK", async () => {
    const { hook, requests } = authHook(
      "scram",
      (
        r,
      ) => (r.step < 2
        ? { result: "continue", data: enc(`challenge-${r.step}`.padEnd(r.step === 1 ? 200 : 0, "!")) }
        : { result: "allow" }),
    );
    await start(hook);
    const client = connectWithMethod("dev", "first");
    for (const step of [0, 1]) {
      const auth = await client.expectPacket("auth");
      const challenge = `challenge-${step}`.padEnd(step === 1 ? 200 : 0, "!");
      expect([auth.reasonCode, auth.properties?.authenticationMethod, text(auth.properties?.authenticationData)])
        .toEqual([0x18, METHOD, challenge]);
      sendAuth(client, 0x18, `answer-${step}`);
    }
    const connack = await client.expectPacket("connack");
    expect([connack.reasonCode, connack.properties?.authenticationMethod]).toEqual([0, METHOD]);
    expect(requests.map((r) => [r.step, r.data, r.reauthenticate])).toEqual([[0, "first", false], [
      1,
      "answer-0",
      false,
    ], [2, "answer-1", false]]);
    expect(b.broker.stats.clientsConnected).toBe(1);
  });

  test("[v5 MQTT-4.12.0-4] deny on CONNECT or on a later AUTH: CONNACK 0x87 and close, the session is never opened", async () => {
    const { hook } = authHook(
      "picky",
      (r) => (r.clientId === "late" && r.step === 0 ? { result: "continue" } : { result: "deny" }),
    );
    await start(hook);
    const early = connectWithMethod("early", "x");
    expect((await early.expectPacket("connack")).reasonCode).toBe(0x87);
    expect(early.closed).toBe(true);

    const late = connectWithMethod("late", "x");
    await late.expectPacket("auth");
    sendAuth(late, 0x18, "y");
    const connack = await late.expectPacket("connack");
    expect([connack.reasonCode, connack.sessionPresent]).toEqual([0x87, false]);
    expect(late.closed).toBe(true);
    expect(b.broker.stats.sessions).toBe(0);
  });

  test("a will is authorized once the exchange allowed the client: denied, CONNACK 0x87 after the AUTH steps", async () => {
    const { hook } = authHook("token", (r) => (r.step === 0 ? { result: "continue" } : { result: "allow" }));
    await start(hook, { id: "acl", authorizePublish: () => "deny" });
    const client = b.open(5);
    client.send({
      cmd: "connect",
      protocolVersion: 5,
      clientId: "dev",
      clean: true,
      keepalive: 0,
      will: { topic: "w", payload: Buffer.from("bye"), qos: 0, retain: false },
      properties: { authenticationMethod: METHOD },
    });
    await client.expectPacket("auth");
    sendAuth(client, 0x18, "proof");
    expect((await client.expectPacket("connack")).reasonCode).toBe(0x87);
    expect(client.closed).toBe(true);
  });

  test("an async answer decides like a plain one; a hook that defers passes the request to the next", async () => {
    const first = authHook("other-method", () => ({ result: "defer" }));
    const second = authHook(
      "token",
      (r) => Promise.resolve(r.data && text(r.data) === "good" ? { result: "allow" } : { result: "deny" }),
    );
    await start(first.hook, second.hook);
    expect((await connectWithMethod("a", "good").expectPacket("connack")).reasonCode).toBe(0);
    expect((await connectWithMethod("b", "bad").expectPacket("connack")).reasonCode).toBe(0x87);
    expect(first.requests.map((r) => r.clientId)).toEqual(["a", "b"]);
    expect(second.requests.map((r) => r.clientId)).toEqual(["a", "b"]);
  });

  test("[v5 MQTT-4.12.0-1] every hook defers (none knows the method): CONNACK 0x8C Bad authentication method and close, as with no hook", async () => {
    await start(authHook("a", () => ({ result: "defer" })).hook, authHook("b", () => ({ result: "defer" })).hook);
    const client = connectWithMethod("dev", "x");
    expect((await client.expectPacket("connack")).reasonCode).toBe(0x8c);
    expect(client.closed).toBe(true);
  });

  test("re-authentication: AUTH 0x19 starts again at step 0 with reauthenticate true; continue, then allow answers AUTH 0x00 with the hook's data; the connection stays", async () => {
    const { hook, requests } = authHook(
      "scram",
      (r) =>
        r.step === 0
          ? { result: "continue", data: enc(`c-${r.reauthenticate}`) }
          : { result: "allow", data: r.reauthenticate ? enc("final") : undefined },
    );
    await start(hook);
    const client = connectWithMethod("dev", "hello");
    await client.expectPacket("auth");
    sendAuth(client, 0x18, "proof");
    expect((await client.expectPacket("connack")).reasonCode).toBe(0);

    sendAuth(client, 0x19, "again");
    const challenge = await client.expectPacket("auth");
    expect([challenge.reasonCode, text(challenge.properties?.authenticationData)]).toEqual([0x18, "c-true"]);
    sendAuth(client, 0x18, "proof-2");
    const done = await client.expectPacket("auth");
    expect([done.reasonCode, done.properties?.authenticationMethod, text(done.properties?.authenticationData)]).toEqual(
      [0x00, METHOD, "final"],
    );
    expect(requests.map((r) => [r.step, r.data, r.reauthenticate])).toEqual([
      [0, "hello", false],
      [1, "proof", false],
      [0, "again", true],
      [1, "proof-2", true],
    ]);
    client.pingreq();
    await client.expectPacket("pingresp");
  });

  test("[v5 MQTT-4.12.1-2] re-authentication denied: DISCONNECT 0x87 and close; onDisconnected follows", async () => {
    const disconnected: string[] = [];
    const { hook } = authHook("token", (r) => (r.reauthenticate ? { result: "deny" } : { result: "allow" }));
    await start(hook, { id: "watch", onDisconnected: (c) => disconnected.push(c.clientId) });
    const client = connectWithMethod("dev", "x");
    expect((await client.expectPacket("connack")).reasonCode).toBe(0);
    sendAuth(client, 0x19, "expired");
    expect((await client.expectPacket("disconnect")).reasonCode).toBe(0x87);
    expect(client.closed).toBe(true);
    expect(disconnected).toEqual(["dev"]);
  });
});
