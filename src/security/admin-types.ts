/**
 * Admin accounts, API keys and the audit log: who may use the admin API and the console, and what
 * they changed. Separate from MQTT users (types.ts). Kept in the store (SQLite tables admin_*), written
 * by the CLI (`gannet admin ...`) and the admin API; each write durable when its promise resolves.
 */

export const ADMIN_ROLES = ["admin", "viewer"] as const;
/** admin: everything; viewer: read only. */
export type AdminRole = (typeof ADMIN_ROLES)[number];

export interface AdminAccount {
  name: string;
  /** argon2id PHC string (src/security/passwords.ts). */
  passwordHash: string;
  role: AdminRole;
  /** Clock ms. */
  createdAt: number;
  updatedAt: number;
}

export interface ApiKeyRecord {
  /** The public part of the key `gnt_<id>_<secret>`. */
  id: string;
  label: string;
  /** The account that created it (deleting the account revokes the key). */
  account: string;
  role: AdminRole;
  /** Hex SHA-256 of the secret part: the key itself is shown once and never stored. */
  secretHash: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface AuditEntry {
  /** Assigned by the store, increasing. */
  id: number;
  /** Clock ms. */
  at: number;
  /** An account name, `key:<id>`, or `cli`. */
  actor: string;
  /** What was done, e.g. `user.add`, `client.disconnect`, `login.failed`. */
  action: string;
  /** What it was done to (a user name, a client id, a topic...; "" when none). */
  target: string;
  /** Particulars as JSON text (never a password or a key); null when none. */
  detail: string | null;
  /** The requester's address, when it came over HTTP. */
  address: string | null;
}

export interface AuditQuery {
  offset?: number;
  limit?: number;
  actor?: string;
  /** A prefix of the action, e.g. "user." */
  action?: string;
}

export interface AdminStore {
  getAccount(name: string): Promise<AdminAccount | undefined>;
  listAccounts(): Promise<AdminAccount[]>;
  /** Insert or replace by name. */
  putAccount(account: AdminAccount): Promise<void>;
  /** Deletes the account and its API keys; false when there was no such account. */
  deleteAccount(name: string): Promise<boolean>;

  getApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Insert (ids are random and never reused). */
  addApiKey(key: ApiKeyRecord): Promise<void>;
  /** False when there was no such key. */
  deleteApiKey(id: string): Promise<boolean>;
  /** Records the last use (best effort: the caller does not wait for it). */
  touchApiKey(id: string, at: number): Promise<void>;

  appendAudit(entry: Omit<AuditEntry, "id">): Promise<void>;
  /** Newest first. */
  listAudit(query?: AuditQuery): Promise<{ items: AuditEntry[]; total: number }>;
}
