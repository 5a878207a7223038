/**
 * Authentication and ACL over real sockets, both runtimes: the secure defaults, users from the
 * YAML file, ACL rules (first match wins, %u/%c, max QoS, retain), the reason codes of MQTT 5 and
 * the silent behaviour MQTT 3.1.1 prescribes, and one log line per denial.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { argon2id } from "hash-wasm";
import type { MqttClient } from "mqtt";
import { RUNTIMES, type RunningBroker, startBroker, tempDatabase } from "../helpers/broker.ts";
import { closeAll, collectMessages, connectClient, expectNoMessage, publish, subscribe } from "../helpers/clients.ts";
import { connectOutcome, publishOutcome, startWithConfig } from "../helpers/security.ts";

const hash = (password: string) =>
  argon2id({ password, salt: crypto.getRandomValues(new Uint8Array(16)), parallelism: 1, iterations: 2, memorySize: 19456, hashLength: 32, outputType: "encoded" });

/** SUBACK return codes, whether mqtt.js counts the SUBACK as an error or not. */
function subackCodes(c: MqttClient, topics: string[], qos: 0 | 1 | 2): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no SUBACK")), 3_000);
    c.subscribe(topics, { qos }, (err, granted) => {
      clearTimeout(timer);
      const packet = (err as { packet?: { granted?: number[] } } | null)?.packet;
      if (packet?.granted) return resolve(packet.granted);
      if (err) return reject(err);
      resolve((granted ?? []).map((g) => g.qos));
    });
  });
}

