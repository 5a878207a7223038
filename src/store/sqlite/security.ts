/**
 * SecurityStore over SQLite (tables users, acl_rules, bans: schema.ts). Unlike the session writes
 * these skip the group commit: each write is its own transaction, durable when its promise
 * resolves, because they come from the CLI or the admin API, seldom and one at a time. Another
 * process (the CLI) may write the same file while the broker runs: WAL lets readers go on, and
 * busy_timeout (set by SqliteStore.open on this connection) makes a writer wait for the lock.
 *
 * ACL positions stay 0..n-1: an insert or delete renumbers the rules after it in the same
 * transaction. The unique index on position is checked row by row during an UPDATE, so the shift
 * goes through negative numbers (p -> -(p+1) -> p+1) instead of colliding with a neighbour.
 */
import type { QoS } from "../../model/message.ts";
import type {
  AclAction,
  AclPermission,
  AclRule,
  Ban,
  BanKind,
  SecurityStore,
  UserRecord,
} from "../../security/types.ts";
import type { SqlExecutor, SqlRow, SqlValue } from "./executor.ts";
import { num, optNum, optStr, str } from "./rows.ts";

const ACL_COLUMNS = "username, client_id, anonymous, topic, action, permission, max_qos, retain";

export class SqliteSecurityStore implements SecurityStore {
  constructor(private readonly db: SqlExecutor) {}

  async getUser(username: string): Promise<UserRecord | undefined> {
    const [row] = await this.db.all("SELECT * FROM users WHERE username = ?", [username]);
    return row ? toUser(row) : undefined;
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.db.all("SELECT * FROM users ORDER BY username")).map(toUser);
  }

  async putUser(user: UserRecord): Promise<void> {
    await this.db.transaction([{
      sql: "INSERT INTO users (username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, " +
        "created_at = excluded.created_at, updated_at = excluded.updated_at",
      params: [user.username, user.passwordHash, user.createdAt, user.updatedAt],
    }]);
  }

  async deleteUser(username: string): Promise<boolean> {
    // Read, then delete: the executor reports no row counts (a concurrent delete only makes this say true twice).
    if (!(await this.getUser(username))) return false;
    await this.db.transaction([{ sql: "DELETE FROM users WHERE username = ?", params: [username] }]);
    return true;
  }

  async listAclRules(): Promise<AclRule[]> {
    return (await this.db.all(`SELECT ${ACL_COLUMNS} FROM acl_rules ORDER BY position`)).map(toAclRule);
  }

  async addAclRule(rule: AclRule, position?: number): Promise<void> {
    const values = aclParams(rule);
    const marks = values.map(() => "?").join(", ");
    if (position === undefined) {
      await this.db.transaction([{
        sql: `INSERT INTO acl_rules (position, ${ACL_COLUMNS}) VALUES ((SELECT count(*) FROM acl_rules), ${marks})`,
        params: values,
      }]);
      return;
    }
    const at = Math.max(0, Math.floor(position));
    await this.db.transaction([
      { sql: "UPDATE acl_rules SET position = -position - 1 WHERE position >= ?", params: [at] },
      { sql: "UPDATE acl_rules SET position = -position WHERE position < 0", params: [] },
      {
        // Past the end means at the end (the count is taken inside the transaction).
        sql: `INSERT INTO acl_rules (position, ${ACL_COLUMNS}) VALUES ` +
          `((SELECT min(?, count(*)) FROM acl_rules), ${marks})`,
        params: [at, ...values],
      },
    ]);
  }

  async deleteAclRule(position: number): Promise<boolean> {
    if (!Number.isInteger(position) || position < 0) return false;
    const [row] = await this.db.all("SELECT count(*) AS n FROM acl_rules WHERE position = ?", [position]);
    if (!row || num(row, "n") === 0) return false;
    await this.db.transaction([
      { sql: "DELETE FROM acl_rules WHERE position = ?", params: [position] },
      { sql: "UPDATE acl_rules SET position = -position WHERE position > ?", params: [position] },
      { sql: "UPDATE acl_rules SET position = -position - 1 WHERE position < 0", params: [] },
    ]);
    return true;
  }

  async replaceAclRules(rules: readonly AclRule[]): Promise<void> {
    const marks = ACL_COLUMNS.split(",").map(() => "?").join(", ");
    await this.db.transaction([
      { sql: "DELETE FROM acl_rules", params: [] },
      ...rules.map((rule, i) => ({
        sql: `INSERT INTO acl_rules (position, ${ACL_COLUMNS}) VALUES (?, ${marks})`,
        params: [i, ...aclParams(rule)],
      })),
    ]);
  }

  async listBans(now: number): Promise<Ban[]> {
    const rows = await this.db.all(
      "SELECT * FROM bans WHERE expires_at IS NULL OR expires_at > ? ORDER BY created_at, kind, value",
      [now],
    );
    return rows.map(toBan);
  }

  async addBan(ban: Ban): Promise<void> {
    await this.db.transaction([{
      sql: "INSERT INTO bans (kind, value, reason, created_at, expires_at) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (kind, value) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at, " +
        "expires_at = excluded.expires_at",
      params: [ban.kind, ban.value, ban.reason, ban.createdAt, ban.expiresAt],
    }]);
  }

  async liftBan(kind: BanKind, value: string): Promise<boolean> {
    const [row] = await this.db.all("SELECT count(*) AS n FROM bans WHERE kind = ? AND value = ?", [kind, value]);
    if (!row || num(row, "n") === 0) return false;
    await this.db.transaction([{ sql: "DELETE FROM bans WHERE kind = ? AND value = ?", params: [kind, value] }]);
    return true;
  }

  async deleteExpiredBans(now: number): Promise<number> {
    const [row] = await this.db.all("SELECT count(*) AS n FROM bans WHERE expires_at <= ?", [now]);
    const n = row ? num(row, "n") : 0;
    if (n > 0) await this.db.transaction([{ sql: "DELETE FROM bans WHERE expires_at <= ?", params: [now] }]);
    return n;
  }
}

