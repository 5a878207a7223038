/**
 * Admin accounts and API keys: the operations the CLI (`gannet admin ...`) and the admin API share,
 * so both check the same things (names, roles, the last admin) and hash the same way. Passwords are
 * argon2id (passwords.ts); an API key `gnt_<id>_<secret>` is stored as the SHA-256 of its secret and
 * shown once. The first start with no account creates `admin` with a random password (ensureAdmin).
 */
import { constantTimeEqual, hashPassword, verifyPassword } from "./passwords.ts";
import type { AdminAccount, AdminRole, AdminStore, ApiKeyRecord } from "./admin-types.ts";

/** What went wrong, as the API reports it (404, 409, 400); the message says what to do. */
export class AdminOperationError extends Error {
  constructor(readonly code: "not_found" | "conflict" | "bad_request", message: string) {
    super(message);
    this.name = "AdminOperationError";
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
export const MIN_PASSWORD_LENGTH = 8;

/** A problem with `name` as an admin account name, or undefined when it is fine. */
export function accountNameProblem(name: string): string | undefined {
  return NAME.test(name)
    ? undefined
    : `admin account name ${JSON.stringify(name.slice(0, 80))} must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit`;
}

export function passwordProblem(password: string): string | undefined {
  return password.length < MIN_PASSWORD_LENGTH
    ? `the password must have at least ${MIN_PASSWORD_LENGTH} characters`
    : undefined;
}

const bad = (message: string) => new AdminOperationError("bad_request", message);

/** Public view of an account (no hash). */
export interface AccountView {
  name: string;
  role: AdminRole;
  createdAt: number;
  updatedAt: number;
}
export const accountView = ({ name, role, createdAt, updatedAt }: AdminAccount): AccountView => ({ name, role, createdAt, updatedAt });

export async function addAccount(store: AdminStore, name: string, password: string, role: AdminRole, now: number): Promise<AccountView> {
  const problem = accountNameProblem(name) ?? passwordProblem(password);
  if (problem) throw bad(problem);
  if (await store.getAccount(name)) {
    throw new AdminOperationError("conflict", `admin account ${JSON.stringify(name)} exists (change its password with passwd)`);
  }
  const account: AdminAccount = { name, passwordHash: await hashPassword(password), role, createdAt: now, updatedAt: now };
  await store.putAccount(account);
  return accountView(account);
}

async function existing(store: AdminStore, name: string): Promise<AdminAccount> {
  const account = await store.getAccount(name);
  if (!account) throw new AdminOperationError("not_found", `no admin account ${JSON.stringify(name)}`);
  return account;
}

/** Refuses a change that would leave no account with the admin role (nobody could manage accounts any more). */
async function keepOneAdmin(store: AdminStore, name: string, what: string): Promise<void> {
  const admins = (await store.listAccounts()).filter((a) => a.role === "admin");
  if (admins.length === 1 && admins[0].name === name) {
    throw new AdminOperationError("conflict", `cannot ${what} ${JSON.stringify(name)}: it is the last account with the admin role (add another admin first)`);
  }
}

export async function updateAccount(
  store: AdminStore,
  name: string,
  change: { password?: string; role?: AdminRole },
  now: number,
): Promise<AccountView> {
  const account = await existing(store, name);
  if (change.password !== undefined) {
    const problem = passwordProblem(change.password);
    if (problem) throw bad(problem);
    account.passwordHash = await hashPassword(change.password);
  }
  if (change.role !== undefined && change.role !== account.role) {
    if (change.role !== "admin") await keepOneAdmin(store, name, "take the admin role from");
    account.role = change.role;
  }
  account.updatedAt = now;
  await store.putAccount(account);
  return accountView(account);
}

export async function deleteAccount(store: AdminStore, name: string): Promise<void> {
  await existing(store, name);
  await keepOneAdmin(store, name, "delete");
  await store.deleteAccount(name);
}

/** The account when `password` is right; undefined otherwise (the same time is spent for an unknown name). */
export async function checkLogin(store: AdminStore, name: string, password: string, now: number): Promise<AdminAccount | undefined> {
  const account = await store.getAccount(name);
  const verdict = await verifyPassword(password, account?.passwordHash ?? DUMMY_HASH);
  if (!account || !verdict.ok) return undefined;
  if (verdict.needsRehash) {
    await store.putAccount({ ...account, passwordHash: await hashPassword(password), updatedAt: now });
  }
  return account;
}
/** An argon2id hash of nothing anyone knows, verified for unknown names so their answer is not faster. */
const DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

const base64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

async function sha256Hex(text: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

/** A random password for the first admin account: 20 characters of base64url (120 bits). */
export function randomPassword(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(15)));
}

export type ApiKeyView = Omit<ApiKeyRecord, "secretHash">;
export const apiKeyView = ({ secretHash: _, ...view }: ApiKeyRecord): ApiKeyView => view;

/** A new key for `account`; `key` (the whole token) is shown once and not kept. */
export async function createApiKey(
  store: AdminStore,
  account: string,
  label: string,
  role: AdminRole,
  now: number,
): Promise<{ key: string; record: ApiKeyView }> {
  const owner = await existing(store, account);
  if (role === "admin" && owner.role !== "admin") throw bad(`account ${JSON.stringify(account)} is a viewer: its keys can only be viewer keys`);
  if (label.length === 0 || label.length > 100) throw bad("the key's label must have 1 to 100 characters");
  const id = hex(crypto.getRandomValues(new Uint8Array(6)));
  const secret = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const record: ApiKeyRecord = { id, label, account, role, secretHash: await sha256Hex(secret), createdAt: now, lastUsedAt: null };
  await store.addApiKey(record);
  return { key: `gnt_${id}_${secret}`, record: apiKeyView(record) };
}

export async function revokeApiKey(store: AdminStore, id: string): Promise<void> {
  if (!(await store.deleteApiKey(id))) throw new AdminOperationError("not_found", `no API key ${JSON.stringify(id)}`);
}

const KEY = /^gnt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** The key's record when `token` is a valid, unrevoked key; its last use is recorded in the background. */
export async function checkApiKey(store: AdminStore, token: string, now: number): Promise<ApiKeyRecord | undefined> {
  const m = KEY.exec(token);
  if (!m) return undefined;
  const record = await store.getApiKey(m[1]);
  if (!record) return undefined;
  const given = new TextEncoder().encode(await sha256Hex(m[2]));
  if (!constantTimeEqual(given, new TextEncoder().encode(record.secretHash))) return undefined;
  store.touchApiKey(record.id, now).catch(() => {}); // best effort: a failed timestamp must not refuse the key
  return record;
}

/**
 * First start: when there is no admin account, create `admin` with `initialPassword` (from the
 * configuration) or a random one. Returns what was created, so the caller can print it once.
 */
export async function ensureAdmin(
  store: AdminStore,
  initialPassword: string | undefined,
  now: number,
): Promise<{ name: string; password?: string } | undefined> {
  if ((await store.listAccounts()).length > 0) return undefined;
  const password = initialPassword ?? randomPassword();
  await addAccount(store, "admin", password, "admin", now);
  return { name: "admin", password: initialPassword === undefined ? password : undefined };
}
