/**
 * Changes to MQTT users, ACL rules and bans, shared by the CLI (`gannet user|acl|ban`) and the admin
 * API so both check the same things and say the same words. Errors are AdminOperationError
 * (not_found / conflict / bad_request); positions are 0-based here (the CLI numbers rules from 1).
 */
import { isValidTopicFilter } from "../protocol/topics.ts";
import { AdminOperationError } from "./admin-accounts.ts";
import { canonicalAddressBan } from "./address.ts";
import { hashPassword } from "./passwords.ts";
import type { AclRule, Ban, BanKind, SecurityStore } from "./types.ts";

const quote = (s: string) => JSON.stringify(s.length > 100 ? s.slice(0, 100) + "…" : s);

export function userNameProblem(name: string): string | undefined {
  if (name === "") return "missing user name";
  if (name.includes("\u0000")) return "user name must not contain U+0000";
  if (new TextEncoder().encode(name).length > 65535) return "user name longer than 65,535 bytes";
  return undefined;
}

export async function setUserPassword(
  store: SecurityStore,
  username: string,
  password: string,
  mode: "add" | "passwd",
  now: number,
): Promise<void> {
  const problem = userNameProblem(username) ?? (password === "" ? "empty password" : undefined);
  if (problem) throw new AdminOperationError("bad_request", problem);
  const existing = await store.getUser(username);
  if (mode === "add" && existing) {
    throw new AdminOperationError("conflict", `user ${quote(username)} exists (change its password with gannet user passwd)`);
  }
  if (mode === "passwd" && !existing) {
    throw new AdminOperationError("not_found", `no user ${quote(username)} (add it with gannet user add)`);
  }
  await store.putUser({ username, passwordHash: await hashPassword(password), createdAt: existing?.createdAt ?? now, updatedAt: now });
}

export async function deleteUser(store: SecurityStore, username: string): Promise<void> {
  if (!(await store.deleteUser(username))) throw new AdminOperationError("not_found", `no user ${quote(username)}`);
}

/** A problem with `rule`, or undefined: a valid filter (with %u/%c as whole levels), one "who", qualifiers on allow rules only. */
export function aclRuleProblem(rule: AclRule): string | undefined {
  if (!isValidTopicFilter(rule.topic.replaceAll("%u", "u").replaceAll("%c", "c"))) {
    return `topic ${quote(rule.topic)} is not a valid topic filter`;
  }
  const who = [rule.username !== undefined, rule.clientId !== undefined, rule.anonymous === true].filter(Boolean).length;
  if (who > 1) return "give at most one of username, clientId, anonymous (none: every client)";
  if (rule.permission === "deny" && (rule.maxQos !== undefined || rule.retain !== undefined)) {
    return "maxQos and retain qualify allow rules only";
  }
  return undefined;
}

/** Inserts at `position` (0-based; past the end or undefined: at the end); returns where it went. */
export async function addAclRule(store: SecurityStore, rule: AclRule, position?: number): Promise<number> {
  const problem = aclRuleProblem(rule);
  if (problem) throw new AdminOperationError("bad_request", problem);
  const count = (await store.listAclRules()).length;
  const index = position === undefined ? count : Math.min(Math.max(0, position), count);
  await store.addAclRule(rule, index);
  return index;
}

/** Deletes the rule at `position` (0-based) and returns it. */
export async function deleteAclRule(store: SecurityStore, position: number): Promise<AclRule> {
  const rules = await store.listAclRules();
  const rule = rules[position];
  if (!rule || !(await store.deleteAclRule(position))) {
    throw new AdminOperationError("not_found", `no ACL rule ${position + 1} (there are ${rules.length})`);
  }
  return rule;
}

/** The ban's value in canonical form (addresses and CIDR blocks normalized), or a bad_request error. */
export function banTarget(kind: BanKind, value: string): { kind: BanKind; value: string } {
  if (kind === "address") {
    const canonical = canonicalAddressBan(value);
    if (typeof canonical !== "string") throw new AdminOperationError("bad_request", canonical.problem);
    return { kind, value: canonical };
  }
  if (value === "" || value.includes("\u0000")) {
    throw new AdminOperationError("bad_request", `${kind === "clientId" ? "client id" : "user name"} must be non-empty without U+0000`);
  }
  return { kind, value };
}

export async function addBan(
  store: SecurityStore,
  target: { kind: BanKind; value: string },
  options: { reason?: string; durationSeconds?: number },
  now: number,
): Promise<Ban> {
  const ban: Ban = {
    ...banTarget(target.kind, target.value),
    reason: options.reason ?? "set by an operator",
    createdAt: now,
    expiresAt: options.durationSeconds === undefined ? null : now + options.durationSeconds * 1000,
  };
  await store.addBan(ban);
  return ban;
}

export async function liftBan(store: SecurityStore, kind: BanKind, value: string): Promise<void> {
  const target = banTarget(kind, value);
  if (!(await store.liftBan(target.kind, target.value))) {
    throw new AdminOperationError("not_found", `no ban on ${target.kind} ${target.value}`);
  }
}