function toUser(row: SqlRow): UserRecord {
  return {
    username: str(row, "username"),
    passwordHash: str(row, "password_hash"),
    createdAt: num(row, "created_at"),
    updatedAt: num(row, "updated_at"),
  };
}

function aclParams(rule: AclRule): SqlValue[] {
  return [
    rule.username ?? null,
    rule.clientId ?? null,
    rule.anonymous ? 1 : 0,
    rule.topic,
    rule.action,
    rule.permission,
    rule.maxQos ?? null,
    rule.retain === undefined ? null : rule.retain ? 1 : 0,
  ];
}

function corrupt(column: string, value: unknown): Error {
  return new Error(`corrupt database row: acl_rules.${column} is ${JSON.stringify(value)}`);
}

function toAclRule(row: SqlRow): AclRule {
  const action = str(row, "action");
  const permission = str(row, "permission");
  if (action !== "publish" && action !== "subscribe" && action !== "both") throw corrupt("action", action);
  if (permission !== "allow" && permission !== "deny") throw corrupt("permission", permission);
  const rule: AclRule = {
    topic: str(row, "topic"),
    action: action as AclAction,
    permission: permission as AclPermission,
  };
  const username = optStr(row, "username");
  const clientId = optStr(row, "client_id");
  if (username !== undefined) rule.username = username;
  if (clientId !== undefined) rule.clientId = clientId;
  if (num(row, "anonymous") !== 0) rule.anonymous = true;
  const maxQos = optNum(row, "max_qos");
  if (maxQos !== undefined) {
    if (maxQos !== 0 && maxQos !== 1 && maxQos !== 2) throw corrupt("max_qos", maxQos);
    rule.maxQos = maxQos as QoS;
  }
  const retain = optNum(row, "retain");
  if (retain !== undefined) rule.retain = retain !== 0;
  return rule;
}

function toBan(row: SqlRow): Ban {
  const kind = str(row, "kind");
  if (kind !== "clientId" && kind !== "username" && kind !== "address") {
    throw new Error(`corrupt database row: bans.kind is ${JSON.stringify(kind)}`);
  }
  return {
    kind,
    value: str(row, "value"),
    reason: str(row, "reason"),
    createdAt: num(row, "created_at"),
    expiresAt: optNum(row, "expires_at") ?? null,
  };
}
