/**
 * Users, bans and ACL rules written with the CLI reach a running broker (users at the next
 * CONNECT, bans and rules within bans.refreshInterval), bans survive a restart, and a Mosquitto
 * password imported as it is lets its user in and is upgraded to argon2id on that login.
 */
import { describe, expect, test } from "bun:test";
import { RUNTIMES, tempDatabase } from "../helpers/broker.ts";
import { closeAll, connectClient } from "../helpers/clients.ts";
import { gannet, mosquittoPasswd, query } from "./cli-helpers.ts";
import { connectOutcome, publishOutcome, startWithConfig } from "../helpers/security.ts";

const TIMEOUT = 60_000;

/** Polls `probe` until it returns `want` (the broker reloads bans and rules every 0.2 s here). */
async function eventually<T>(probe: () => Promise<T>, want: T, what: string): Promise<void> {
  let last: T | undefined;
  for (let i = 0; i < 40; i++) {
    last = await probe();
    if (last === want) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: expected ${String(want)}, last saw ${String(last)}`);
}

for (const runtime of RUNTIMES) {
  describe(`CLI changes reach a running broker (${runtime})`, () => {
    test("user add: the next CONNECT succeeds; ban add/lift: refused with 0x8A, then let in; acl add: denied", async () => {
      const database = tempDatabase("live");
      const b = await startWithConfig(runtime, `bans:\n  refreshInterval: 0.2\n`, { database });
      const at = ["--set", `persistence.path=${database}`];
      try {
        const login = () => connectOutcome(b, { protocolVersion: 5, clientId: "plc-1", username: "plc", password: "s3cret" });
        expect(await login()).toBe(0x86); // no such user yet... and no anonymous access with a config file
        expect((await gannet(runtime, ["user", "add", "plc", "--password", "s3cret", ...at])).code).toBe(0);
        expect(await login()).toBe(0);

        expect((await gannet(runtime, ["ban", "add", "--username", "plc", "--duration", "600", "--reason", "maintenance", ...at])).code).toBe(0);
        await eventually(login, 0x8a, "banned user");
        expect((await gannet(runtime, ["ban", "lift", "--username", "plc", ...at])).code).toBe(0);
        await eventually(login, 0, "ban lifted");

        const c = await connectClient(b, { protocolVersion: 5, clientId: "plc-1", username: "plc", password: "s3cret" });
        try {
          expect(await publishOutcome(c, "plant/line-1", { qos: 1 })).toBe(0);
          expect((await gannet(runtime, ["acl", "add", "--topic", "plant/#", "--deny", ...at])).code).toBe(0);
          await eventually(() => publishOutcome(c, "plant/line-1", { qos: 1 }), 0x87, "ACL rule from the CLI");
        } finally {
          await closeAll(c);
        }
      } finally {
        await b.stop();
      }
    }, TIMEOUT);

    test("an automatic ban is stored: it still holds after a restart", async () => {
      const database = tempDatabase("bans");
      const yaml = "mqtt:\n  allowAnonymous: true\nbans:\n  flapping:\n    threshold: 2\n    duration: 600\n";
      const first = await startWithConfig(runtime, yaml, { database });
      try {
        for (let i = 0; i < 2; i++) expect(await connectOutcome(first, { protocolVersion: 5, clientId: "flap" })).toBe(0);
        expect(await connectOutcome(first, { protocolVersion: 5, clientId: "flap" })).toBe(0x8a);
      } finally {
        await first.stop();
      }
      expect(query(database, "SELECT kind, value FROM bans")).toEqual([{ kind: "clientId", value: "flap" }]);
      const second = await startWithConfig(runtime, yaml, { database });
      try {
        expect(await connectOutcome(second, { protocolVersion: 5, clientId: "flap" })).toBe(0x8a);
        expect(await connectOutcome(second, { protocolVersion: 5, clientId: "other" })).toBe(0);
      } finally {
        await second.stop();
      }
    }, TIMEOUT);

    test("import mosquitto: a $7$ password lets its user in as it is, and is re-hashed with argon2id on that login", async () => {
      const database = tempDatabase("import");
      const passwd = mosquittoPasswd(database, { "old-device": "legacy-pw" });
      const imported = await gannet(runtime, ["import", "mosquitto", "--passwd", passwd, "--set", `persistence.path=${database}`]);
      expect(imported.code).toBe(0);
      const hashOf = () => String(query(database, "SELECT password_hash AS h FROM users WHERE username = 'old-device'")[0]?.h);
      expect(hashOf()).toStartWith("$7$");
      const b = await startWithConfig(runtime, "logging:\n  level: info\n", { database });
      try {
        expect(await connectOutcome(b, { protocolVersion: 4, username: "old-device", password: "wrong" })).toBe(4);
        expect(await connectOutcome(b, { protocolVersion: 4, username: "old-device", password: "legacy-pw" })).toBe(0);
        await b.waitForLog(/password hash upgraded to argon2id/);
        expect(hashOf()).toStartWith("$argon2id$");
        expect(await connectOutcome(b, { protocolVersion: 5, username: "old-device", password: "legacy-pw" })).toBe(0);
      } finally {
        await b.stop();
      }
    }, TIMEOUT);
  });
}
