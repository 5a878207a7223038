/**
 * The security commands as an operator runs them: `gannet user|acl|ban|import ...` spawned under
 * Bun and Deno against a temp database, checking exit codes, output, and what lands in SQLite.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { verifyPassword } from "../../src/security/passwords.ts";
import { RUNTIMES, startBroker, tempDatabase } from "../helpers/broker.ts";
import { gannet, mosquittoPasswd, query, writeText } from "./cli-helpers.ts";

const TIMEOUT = 60_000;

for (const runtime of RUNTIMES) {
  describe(`gannet security commands (${runtime})`, () => {
    const db = () => tempDatabase("security");
    const at = (file: string) => ["--set", `persistence.path=${file}`];
    const run = (file: string, args: string[], stdin?: string) => gannet(runtime, [...args, ...at(file)], { stdin });

    test("user add / passwd / list / delete round trip; hashes land in SQLite and never in the output", async () => {
      const file = db();
      const pwFile = writeText(file, "pw.txt", "from a file\n");
      expect(await run(file, ["user", "add", "alice"], "from stdin\n")).toMatchObject({ code: 0 });
      expect(await run(file, ["user", "add", "bob", "--password-file", pwFile])).toMatchObject({ code: 0 });
      expect(await run(file, ["user", "add", "carol", "--password", "on the command line"])).toMatchObject({ code: 0 });
      const exists = await run(file, ["user", "add", "alice", "--password", "x"]);
      expect(exists.code).toBe(1);
      expect(exists.stderr).toContain("exists");

      const rows = query(file, "SELECT username, password_hash FROM users ORDER BY username");
      expect(rows.map((r) => r.username)).toEqual(["alice", "bob", "carol"]);
      const hash = (name: string) => String(rows.find((r) => r.username === name)!.password_hash);
      expect(await verifyPassword("from stdin", hash("alice"))).toEqual({ ok: true, needsRehash: false });
      expect((await verifyPassword("from a file", hash("bob"))).ok).toBe(true);
      expect((await verifyPassword("on the command line", hash("carol"))).ok).toBe(true);

      expect(await run(file, ["user", "passwd", "alice"], "changed\r\n")).toMatchObject({ code: 0 });
      const [changed] = query(file, "SELECT password_hash, created_at, updated_at FROM users WHERE username = 'alice'");
      expect((await verifyPassword("changed", String(changed!.password_hash))).ok).toBe(true);
      expect(Number(changed!.updated_at)).toBeGreaterThanOrEqual(Number(changed!.created_at));
      expect((await run(file, ["user", "passwd", "nobody", "--password", "x"])).code).toBe(1);

      const list = await run(file, ["user", "list"]);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/alice\s+\d{4}-\d\d-\d\dT/);
      expect(list.stdout).toContain("3 users in the database");
      expect(list.stdout).not.toContain("$argon2id$");

      expect(await run(file, ["user", "delete", "bob"])).toMatchObject({ code: 0 });
      expect((await run(file, ["user", "delete", "bob"])).code).toBe(1);
      expect(query(file, "SELECT username FROM users ORDER BY username").map((r) => r.username)).toEqual([
        "alice",
        "carol",
      ]);
    }, TIMEOUT);

    test("user errors: empty password, missing file, bad usage exit 2 and write nothing", async () => {
      const file = db();
      const cases: Array<[string[], string | undefined, RegExp]> = [
        [["user", "add", "x"], "", /empty password/],
        [["user", "add", "x"], "\n", /empty password/],
        [["user", "add", "x", "--password-file", "/nonexistent/pw"], undefined, /no such file/],
        [["user", "add"], undefined, /missing user name/],
        [["user", "add", "x", "--password", "a", "--password-file", "f"], undefined, /not both/],
        [["user", "frob"], undefined, /unknown user subcommand/],
        [["user", "add", "x", "--bogus"], undefined, /unknown option/],
      ];
      for (const [args, stdin, message] of cases) {
        const result = await run(file, args, stdin);
        expect([args.join(" "), result.code]).toEqual([args.join(" "), 2]);
        expect(result.stderr).toMatch(message);
      }
      const created = await run(file, ["user", "list"]);
      expect(created.stdout).toContain("0 users in the database");
    }, TIMEOUT);

    test("user hash prints an argon2id hash of stdin, and needs no database", async () => {
      const result = await gannet(runtime, ["user", "hash", "--set", "persistence.store=memory"], {
        stdin: "hash me\n",
      });
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$\S+\n$/);
      expect(await verifyPassword("hash me", result.stdout.trim())).toEqual({ ok: true, needsRehash: false });
      expect(result.stdout + result.stderr).not.toContain("hash me");
    }, TIMEOUT);

    test("acl add / list / delete keep the order and every field", async () => {
      const file = db();
      const add = (...args: string[]) => run(file, ["acl", "add", ...args]);
      expect(
        await add("--topic", "sensors/%u/#", "--allow", "--action", "publish", "--username", "alice", "--max-qos", "1"),
      )
        .toMatchObject({ code: 0 });
      expect(await add("--topic", "public/#", "--allow", "--action", "subscribe", "--anonymous", "--retain", "false"))
        .toMatchObject({ code: 0 });
      const first = await add("--topic", "#", "--deny", "--client-id", "evil", "--position", "1");
      expect(first.code).toBe(0);
      expect(first.stdout).toContain("added ACL rule 1");
      expect(first.stdout).toContain("bans.refreshInterval");
      expect(await add("--topic", "cmd/%c", "--deny", "--position", "99")).toMatchObject({ code: 0 });

      const list = await run(file, ["acl", "list"]);
      expect(list.code).toBe(0);
      const lines = list.stdout.split("\n").filter((l) => /^\d/.test(l));
      expect(lines.map((l) => l.split(/\s+/).slice(0, 2).join(" "))).toEqual([
        "1 deny",
        "2 allow",
        "3 allow",
        "4 deny",
      ]);
      expect(lines[1]).toContain("maxQos=1");
      expect(
        query(
          file,
          "SELECT position, username, client_id, anonymous, topic, action, permission, max_qos, retain FROM acl_rules ORDER BY position",
        ),
      )
        .toEqual([
          {
            position: 0,
            username: null,
            client_id: "evil",
            anonymous: 0,
            topic: "#",
            action: "both",
            permission: "deny",
            max_qos: null,
            retain: null,
          },
          {
            position: 1,
            username: "alice",
            client_id: null,
            anonymous: 0,
            topic: "sensors/%u/#",
            action: "publish",
            permission: "allow",
            max_qos: 1,
            retain: null,
          },
          {
            position: 2,
            username: null,
            client_id: null,
            anonymous: 1,
            topic: "public/#",
            action: "subscribe",
            permission: "allow",
            max_qos: null,
            retain: 0,
          },
          {
            position: 3,
            username: null,
            client_id: null,
            anonymous: 0,
            topic: "cmd/%c",
            action: "both",
            permission: "deny",
            max_qos: null,
            retain: null,
          },
        ]);

      expect(await run(file, ["acl", "delete", "2"])).toMatchObject({ code: 0 });
      expect((await run(file, ["acl", "delete", "4"])).code).toBe(1);
      expect(query(file, "SELECT position, topic FROM acl_rules ORDER BY position")).toEqual([
        { position: 0, topic: "#" },
        { position: 1, topic: "public/#" },
        { position: 2, topic: "cmd/%c" },
      ]);

      const usage: string[][] = [
        ["--topic", "a/#/b", "--allow"],
        ["--topic", "a", "--allow", "--deny"],
        ["--topic", "a"],
        ["--allow"],
        ["--topic", "a", "--allow", "--action", "read"],
        ["--topic", "a", "--allow", "--username", "u", "--anonymous"],
        ["--topic", "a", "--allow", "--max-qos", "3"],
        ["--topic", "a", "--deny", "--max-qos", "1"],
        ["--topic", "a", "--allow", "--retain", "maybe"],
        ["--topic", "a", "--allow", "--position", "0"],
      ];
      for (const args of usage) expect([args.join(" "), (await add(...args)).code]).toEqual([args.join(" "), 2]);
      expect((await run(file, ["acl", "delete", "zero"])).code).toBe(2);
      expect(query(file, "SELECT count(*) AS n FROM acl_rules")).toEqual([{ n: 3 }]);
    }, TIMEOUT);

    test("ban add / list / lift; addresses validated and canonicalized; durations expire", async () => {
      const file = db();
      const added = await run(file, ["ban", "add", "--address", "10.1.2.3/8", "--reason", "scanner"]);
      expect(added.code).toBe(0);
      expect(added.stdout).toContain("10.0.0.0/8");
      expect(added.stdout).toMatch(/bans\.refreshInterval.*SIGHUP/);
      expect(await run(file, ["ban", "add", "--address", "2001:DB8:0:0::1"])).toMatchObject({ code: 0 });
      expect(await run(file, ["ban", "add", "--client-id", "flappy", "--duration", "3600"])).toMatchObject({ code: 0 });
      expect(await run(file, ["ban", "add", "--username", "mallory"])).toMatchObject({ code: 0 });
      const rows = query(
        file,
        "SELECT kind, value, reason, created_at, expires_at FROM bans ORDER BY created_at, kind, value",
      );
      expect(rows.map((r) => [r.kind, r.value])).toEqual([
        ["address", "10.0.0.0/8"],
        ["address", "2001:db8::1"],
        ["clientId", "flappy"],
        ["username", "mallory"],
      ]);
      expect(rows[0]!.reason).toBe("scanner");
      expect(Number(rows[2]!.expires_at) - Number(rows[2]!.created_at)).toBe(3_600_000);
      expect(rows[3]!.expires_at).toBeNull();

      const list = await run(file, ["ban", "list"]);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/clientId\s+flappy\s+\d{4}-/);
      expect(list.stdout).toMatch(/username\s+mallory\s+never/);

      expect(await run(file, ["ban", "lift", "--address", "10.0.0.0/8"])).toMatchObject({ code: 0 });
      expect(await run(file, ["ban", "lift", "--address", "2001:db8::0:1"])).toMatchObject({ code: 0 });
      expect((await run(file, ["ban", "lift", "--username", "nobody"])).code).toBe(1);
      expect(query(file, "SELECT value FROM bans ORDER BY value").map((r) => r.value)).toEqual(["flappy", "mallory"]);

      for (
        const args of [
          ["ban", "add", "--address", "10.0.0.256"],
          ["ban", "add", "--address", "10.0.0.0/33"],
          ["ban", "add", "--address", "fe80::1::2"],
          ["ban", "add", "--client-id", "a", "--username", "b"],
          ["ban", "add"],
          ["ban", "add", "--client-id", "a", "--duration", "-5"],
          ["ban", "lift"],
        ]
      ) {
        expect([args.join(" "), (await run(file, args)).code]).toEqual([args.join(" "), 2]);
      }
      expect(query(file, "SELECT count(*) AS n FROM bans")).toEqual([{ n: 2 }]);
    }, TIMEOUT);

    test(
      "import mosquitto: files made by mosquitto_passwd, an acl_file; users verify with their $7$ hashes",
      async () => {
        const file = db();
        const passwd = mosquittoPasswd(file, { alice: "alice pw", bob: "bob pw" });
        const acl = writeText(
          file,
          "mosquitto.acl",
          [
            "# anonymous",
            "topic read public/#",
            "user alice",
            "topic readwrite alice/#",
            "topic deny alice/secret",
            "user bob",
            "topic write telemetry/bob",
            "pattern read devices/%c/cmd",
            "",
          ].join("\n"),
        );
        const result = await run(file, ["import", "mosquitto", "--passwd", passwd, "--acl", acl]);
        expect(result.code).toBe(0);
        expect(result.stdout).toContain("imported 2 users");
        expect(result.stdout).toContain("imported 5 ACL rules");
        expect(result.stdout).toContain("acl.default: deny");
        const users = query(file, "SELECT username, password_hash FROM users ORDER BY username");
        expect(users.map((u) => u.username)).toEqual(["alice", "bob"]);
        expect(String(users[0]!.password_hash)).toMatch(/^\$7\$/);
        expect(await verifyPassword("alice pw", String(users[0]!.password_hash))).toEqual({
          ok: true,
          needsRehash: true,
        });
        expect((await verifyPassword("bob pw", String(users[1]!.password_hash))).ok).toBe(true);
        expect(query(file, "SELECT username, anonymous, topic, action, permission FROM acl_rules ORDER BY position"))
          .toEqual([
            { username: null, anonymous: 1, topic: "public/#", action: "subscribe", permission: "allow" },
            { username: "alice", anonymous: 0, topic: "alice/secret", action: "both", permission: "deny" },
            { username: "alice", anonymous: 0, topic: "alice/#", action: "both", permission: "allow" },
            { username: "bob", anonymous: 0, topic: "telemetry/bob", action: "publish", permission: "allow" },
            { username: null, anonymous: 0, topic: "devices/%c/cmd", action: "subscribe", permission: "allow" },
          ]);
        const again = await run(file, ["import", "mosquitto", "--acl", acl]);
        expect(again.stdout).toContain("after the 5 stored before");
        expect(query(file, "SELECT count(*) AS n FROM acl_rules")).toEqual([{ n: 10 }]);
        expect(await run(file, ["import", "mosquitto", "--acl", acl, "--replace-acl"])).toMatchObject({ code: 0 });
        expect(query(file, "SELECT count(*) AS n FROM acl_rules")).toEqual([{ n: 5 }]);
      },
      TIMEOUT,
    );

    test("import mosquitto: any line it cannot read means exit 2, line numbers, and nothing written", async () => {
      const file = db();
      const passwd = mosquittoPasswd(file, { carol: "carol pw" });
      writeFileSync(passwd, "plain:password-in-clear\n", { flag: "a" });
      const acl = writeText(file, "bad.acl", "topic read ok/#\nuser dave\ntopc read typo/#\ntopic write a/#/b\n");
      const result = await run(file, ["import", "mosquitto", "--passwd", passwd, "--acl", acl]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${passwd}:2:`);
      expect(result.stderr).toContain(`${acl}:3:`);
      expect(result.stderr).toContain(`${acl}:4:`);
      expect(result.stderr).toContain("nothing imported: 3 problems");
      expect(result.stderr).not.toContain("password-in-clear");
      expect(query(file, "SELECT count(*) AS n FROM users")).toEqual([{ n: 0 }]);
      expect(query(file, "SELECT count(*) AS n FROM acl_rules")).toEqual([{ n: 0 }]);
      expect((await run(file, ["import", "mosquitto"])).code).toBe(2);
      expect((await run(file, ["import", "mosquitto", "--passwd", "/nonexistent"])).code).toBe(2);
    }, TIMEOUT);

    test(
      "the database comes from the effective configuration: --config, GANNET_* environment; memory is refused",
      async () => {
        const file = db();
        const config = writeText(file, "gannet.yaml", `persistence:\n  path: ${file}\n`);
        expect(await gannet(runtime, ["ban", "add", "--client-id", "via-config", "--config", config])).toMatchObject({
          code: 0,
        });
        const viaEnv = await gannet(runtime, ["ban", "add", "--client-id", "via-env"], {
          env: { GANNET_PERSISTENCE__PATH: file },
        });
        expect(viaEnv.code).toBe(0);
        expect(query(file, "SELECT value FROM bans ORDER BY value").map((r) => r.value)).toEqual([
          "via-config",
          "via-env",
        ]);
        const memory = await gannet(runtime, ["user", "list", "--set", "persistence.store=memory"]);
        expect(memory.code).toBe(2);
        expect(memory.stderr).toContain("persistence.store is memory");
        const badConfig = await gannet(runtime, ["user", "list", "--config", "/nonexistent.yaml"]);
        expect(badConfig.code).toBe(2);
      },
      TIMEOUT,
    );

    test(
      "while a broker runs on the same database, the CLI writes (WAL, busy timeout) and the broker keeps serving",
      async () => {
        const file = db();
        const broker = await startBroker({ runtime, database: file });
        try {
          // The other runtime's CLI too when both are tested: bun:sqlite and libSQL share the file.
          const other = RUNTIMES.find((r) => r !== runtime) ?? runtime;
          const writes = await Promise.all([
            run(file, ["user", "add", "live", "--password", "pw"]),
            gannet(other, ["ban", "add", "--client-id", "live-ban", ...at(file)]),
            run(file, ["acl", "add", "--topic", "live/#", "--allow"]),
          ]);
          expect(writes.map((w) => [w.code, w.stderr])).toEqual([[0, ""], [0, ""], [0, ""]]);
          expect(broker.logs()).not.toMatch(/"level":"error"/);
          expect(query(file, "SELECT username FROM users")).toEqual([{ username: "live" }]);
          expect(query(file, "SELECT value FROM bans")).toEqual([{ value: "live-ban" }]);
          expect(query(file, "SELECT topic FROM acl_rules")).toEqual([{ topic: "live/#" }]);
        } finally {
          expect(await broker.stop()).toBe(0);
        }
      },
      TIMEOUT,
    );
  });
}
