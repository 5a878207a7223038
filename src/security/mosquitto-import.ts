/**
 * Reading Mosquitto's files for `gannet import mosquitto`: a password file (`user:hash` lines,
 * hashes kept as they are: verifyPassword accepts `$7$` and `$6$`) and an acl_file.
 *
 * acl_file mapping (Mosquitto 2 semantics, first match wins in Gannet):
 *   - `topic [read|write|readwrite|deny] T`: read -> subscribe, write -> publish, readwrite (the
 *     default) -> both, deny -> deny both. Lines before the first `user` line apply to anonymous
 *     clients, later ones to the user of the section.
 *   - `pattern [access] T`: every client, `%u` and `%c` kept.
 *   - Mosquitto checks a client's own list, denials first, then the patterns, denials first; so
 *     the rules come out as: per section (anonymous, then users in file order) its denies then its
 *     allows, then the pattern denies, then the pattern allows.
 * Anything else is a problem with its line number; the caller writes nothing when there is one.
 */
import { isValidTopicFilter } from "../protocol/topics.ts";
import { hashScheme } from "./passwords.ts";
import type { AclAction, AclRule } from "./types.ts";

export interface LineProblem {
  line: number;
  message: string;
}

export interface ImportedUser {
  username: string;
  passwordHash: string;
}

export function parseMosquittoPasswd(text: string): { users: ImportedUser[]; problems: LineProblem[] } {
  const users = new Map<string, ImportedUser>();
  const problems: LineProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === "" || raw.trimStart().startsWith("#")) return;
    const colon = raw.indexOf(":");
    if (colon <= 0) {
      problems.push({ line, message: "expected user:hash" });
      return;
    }
    const username = raw.slice(0, colon);
    const passwordHash = raw.slice(colon + 1).trim();
    // Never quote the second field: in an un-hashed file (before mosquitto_passwd -U) it is the password.
    if (!hashScheme(passwordHash)) {
      problems.push({
        line,
        message: `user ${JSON.stringify(username)}: not a Mosquitto $7$ or $6$ hash ` +
          "(a plain-text password file must be hashed first with mosquitto_passwd -U)",
      });
      return;
    }
    if (users.has(username)) problems.push({ line, message: `user ${JSON.stringify(username)} appears twice` });
    users.set(username, { username, passwordHash });
  });
  return { users: [...users.values()], problems };
}

const ACCESS: Record<string, { action: AclAction; permission: "allow" | "deny" }> = {
  read: { action: "subscribe", permission: "allow" },
  write: { action: "publish", permission: "allow" },
  readwrite: { action: "both", permission: "allow" },
  deny: { action: "both", permission: "deny" },
};

interface Section {
  who: Pick<AclRule, "username" | "anonymous">;
  deny: AclRule[];
  allow: AclRule[];
}

export interface ImportedAcl {
  rules: AclRule[];
  /** User names that have a `user` section. */
  users: string[];
  problems: LineProblem[];
}

export function parseMosquittoAcl(text: string): ImportedAcl {
  const problems: LineProblem[] = [];
  const anonymous: Section = { who: { anonymous: true }, deny: [], allow: [] };
  const patterns: Section = { who: {}, deny: [], allow: [] };
  const sections: Section[] = [anonymous];
  const byUser = new Map<string, Section>();
  let current = anonymous;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const keyword = /^(\S+)\s*(.*)$/.exec(trimmed)!;
    const [, word, rest] = keyword;
    if (word === "user") {
      if (rest === "") {
        problems.push({ line, message: "`user` needs a user name" });
        return;
      }
      let section = byUser.get(rest);
      if (!section) {
        section = { who: { username: rest }, deny: [], allow: [] };
        byUser.set(rest, section);
        sections.push(section);
      }
      current = section;
      return;
    }
    if (word !== "topic" && word !== "pattern") {
      problems.push({ line, message: `unknown keyword ${JSON.stringify(word)} (expected user, topic or pattern)` });
      return;
    }
    const access = /^(read|write|readwrite|deny)(?:\s+(.*))?$/.exec(rest);
    const topic = (access ? access[2] ?? "" : rest).trim();
    const mapped = ACCESS[access ? access[1] : "readwrite"];
    if (topic === "") {
      problems.push({ line, message: `\`${word}\` needs a topic` });
      return;
    }
    // %u/%c stand for whole levels in patterns; a literal filter must be valid as it is.
    const checked = word === "pattern" ? topic.replaceAll("%u", "u").replaceAll("%c", "c") : topic;
    if (!isValidTopicFilter(checked)) {
      problems.push({ line, message: `${JSON.stringify(topic)} is not a valid topic filter` });
      return;
    }
    const target = word === "pattern" ? patterns : current;
    const rule: AclRule = { ...target.who, topic, ...mapped };
    (mapped.permission === "deny" ? target.deny : target.allow).push(rule);
  });
  const rules = [...sections, patterns].flatMap((s) => [...s.deny, ...s.allow]);
  return { rules, users: [...byUser.keys()], problems };
}
