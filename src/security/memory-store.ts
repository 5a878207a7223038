/** Placeholder until the store branch lands: security state in memory. */
import type { AclRule, Ban, BanKind, SecurityStore, UserRecord } from "./types.ts";

export class MemorySecurityStore implements SecurityStore {
  private users = new Map<string, UserRecord>();
  private rules: AclRule[] = [];
  private bans = new Map<string, Ban>();
  getUser(username: string) {
    return Promise.resolve(this.users.get(username));
  }
  listUsers() {
    return Promise.resolve([...this.users.values()]);
  }
  putUser(user: UserRecord) {
    this.users.set(user.username, user);
    return Promise.resolve();
  }
  deleteUser(username: string) {
    return Promise.resolve(this.users.delete(username));
  }
  listAclRules() {
    return Promise.resolve([...this.rules]);
  }
  addAclRule(rule: AclRule, position = this.rules.length) {
    this.rules.splice(position, 0, rule);
    return Promise.resolve();
  }
  deleteAclRule(position: number) {
    return Promise.resolve(this.rules.splice(position, 1).length > 0);
  }
  replaceAclRules(rules: readonly AclRule[]) {
    this.rules = [...rules];
    return Promise.resolve();
  }
  listBans(now: number) {
    return Promise.resolve([...this.bans.values()].filter((b) => b.expiresAt === null || b.expiresAt > now));
  }
  addBan(ban: Ban) {
    this.bans.set(`${ban.kind}:${ban.value}`, ban);
    return Promise.resolve();
  }
  liftBan(kind: BanKind, value: string) {
    return Promise.resolve(this.bans.delete(`${kind}:${value}`));
  }
  deleteExpiredBans(now: number) {
    let n = 0;
    for (const [k, b] of this.bans) if (b.expiresAt !== null && b.expiresAt <= now) n += this.bans.delete(k) ? 1 : 0;
    return Promise.resolve(n);
  }
}
