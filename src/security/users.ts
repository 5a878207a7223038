/**
 * Password authentication against the users of the YAML file (`auth.users`, checked first) and
 * the users stored with `gannet user add`. A stored hash in an older format (an imported
 * Mosquitto `$7$` hash) is replaced by an argon2id one after the next successful login.
 *
 * A user name nobody knows is refused once any user exists (or passed on to the HTTP service when
 * one is configured); with no users at all, a user name is just a label and the listener's
 * anonymous policy decides, as in Mosquitto without a password file.
 */
import type { AuthConfig } from "../config/schema.ts";
import type { AuthenticateRequest, Decision } from "../hooks/types.ts";
import type { Logger } from "../ports/logger.ts";
import type { LogThrottle } from "../util/log-throttle.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import type { SecurityStore } from "./types.ts";

const HASHED = /^\$(argon2id|argon2i|argon2d|7|6)\$/;

export class UserAuthenticator {
  private fileUsers = new Map<string, string>();
  private storedUsers = 0;

  constructor(
    private readonly store: SecurityStore,
    private readonly logger: Logger,
    private readonly now: () => number,
    /** Another authenticator (HTTP) decides about user names unknown here. */
    private readonly othersDecide: boolean,
    /** Bounds "login refused" lines (a password-guessing client must not flood the journal). */
    private readonly refusals?: LogThrottle,
  ) {}

  /** One line naming the user and why (never the password); the core logs the refusal itself too. */
  private refuse(request: AuthenticateRequest, reason: string, from?: string): "deny" {
    const fields = {
      clientId: request.clientId,
      username: request.username,
      reason,
      user: from,
      remote: `${request.remote.address}:${request.remote.port}`,
    };
    if (this.refusals) this.refusals.info(this.logger, "login refused", fields);
    else this.logger.info("login refused", fields);
    return "deny";
  }

  /** Take the YAML users; plain passwords are hashed here once (and a warning says so). */
  async configure(users: AuthConfig["users"]): Promise<void> {
    const next = new Map<string, string>();
    const plain: string[] = [];
    for (const user of users) {
      if (HASHED.test(user.password)) {
        next.set(user.username, user.password);
      } else {
        plain.push(user.username);
        next.set(user.username, await hashPassword(user.password));
      }
    }
    if (plain.length) {
      this.logger.warn("auth.users has plain-text passwords; put hashes from `gannet user hash` there instead", {
        users: plain,
      });
    }
    this.fileUsers = next;
  }

  /** How many users the store holds (refreshed with the bans and ACL rules). */
  async refresh(): Promise<void> {
    this.storedUsers = (await this.store.listUsers()).length;
  }

  get knowsUsers(): boolean {
    return this.fileUsers.size > 0 || this.storedUsers > 0;
  }

  async authenticate(request: AuthenticateRequest): Promise<Decision> {
    const { username } = request;
    if (username === undefined || request.certificateAuthenticated) return "defer";
    const fromFile = this.fileUsers.get(username);
    const stored = fromFile === undefined ? await this.store.getUser(username) : undefined;
    const hash = fromFile ?? stored?.passwordHash;
    if (hash === undefined) {
      if (this.othersDecide) return "defer";
      if (stored === undefined && !this.knowsUsers) this.storedUsers = (await this.store.listUsers()).length;
      return this.knowsUsers ? this.refuse(request, "unknown user") : "defer";
    }
    const from = fromFile !== undefined ? "auth.users in the configuration file" : "the database";
    if (request.password === undefined) return this.refuse(request, "no password given", from);
    const { ok, needsRehash } = await verifyPassword(request.password, hash);
    if (ok && needsRehash && stored) this.rehash(username, request.password);
    return ok ? "allow" : this.refuse(request, "wrong password", from);
  }

  private rehash(username: string, password: Uint8Array): void {
    const text = new TextDecoder().decode(password);
    hashPassword(text)
      .then((passwordHash) => this.store.getUser(username).then((user) => user && this.store.putUser({ ...user, passwordHash, updatedAt: this.now() })))
      .then(() => this.logger.info("password hash upgraded to argon2id", { username }))
      .catch((e: unknown) => this.logger.error("cannot upgrade the password hash", { username, error: String(e) }));
  }
}
