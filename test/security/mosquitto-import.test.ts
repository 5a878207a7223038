/** Parsing Mosquitto's password file and acl_file for `gannet import mosquitto`. */
import { expect, test } from "bun:test";
import { parseMosquittoAcl, parseMosquittoPasswd } from "../../src/security/mosquitto-import.ts";

test("password file: $7$ and $6$ hashes kept as they are; comments and blank lines skipped", () => {
  const text = "# users\nalice:$7$101$c2FsdHNhbHQ=$aGFzaA==\n\nbob:$6$c2FsdA==$aGFzaA==\r\n";
  expect(parseMosquittoPasswd(text)).toEqual({
    users: [
      { username: "alice", passwordHash: "$7$101$c2FsdHNhbHQ=$aGFzaA==" },
      { username: "bob", passwordHash: "$6$c2FsdA==$aGFzaA==" },
    ],
    problems: [],
  });
});

test("password file: plain-text passwords and junk are line-numbered problems that never quote the password", () => {
  const { problems } = parseMosquittoPasswd("alice:hunter2\nno colon here\n:$7$101$c2FsdA==$aGFzaA==\n");
  expect(problems.map((p) => p.line)).toEqual([1, 2, 3]);
  expect(JSON.stringify(problems)).not.toContain("hunter2");
  expect(problems[0]!.message).toContain("mosquitto_passwd -U");
});

test("acl_file: anonymous section, user sections, patterns; denies first within each; access words mapped", () => {
  const text = [
    "# anonymous clients",
    "topic read public/#",
    "topic deny public/secret",
    "",
    "user alice",
    "topic readwrite alice/#",
    "topic write sensors/+/temp",
    "topic deny alice/private",
    "topic a topic with spaces",
    "pattern write devices/%c/state",
    "user bob smith",
    "topic read $SYS/#",
    "pattern deny devices/%u/admin",
  ].join("\n");
  const { rules, users, problems } = parseMosquittoAcl(text);
  expect(problems).toEqual([]);
  expect(users).toEqual(["alice", "bob smith"]);
  expect(rules).toEqual([
    { anonymous: true, topic: "public/secret", action: "both", permission: "deny" },
    { anonymous: true, topic: "public/#", action: "subscribe", permission: "allow" },
    { username: "alice", topic: "alice/private", action: "both", permission: "deny" },
    { username: "alice", topic: "alice/#", action: "both", permission: "allow" },
    { username: "alice", topic: "sensors/+/temp", action: "publish", permission: "allow" },
    { username: "alice", topic: "a topic with spaces", action: "both", permission: "allow" },
    { username: "bob smith", topic: "$SYS/#", action: "subscribe", permission: "allow" },
    { topic: "devices/%u/admin", action: "both", permission: "deny" },
    { topic: "devices/%c/state", action: "publish", permission: "allow" },
  ]);
});

test("acl_file: a user named twice continues the same section", () => {
  const { rules } = parseMosquittoAcl("user a\ntopic x\nuser b\ntopic y\nuser a\ntopic z\n");
  expect(rules.map((r) => `${r.username}:${r.topic}`)).toEqual(["a:x", "a:z", "b:y"]);
});

test("acl_file: problems carry line numbers", () => {
  const { problems } = parseMosquittoAcl("topic read ok/#\nuser\ntopic read\nbogus line\ntopic read a/#/b\npattern\n");
  expect(problems.map((p) => p.line)).toEqual([2, 3, 4, 5, 6]);
  expect(problems[2]!.message).toContain("bogus");
});
