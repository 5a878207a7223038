/**
 * Console logins (session cookies) and the login rate limit, both in memory: a restart logs
 * everyone out, which is acceptable for a console and keeps tokens off the disk. Bounded: at most
 * MAX_LOGINS sessions (the oldest go first) and MAX_ADDRESSES tracked addresses.
 */
import type { AdminRole } from "../../security/admin-types.ts";

const MAX_LOGINS = 1_000;
const MAX_ADDRESSES = 10_000;

export interface Login {
  id: string;
  account: string;
  role: AdminRole;
  csrf: string;
  createdAt: number;
  /** Clock ms; each use moves it sessionTimeout ahead. */
  expiresAt: number;
}

export const randomToken = (bytes = 32) =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes)))).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");

export class Logins {
  private readonly byId = new Map<string, Login>();

  create(account: string, role: AdminRole, now: number, timeoutMs: number): Login {
    if (this.byId.size >= MAX_LOGINS) this.byId.delete(this.byId.keys().next().value!);
    const login = { id: randomToken(), account, role, csrf: randomToken(16), createdAt: now, expiresAt: now + timeoutMs };
    this.byId.set(login.id, login);
    return login;
  }

  /** The login of `id` if it has not expired, with its expiry moved ahead. */
  use(id: string, now: number, timeoutMs: number): Login | undefined {
    const login = this.byId.get(id);
    if (!login) return undefined;
    if (login.expiresAt <= now) {
      this.byId.delete(id);
      return undefined;
    }
    login.expiresAt = now + timeoutMs;
    return login;
  }

  end(id: string): void {
    this.byId.delete(id);
  }

  /** Ends every login of `account` (deleted, or its password or role changed), except `keep`. */
  endAll(account: string, keep?: string): void {
    for (const [id, login] of this.byId) if (login.account === account && id !== keep) this.byId.delete(id);
  }
}

/** Failed logins per address: after `maxFailures` within `windowMs`, refused until the window passes. */
export class LoginLimiter {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly maxFailures = 5, private readonly windowMs = 60_000) {}

  /** Ms to wait before trying again, or 0 when `address` may try now. */
  retryAfter(address: string, now: number): number {
    const entry = this.failures.get(address);
    if (!entry || now - entry.since >= this.windowMs) return 0;
    return entry.count >= this.maxFailures ? entry.since + this.windowMs - now : 0;
  }

  failed(address: string, now: number): void {
    const entry = this.failures.get(address);
    if (entry && now - entry.since < this.windowMs) {
      entry.count++;
      return;
    }
    if (this.failures.size >= MAX_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
    this.failures.set(address, { count: 1, since: now });
  }

  succeeded(address: string): void {
    this.failures.delete(address);
  }
}
