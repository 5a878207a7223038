/**
 * AdminStore over SQLite (tables admin_accounts, admin_api_keys, admin_audit: schema.ts). Like the
 * security tables, each write is its own transaction outside the group commit: they come from the
 * CLI or the admin API, seldom and one at a time.
 */
import type { AdminAccount, AdminRole, AdminStore, ApiKeyRecord, AuditEntry, AuditQuery } from "../../security/admin-types.ts";
import type { SqlExecutor, SqlRow, SqlValue } from "./executor.ts";
import { num, optNum, optStr, str } from "./rows.ts";

export class SqliteAdminStore implements AdminStore {
  constructor(private readonly db: SqlExecutor) {}

  async getAccount(name: string): Promise<AdminAccount | undefined> {
    const [row] = await this.db.all("SELECT * FROM admin_accounts WHERE name = ?", [name]);
    return row ? toAccount(row) : undefined;
  }

  async listAccounts(): Promise<AdminAccount[]> {
    return (await this.db.all("SELECT * FROM admin_accounts ORDER BY name")).map(toAccount);
  }

  async putAccount(a: AdminAccount): Promise<void> {
    await this.db.transaction([{
      sql: "INSERT INTO admin_accounts (name, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role, " +
        "created_at = excluded.created_at, updated_at = excluded.updated_at",
      params: [a.name, a.passwordHash, a.role, a.createdAt, a.updatedAt],
    }]);
  }

  async deleteAccount(name: string): Promise<boolean> {
    if (!(await this.getAccount(name))) return false;
    // The keys go by ON DELETE CASCADE; deleted explicitly too, in case foreign keys are off on this connection.
    await this.db.transaction([
      { sql: "DELETE FROM admin_api_keys WHERE account = ?", params: [name] },
      { sql: "DELETE FROM admin_accounts WHERE name = ?", params: [name] },
    ]);
    return true;
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    const [row] = await this.db.all("SELECT * FROM admin_api_keys WHERE id = ?", [id]);
    return row ? toKey(row) : undefined;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return (await this.db.all("SELECT * FROM admin_api_keys ORDER BY created_at, id")).map(toKey);
  }

  async addApiKey(k: ApiKeyRecord): Promise<void> {
    await this.db.transaction([{
      sql: "INSERT INTO admin_api_keys (id, label, account, role, secret_hash, created_at, last_used_at) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
      params: [k.id, k.label, k.account, k.role, k.secretHash, k.createdAt, k.lastUsedAt],
    }]);
  }

  async deleteApiKey(id: string): Promise<boolean> {
    if (!(await this.getApiKey(id))) return false;
    await this.db.transaction([{ sql: "DELETE FROM admin_api_keys WHERE id = ?", params: [id] }]);
    return true;
  }

  async touchApiKey(id: string, at: number): Promise<void> {
    await this.db.transaction([{ sql: "UPDATE admin_api_keys SET last_used_at = ? WHERE id = ?", params: [at, id] }]);
  }

  async appendAudit(e: Omit<AuditEntry, "id">): Promise<void> {
    await this.db.transaction([{
      sql: "INSERT INTO admin_audit (at, actor, action, target, detail, address) VALUES (?, ?, ?, ?, ?, ?)",
      params: [e.at, e.actor, e.action, e.target, e.detail, e.address],
    }]);
  }

  async listAudit(query: AuditQuery = {}): Promise<{ items: AuditEntry[]; total: number }> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (query.actor !== undefined) {
      where.push("actor = ?");
      params.push(query.actor);
    }
    if (query.action !== undefined) {
      // A prefix match without LIKE's wildcards: compare the leading characters.
      where.push("substr(action, 1, ?) = ?");
      params.push(query.action.length, query.action);
    }
    const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
    const [count] = await this.db.all(`SELECT count(*) AS n FROM admin_audit ${clause}`, params);
    const rows = await this.db.all(
      `SELECT * FROM admin_audit ${clause} ORDER BY id DESC LIMIT ? OFFSET ?`,
      [...params, query.limit ?? 100, query.offset ?? 0],
    );
    return { items: rows.map(toAudit), total: count ? num(count, "n") : 0 };
  }
}

function role(row: SqlRow, table: string): AdminRole {
  const value = str(row, "role");
  if (value !== "admin" && value !== "viewer") {
    throw new Error(`corrupt database row: ${table}.role is ${JSON.stringify(value)}`);
  }
  return value;
}

function toAccount(row: SqlRow): AdminAccount {
  return {
    name: str(row, "name"),
    passwordHash: str(row, "password_hash"),
    role: role(row, "admin_accounts"),
    createdAt: num(row, "created_at"),
    updatedAt: num(row, "updated_at"),
  };
}

function toKey(row: SqlRow): ApiKeyRecord {
  return {
    id: str(row, "id"),
    label: str(row, "label"),
    account: str(row, "account"),
    role: role(row, "admin_api_keys"),
    secretHash: str(row, "secret_hash"),
    createdAt: num(row, "created_at"),
    lastUsedAt: optNum(row, "last_used_at") ?? null,
  };
}

function toAudit(row: SqlRow): AuditEntry {
  return {
    id: num(row, "id"),
    at: num(row, "at"),
    actor: str(row, "actor"),
    action: str(row, "action"),
    target: str(row, "target"),
    detail: optStr(row, "detail") ?? null,
    address: optStr(row, "address") ?? null,
  };
}
