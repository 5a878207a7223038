/**
 * Who is asking, and may they: a console session cookie (HttpOnly, SameSite=Strict) or an API key
 * (Authorization: Bearer). Viewers read; anything that changes state needs the admin role, and with
 * a cookie also the session's CSRF token in X-CSRF-Token (a form on another site cannot set it)
 * and, when the browser sends one, an Origin of this host. Routes: login (rate limited per address),
 * logout, me.
 */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { checkApiKey, checkLogin } from "../../security/admin-accounts.ts";
import { ADMIN_ROLES } from "../../security/admin-types.ts";
import type { AdminEnv, Principal } from "./env.ts";
import { ApiError } from "./errors.ts";
import { type LoginLimiter, type Logins } from "./logins.ts";
import { doc, documentedRoutes } from "./openapi.ts";
import { jsonBody } from "./validate.ts";
import { audit } from "./audit-log.ts";

export const COOKIE = "gannet_session";
const READ_ONLY = new Set(["GET", "HEAD", "OPTIONS"]);

const timeoutMs = (c: { var: AdminEnv["Variables"] }) => c.var.mgmt.config().admin.sessionTimeout * 1000;

/** The session cookie: HttpOnly, SameSite=Strict, Secure over HTTPS, expiring admin.sessionTimeout from now. */
function setSessionCookie(c: Context<AdminEnv>, id: string): void {
  setCookie(c, COOKIE, id, {
    httpOnly: true,
    sameSite: "Strict",
    path: "/",
    secure: new URL(c.req.url).protocol === "https:",
    maxAge: c.var.mgmt.config().admin.sessionTimeout,
  });
}

/** Sets c.var.principal or answers 401/403. Login is the one route without a principal. */
export function authenticate(logins: Logins): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const mgmt = c.var.mgmt;
    const now = mgmt.now();
    let principal: Principal | undefined;
    const header = c.req.header("authorization");
    if (header !== undefined) {
      const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
      const key = token ? await checkApiKey(mgmt.store.admin, token, now) : undefined;
      if (!key) throw new ApiError(401, "unauthorized", "the API key is unknown, malformed or revoked (Authorization: Bearer gnt_...)");
      const owner = await mgmt.store.admin.getAccount(key.account);
      if (!owner) throw new ApiError(401, "unauthorized", "the API key's account no longer exists");
      // A key never has more rights than its account has now (the account may have been made a viewer since).
      principal = { kind: "key", account: key.account, role: owner.role === "admin" ? key.role : "viewer", actor: `key:${key.id}` };
    } else {
      const id = getCookie(c, COOKIE);
      const login = id ? logins.use(id, now, timeoutMs(c)) : undefined;
      if (!login) {
        throw new ApiError(401, "unauthorized", id ? "the session expired or ended: log in again" : "log in first (POST /api/v1/auth/login) or send an API key");
      }
      // The account as it is now: deleted (for instance with `gannet admin delete`) ends the session.
      const account = await mgmt.store.admin.getAccount(login.account);
      if (!account) {
        logins.end(login.id);
        throw new ApiError(401, "unauthorized", `the account ${login.account} no longer exists`);
      }
      principal = { kind: "session", account: login.account, role: account.role, actor: login.account, csrf: login.csrf, sessionId: login.id };
      setSessionCookie(c, login.id); // the browser's expiry slides with the server's
    }
    if (!READ_ONLY.has(c.req.method)) {
      if (principal.kind === "session") checkCsrf(c.req.header("x-csrf-token"), principal.csrf!, c.req.header("origin"), c.req.url);
      if (principal.role !== "admin" && !viewerMayPost(c.req.method, c.req.path)) {
        throw new ApiError(403, "forbidden", `${principal.actor} has the ${principal.role} role: it may read, not change anything`);
      }
    }
    c.set("principal", principal);
    await next();
  };
}

/** Viewers may call the few non-GET routes documented for them (log out, the ACL tester): they change nothing. */
function viewerMayPost(method: string, path: string): boolean {
  const m = method.toLowerCase();
  return documentedRoutes().some((r) => r.access === "viewer" && r.method === m && path.endsWith(r.path) && !r.path.includes(":"));
}

function checkCsrf(token: string | undefined, expected: string, origin: string | undefined, url: string): void {
  if (origin !== undefined && origin !== new URL(url).origin) {
    throw new ApiError(403, "csrf", `request from another origin (${origin.slice(0, 100)}) refused`);
  }
  if (token !== expected) {
    throw new ApiError(403, "csrf", "missing or wrong X-CSRF-Token header (the csrfToken of POST /auth/login or GET /auth/me)");
  }
}

export const LoginBody = z.object({
  name: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
}).strict();

export const Me = z.object({
  account: z.string(),
  role: z.enum(ADMIN_ROLES),
  via: z.enum(["session", "key"]),
  /** Echo in X-CSRF-Token on state-changing requests (sessions only). */
  csrfToken: z.string().optional(),
  /** Session expiry, clock ms (sessions only). */
  expiresAt: z.number().optional(),
});

const login = doc({ method: "post", path: "/auth/login", summary: "Log in: sets the session cookie", access: "public", body: LoginBody, response: Me });
doc({ method: "post", path: "/auth/logout", summary: "Log out: ends the session", access: "viewer", status: 204 });
doc({ method: "get", path: "/auth/me", summary: "Who is logged in, with the CSRF token", access: "viewer", response: Me });

/** The login route (before authentication) and logout/me (after). */
export function loginRoutes(logins: Logins, limiter: LoginLimiter) {
  return new Hono<AdminEnv>().post("/auth/login", jsonBody(login.body), async (c) => {
    const mgmt = c.var.mgmt;
    const now = mgmt.now();
    const address = c.env?.remoteAddress ?? "unknown";
    const wait = limiter.retryAfter(address, now);
    if (wait > 0) {
      c.header("Retry-After", String(Math.ceil(wait / 1000)));
      throw new ApiError(429, "rate_limited", `too many failed logins from ${address}: try again in ${Math.ceil(wait / 1000)} s`);
    }
    const origin = c.req.header("origin");
    if (origin !== undefined && origin !== new URL(c.req.url).origin) throw new ApiError(403, "csrf", "login from another origin refused");
    const { name, password } = c.req.valid("json");
    const account = await checkLogin(mgmt.store.admin, name, password, now);
    if (!account) {
      limiter.failed(address, now);
      await audit(c, "login.failed", name, undefined, { actor: name });
      throw new ApiError(401, "unauthorized", "wrong account name or password");
    }
    limiter.succeeded(address);
    const session = logins.create(account.name, account.role, now, timeoutMs(c));
    setSessionCookie(c, session.id);
    await audit(c, "login", account.name, undefined, { actor: account.name });
    const body: z.output<typeof Me> = { account: account.name, role: account.role, via: "session", csrfToken: session.csrf, expiresAt: session.expiresAt };
    return c.json(body, 200);
  });
}

export function sessionRoutes(logins: Logins) {
  return new Hono<AdminEnv>()
    .post("/auth/logout", (c) => {
      const p = c.var.principal;
      if (p.sessionId) logins.end(p.sessionId);
      deleteCookie(c, COOKIE, { path: "/" });
      return c.body(null, 204);
    })
    .get("/auth/me", (c) => {
      const p = c.var.principal;
      const expiresAt = p.sessionId ? c.var.mgmt.now() + timeoutMs(c) : undefined;
      const body: z.output<typeof Me> = { account: p.account, role: p.role, via: p.kind, csrfToken: p.csrf, expiresAt };
      return c.json(body, 200);
    });
}
