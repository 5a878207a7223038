/**
 * SecurityStore in memory (the memory store's, and tests'): the same behaviour as the SQLite one,
 * copies in and out so a caller's objects never alias the stored ones.
 */
import type { AclRule, Ban, BanKind, SecurityStore, UserRecord } from "./types.ts";

const banKey = (kind: BanKind, value: string) => `${kind}\u0000${value}`;

export class MemorySecurityStore implements SecurityStore {
  private readonly users = new Map<string, UserRecord>();
  private rules: AclRule[] = [];
  private readonly bans = new Map<string, Ban>();

  getUser(username: string): Promise<UserRecord | undefined> {
    const user = this.users.get(username);
    return Promise.resolve(user && { ...user });
  }
  listUsers(): Promise<UserRecord[]> {
    const all = [...this.users.values()].sort((a, b) => compare(a.username, b.username));
    return Promise.resolve(all.map((u) => ({ ...u })));
  }
  putUser(user: UserRecord): Promise<void> {
    this.users.set(user.username, { ...user });
    return Promise.resolve();
  }
  deleteUser(username: string): Promise<boolean> {
    return Promise.resolve(this.users.delete(username));
  }

  listAclRules(): Promise<AclRule[]> {
    return Promise.resolve(this.rules.map((r) => ({ ...r })));
  }
  addAclRule(rule: AclRule, position?: number): Promise<void> {
    const at = position === undefined
      ? this.rules.length
      : Math.min(Math.max(0, Math.floor(position)), this.rules.length);
    this.rules.splice(at, 0, clean(rule));
    return Promise.resolve();
  }
  deleteAclRule(position: number): Promise<boolean> {
    if (!Number.isInteger(position) || position < 0 || position >= this.rules.length) return Promise.resolve(false);
    this.rules.splice(position, 1);
    return Promise.resolve(true);
  }
  replaceAclRules(rules: readonly AclRule[]): Promise<void> {
    this.rules = rules.map(clean);
    return Promise.resolve();
  }

  listBans(now: number): Promise<Ban[]> {
    const live = [...this.bans.values()].filter((b) => b.expiresAt === null || b.expiresAt > now);
    live.sort((a, b) => a.createdAt - b.createdAt || compare(a.kind, b.kind) || compare(a.value, b.value));
    return Promise.resolve(live.map((b) => ({ ...b })));
  }
  addBan(ban: Ban): Promise<void> {
    this.bans.set(banKey(ban.kind, ban.value), { ...ban });
    return Promise.resolve();
  }
  liftBan(kind: BanKind, value: string): Promise<boolean> {
    return Promise.resolve(this.bans.delete(banKey(kind, value)));
  }
  deleteExpiredBans(now: number): Promise<number> {
    let n = 0;
    for (const [key, ban] of this.bans) {
      if (ban.expiresAt !== null && ban.expiresAt <= now) {
        this.bans.delete(key);
        n++;
      }
    }
    return Promise.resolve(n);
  }
}

/** Binary order, as SQLite's ORDER BY on text. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A copy without the optional fields that are undefined or false (as the SQLite store reads them back). */
function clean(rule: AclRule): AclRule {
  const copy: AclRule = { topic: rule.topic, action: rule.action, permission: rule.permission };
  if (rule.username !== undefined) copy.username = rule.username;
  if (rule.clientId !== undefined) copy.clientId = rule.clientId;
  if (rule.anonymous) copy.anonymous = true;
  if (rule.maxQos !== undefined) copy.maxQos = rule.maxQos;
  if (rule.retain !== undefined) copy.retain = rule.retain;
  return copy;
}