for (const runtime of RUNTIMES) {
  describe(`secure defaults (${runtime})`, () => {
    test("without a config file, a listener on a non-loopback address refuses anonymous clients (3.1.1 CONNACK return code 5 [3.1.1 §3.2.2.3], v5 0x87 [v5 §3.2.2.2])", async () => {
      const b = await startBroker({ runtime, args: ["--host", "0.0.0.0"] });
      try {
        expect(await connectOutcome(b, { protocolVersion: 5 })).toBe(0x87);
        expect(await connectOutcome(b, { protocolVersion: 4 })).toBe(5);
        await b.waitForLog(/connection refused.*anonymous access is disabled/);
      } finally {
        await b.stop();
      }
    }, 30_000);

    test("with a config file, anonymous access is off unless mqtt.allowAnonymous is set (per listener too)", async () => {
      const off = await startWithConfig(runtime, "logging:\n  level: info\n");
      try {
        expect(await connectOutcome(off, { protocolVersion: 5 })).toBe(0x87);
      } finally {
        await off.stop();
      }
      const on = await startWithConfig(runtime, "listeners:\n  - kind: tcp\n    port: 1883\n    mqtt:\n      allowAnonymous: true\n", {
        args: ["--ws-port", "off"],
      });
      try {
        expect(await connectOutcome(on, { protocolVersion: 5 })).toBe(0);
      } finally {
        await on.stop();
      }
    }, 30_000);
  });

  describe(`users from the YAML file (${runtime})`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startWithConfig(
        runtime,
        `auth:\n  users:\n    - { username: alice, password: "${await hash("alice-secret")}" }\n` +
          `    - { username: bob, password: bob-plain }\n`,
      );
    }, 30_000);
    afterAll(() => b?.stop());

    test("the right password connects (argon2id hash, and a plain password from the file)", async () => {
      expect(await connectOutcome(b, { protocolVersion: 5, username: "alice", password: "alice-secret" })).toBe(0);
      expect(await connectOutcome(b, { protocolVersion: 4, username: "bob", password: "bob-plain" })).toBe(0);
      await b.waitForLog(/plain-text passwords.*bob/);
    });

    test("a wrong password or unknown user: v5 0x86 Bad User Name or Password, v3.1.1 return code 4", async () => {
      expect(await connectOutcome(b, { protocolVersion: 5, username: "alice", password: "wrong" })).toBe(0x86);
      expect(await connectOutcome(b, { protocolVersion: 4, username: "alice", password: "wrong" })).toBe(4);
      expect(await connectOutcome(b, { protocolVersion: 5, username: "mallory", password: "x" })).toBe(0x86);
      expect(await connectOutcome(b, { protocolVersion: 5, username: "alice" })).toBe(0x87);
    });

    test("no password ever reaches the log", async () => {
      await connectOutcome(b, { protocolVersion: 5, username: "alice", password: "wrong-secret-123" });
      await b.waitForLog(/connection refused.*authentication failed/);
      expect(b.logs()).not.toContain("wrong-secret-123");
      expect(b.logs()).not.toContain("alice-secret");
    });
  });

  describe(`ACL (${runtime})`, () => {
    let b: RunningBroker;
    beforeAll(async () => {
      b = await startWithConfig(
        runtime,
        [
          "mqtt:",
          "  allowAnonymous: true",
          "auth:",
          "  users:",
          "    - { username: alice, password: pw-alice }",
          "    - { username: bob, password: pw-bob }",
          "acl:",
          "  default: deny",
          "  rules:",
          "    - { topic: secret/#, action: both, permission: deny }",
          "    - { topic: test/+/nosubscribe, action: subscribe, permission: deny }",
          "    - { anonymous: true, topic: test/#, action: publish, permission: allow }",
          "    - { username: alice, topic: sensors/%u/#, action: publish, permission: allow, maxQos: 1, retain: false }",
          "    - { topic: devices/%c/#, action: both, permission: allow }",
          "    - { username: bob, topic: sensors/#, action: subscribe, permission: allow, maxQos: 1 }",
          "    - { anonymous: true, topic: public/#, action: both, permission: allow }",
          "    - { topic: '#', action: subscribe, permission: allow }",
          "",
        ].join("\n"),
      );
    }, 30_000);
    afterAll(() => b?.stop());

    test("[v5 MQTT-3.4.2-1] an allowed publish is delivered; a denied one gets PUBACK 0x87 and is not delivered, one log line", async () => {
      const bob = await connectClient(b, { protocolVersion: 5, username: "bob", password: "pw-bob" });
      const alice = await connectClient(b, { protocolVersion: 5, username: "alice", password: "pw-alice" });
      try {
        await subscribe(bob, "sensors/#", { qos: 1 });
        const got = collectMessages(bob);
        await publish(alice, "sensors/alice/t", "ok", { qos: 1 });
        await got.waitFor(1);
        expect(got.messages[0].topic).toBe("sensors/alice/t");
        expect(await publishOutcome(alice, "sensors/bob/t", { qos: 1 })).toBe(0x87);
        await b.waitForLog(/publish denied.*sensors\/bob\/t/);
        await expectNoMessage(bob, 300);
        expect(got.messages.length).toBe(1);
      } finally {
        await closeAll(alice, bob);
      }
    });

    test("an allow rule's max QoS and retain flag: QoS 2 and retained publishes are denied (PUBREC 0x87, PUBACK 0x87)", async () => {
      const alice = await connectClient(b, { protocolVersion: 5, username: "alice", password: "pw-alice" });
      try {
        const outcome = (qos: 1 | 2, retain: boolean) => publishOutcome(alice, "sensors/alice/x", { qos, retain });
        expect(await outcome(2, false)).toBe(0x87);
        expect(await outcome(1, true)).toBe(0x87);
        expect(await outcome(1, false)).toBe(0); // allowed
      } finally {
        await closeAll(alice);
      }
    });

    test("v3.1.1: a denied QoS 1 publish is acknowledged but not delivered (no negative PUBACK in 3.1.1)", async () => {
      const watcher = await connectClient(b, { protocolVersion: 5, clientId: "watcher" });
      const alice = await connectClient(b, { protocolVersion: 4, username: "alice", password: "pw-alice" });
      try {
        await subscribe(watcher, "sensors/#", { qos: 1 }).catch(() => []);
        await subscribe(watcher, "devices/watcher/#", { qos: 1 });
        await publish(alice, "sensors/bob/y", "denied", { qos: 1 }); // resolves: PUBACK came
        await expectNoMessage(watcher, 300);
        expect(alice.connected).toBe(true);
      } finally {
        await closeAll(alice, watcher);
      }
    });

    test("%c: each client may use devices/<its client id>/# and no other's", async () => {
      const dev = await connectClient(b, { protocolVersion: 5, clientId: "dev-1" });
      try {
        const outcome = (topic: string) => publishOutcome(dev, topic, { qos: 1 });
        expect(await outcome("devices/dev-1/state")).toBe(0);
        expect(await outcome("devices/dev-2/state")).toBe(0x87);
      } finally {
        await closeAll(dev);
      }
    });

    test("[v5 MQTT-3.9.3-2] [3.1.1 MQTT-3.9.3-2] denied subscriptions get SUBACK 0x87, v3.1.1 0x80; a deny rule covering only part of a filter does not deny it", async () => {
      const v5 = await connectClient(b, { protocolVersion: 5, username: "bob", password: "pw-bob" });
      const v3 = await connectClient(b, { protocolVersion: 4, username: "bob", password: "pw-bob" });
      try {
        expect(await subackCodes(v5, ["secret/x", "secret/+", "#", "sensors/a"], 1)).toEqual([0x87, 0x87, 1, 1]);
        expect(await subackCodes(v3, ["secret/x", "sensors/a"], 1)).toEqual([0x80, 1]);
        await b.waitForLog(/subscription denied.*secret\/x/);
      } finally {
        await closeAll(v5, v3);
      }
    });

    for (const version of [4, 5] as const) {
      const tag = version === 5 ? "v5" : "3.1.1";
      test(`${tag}: '#' is granted despite a deny rule for part of it; the denied topic is not delivered (live or retained), the others are`, async () => {
        const base = `test/acl${version}${Date.now().toString(36)}`;
        const publisher = await connectClient(b, { protocolVersion: 5 });
        const watcher = await connectClient(b, { protocolVersion: version });
        try {
          // Retained first: the subscription's retained messages go through the same check.
          await publish(publisher, `${base}/nosubscribe`, "retained-denied", { qos: 1, retain: true });
          await publish(publisher, `${base}/ok`, "retained-ok", { qos: 1, retain: true });
          const refused = version === 5 ? 0x87 : 0x80;
          // The deny rule covers these filters whole: refused at SUBSCRIBE.
          expect(await subackCodes(watcher, [`${base}/nosubscribe`, "test/+/nosubscribe"], 1)).toEqual([refused, refused]);
          const got = collectMessages(watcher);
          expect(await subackCodes(watcher, ["#"], 1)).toEqual([1]);
          await publish(publisher, `${base}/nosubscribe`, "live-denied", { qos: 1 });
          await publish(publisher, `${base}/ok`, "live-ok", { qos: 0 });
          await publish(publisher, `${base}/end`, "end", { qos: 1 });
          const ours = () => got.messages.filter((m) => m.topic.startsWith(`${base}/`));
          const deadline = Date.now() + 3_000;
          while (!ours().some((m) => m.topic === `${base}/end`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          expect(ours().map((m) => `${m.topic.slice(base.length + 1)}=${m.payload.toString()}`)).toEqual([
            "ok=retained-ok",
            "ok=live-ok",
            "end=end",
          ]);
        } finally {
          await publish(publisher, `${base}/nosubscribe`, "", { qos: 1, retain: true }).catch(() => undefined);
          await publish(publisher, `${base}/ok`, "", { qos: 1, retain: true }).catch(() => undefined);
          await closeAll(publisher, watcher);
        }
      });
    }

    test("an allow rule's max QoS caps the granted QoS", async () => {
      const bob = await connectClient(b, { protocolVersion: 5, username: "bob", password: "pw-bob" });
      try {
        const granted = await subscribe(bob, "sensors/+/temp", { qos: 2 });
        expect(granted.map((g: { qos: number }) => g.qos)).toEqual([1]);
      } finally {
        await closeAll(bob);
      }
    });

    test("anonymous rules apply to clients without a user name only", async () => {
      const anon = await connectClient(b, { protocolVersion: 5 });
      const bob = await connectClient(b, { protocolVersion: 5, username: "bob", password: "pw-bob" });
      try {
        await subscribe(anon, "public/#", { qos: 1 });
        const got = collectMessages(anon);
        await publish(anon, "public/news", "hello", { qos: 1 });
        await got.waitFor(1);
        expect(await publishOutcome(bob, "public/news", { qos: 1 })).toBe(0x87);
      } finally {
        await closeAll(anon, bob);
      }
    });
  });

  describe(`ACL after a restart (${runtime})`, () => {
    test("a stored '#' subscription granted in part is checked per message once its client is back, without subscribing again", async () => {
      const yaml = [
        "mqtt:",
        "  allowAnonymous: true",
        "acl:",
        "  rules:",
        "    - { topic: test/nosubscribe, action: subscribe, permission: deny }",
        "",
      ].join("\n");
      const database = tempDatabase("acl-restart");
      let b = await startWithConfig(runtime, yaml, { database });
      try {
        const watcher = await connectClient(b, { protocolVersion: 4, clientId: "acl-watcher", clean: false });
        expect(await subackCodes(watcher, ["#"], 1)).toEqual([1]);
        await closeAll(watcher);
        await b.stop();
        b = await startWithConfig(runtime, yaml, { database });
        const back = await connectClient(b, { protocolVersion: 4, clientId: "acl-watcher", clean: false, resubscribe: false });
        const publisher = await connectClient(b, { protocolVersion: 5 });
        try {
          const got = collectMessages(back);
          await publish(publisher, "test/nosubscribe", "denied", { qos: 1 });
          await publish(publisher, "test/other", "allowed", { qos: 1 });
          await got.waitFor(1);
          await expectNoMessage(back, 300);
          expect(got.messages.map((m) => m.topic)).toEqual(["test/other"]);
        } finally {
          await closeAll(back, publisher);
        }
      } finally {
        await b.stop();
      }
    }, 60_000);
  });
}
