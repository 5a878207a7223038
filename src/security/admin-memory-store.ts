/** AdminStore in memory (the memory store's, and tests'): copies in and out, as the SQLite one behaves. */
import type { AdminAccount, AdminStore, ApiKeyRecord, AuditEntry, AuditQuery } from "./admin-types.ts";

/** Audit entries kept in memory (the oldest go first): the memory store is for tests and trials. */
const MAX_AUDIT = 10_000;

export class MemoryAdminStore implements AdminStore {
  private readonly accounts = new Map<string, AdminAccount>();
  private readonly keys = new Map<string, ApiKeyRecord>();
  private audit: AuditEntry[] = [];
  private nextAuditId = 1;

  getAccount(name: string): Promise<AdminAccount | undefined> {
    const account = this.accounts.get(name);
    return Promise.resolve(account && { ...account });
  }
  listAccounts(): Promise<AdminAccount[]> {
    const all = [...this.accounts.values()].sort((a, b) => compare(a.name, b.name));
    return Promise.resolve(all.map((a) => ({ ...a })));
  }
  putAccount(account: AdminAccount): Promise<void> {
    this.accounts.set(account.name, { ...account });
    return Promise.resolve();
  }
  deleteAccount(name: string): Promise<boolean> {
    for (const [id, key] of this.keys) if (key.account === name) this.keys.delete(id);
    return Promise.resolve(this.accounts.delete(name));
  }

  getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    const key = this.keys.get(id);
    return Promise.resolve(key && { ...key });
  }
  listApiKeys(): Promise<ApiKeyRecord[]> {
    const all = [...this.keys.values()].sort((a, b) => a.createdAt - b.createdAt || compare(a.id, b.id));
    return Promise.resolve(all.map((k) => ({ ...k })));
  }
  addApiKey(key: ApiKeyRecord): Promise<void> {
    if (!this.accounts.has(key.account)) {
      return Promise.reject(new Error(`API key for ${JSON.stringify(key.account)}: no such admin account`));
    }
    this.keys.set(key.id, { ...key });
    return Promise.resolve();
  }
  deleteApiKey(id: string): Promise<boolean> {
    return Promise.resolve(this.keys.delete(id));
  }
  touchApiKey(id: string, at: number): Promise<void> {
    const key = this.keys.get(id);
    if (key) key.lastUsedAt = at;
    return Promise.resolve();
  }

  appendAudit(entry: Omit<AuditEntry, "id">): Promise<void> {
    this.audit.push({ ...entry, id: this.nextAuditId++ });
    if (this.audit.length > MAX_AUDIT) this.audit = this.audit.slice(-MAX_AUDIT);
    return Promise.resolve();
  }
  listAudit(query: AuditQuery = {}): Promise<{ items: AuditEntry[]; total: number }> {
    const matching = this.audit.filter((e) =>
      (query.actor === undefined || e.actor === query.actor) &&
      (query.action === undefined || e.action.startsWith(query.action))
    ).reverse();
    const offset = query.offset ?? 0;
    const items = matching.slice(offset, offset + (query.limit ?? 100)).map((e) => ({ ...e }));
    return Promise.resolve({ items, total: matching.length });
  }
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
