/**
 * The built-in security, as broker hooks: bans (address bans close the socket before it is read;
 * client id and user name bans and flapping refuse CONNECT with 0x8A Banned), password
 * authentication, the ACL, and the optional HTTP service after them. Rules and bans changed in the
 * store by the CLI are picked up every `bans.refreshInterval` seconds and on SIGHUP (`reload`).
 */
import type { Config } from "../config/schema.ts";
import type { ClientInfo, Message } from "../model/message.ts";
import type { SubscriptionInfo } from "../model/subscription.ts";
import type { AuthenticateRequest, Decision, GrantAtMost, Hooks, Refusal } from "../hooks/types.ts";
import type { Clock, TimerHandle } from "../ports/clock.ts";
import type { Logger } from "../ports/logger.ts";
import type { RemoteInfo } from "../ports/transport.ts";
import { ReasonCode } from "../protocol/reason-codes.ts";
import { LogThrottle } from "../util/log-throttle.ts";
import { Acl, ruleText } from "./acl.ts";
import { BanList } from "./bans.ts";
import { HttpAuth } from "./http-auth.ts";
import type { AclRule, SecurityStore } from "./types.ts";
import { UserAuthenticator } from "./users.ts";

export interface SecurityOptions {
  config: Config;
  store: SecurityStore;
  clock: Clock;
  logger: Logger;
  /** For tests of the HTTP backend. */
  fetch?: typeof globalThis.fetch;
}

const banned = (reason: string): Refusal => ({ decision: "deny", reasonCode: ReasonCode.Banned, reason: `banned: ${reason}` });

export class Security {
  /** Hooks to add to the broker, in order. */
  readonly hooks: Hooks[];
  readonly bans: BanList;
  private readonly users: UserAuthenticator;
  private acl: Acl;
  private fileRules: readonly AclRule[];
  private config: Config;
  private timer: TimerHandle | undefined;
  private readonly builtIn: Hooks;
  /** Bounds the "denied by" lines of publishes and subscriptions over all clients. */
  private readonly denials: LogThrottle;

  private constructor(private readonly options: SecurityOptions) {
    const { config, store, logger, clock } = options;
    this.config = config;
    this.fileRules = config.acl.rules;
    this.acl = new Acl(this.fileRules, config.acl.default);
    this.bans = new BanList(store, logger, config.bans);
    this.denials = new LogThrottle(clock);
    this.users = new UserAuthenticator(store, logger, () => clock.now(), config.auth.http !== undefined, new LogThrottle(clock));
    this.builtIn = {
      id: "security",
      admitConnection: (remote: RemoteInfo): Decision =>
        this.bans.find({ address: remote.address }, clock.now()) ? "deny" : "defer",
      authenticate: (request: AuthenticateRequest) => this.authenticate(request),
      onAuthenticationFailed: (request: AuthenticateRequest) => {
        this.bans.authenticationFailed(request.remote.address, clock.now());
      },
    };
    this.hooks = [this.builtIn];
    if (config.auth.http) {
      const http = new HttpAuth({
        config: config.auth.http,
        logger,
        now: () => clock.now(),
        authorizeFallback: () => this.acl.defaultPermission,
        fetch: options.fetch,
      });
      this.hooks.push(http.hooks());
    }
    this.updateAclHooks();
  }

  static async create(options: SecurityOptions): Promise<Security> {
    const security = new Security(options);
    await security.users.configure(options.config.auth.users);
    await security.refresh();
    const seconds = options.config.bans.refreshInterval;
    security.timer = options.clock.setInterval(() => {
      security.refresh().catch((e: unknown) => options.logger.error("cannot reload bans and ACL rules", { error: String(e) }));
    }, seconds * 1000);
    return security;
  }

  /** SIGHUP: the new users, ACL rules and ban policy (new listeners need a restart, this does not). */
  async reload(config: Config): Promise<void> {
    this.config = config;
    this.fileRules = config.acl.rules;
    this.bans.configure(config.bans);
    await this.users.configure(config.auth.users);
    await this.refresh();
  }

  /** Reload what the CLI may have changed in the store. */
  async refresh(): Promise<void> {
    const { store, clock } = this.options;
    const [stored] = await Promise.all([store.listAclRules(), this.bans.refresh(clock.now()), this.users.refresh()]);
    this.acl = new Acl([...this.fileRules, ...stored], this.config.acl.default);
    this.updateAclHooks();
  }

  close(): void {
    if (this.timer !== undefined) this.options.clock.clearInterval(this.timer);
  }

  private async authenticate(request: AuthenticateRequest): Promise<Decision | Refusal> {
    const now = this.options.clock.now();
    const ban = this.bans.find({ clientId: request.clientId, username: request.username, address: request.remote.address }, now);
    if (ban) return banned(ban.reason);
    const flapping = this.bans.connected(request.clientId, now);
    if (flapping) return banned(flapping.reason);
    return await this.users.authenticate(request);
  }

  /**
   * ACL hooks only while there is something to check: with no rules and the default allow (and no
   * HTTP service to ask), publishes take the fast path with no hook at all.
   */
  private updateAclHooks(): void {
    const active = this.acl.rules.length > 0 || this.acl.defaultPermission === "deny";
    const httpDecides = this.config.auth.http?.authorize === true;
    if (!active) {
      delete this.builtIn.authorizePublish;
      delete this.builtIn.authorizeSubscribe;
      delete this.builtIn.authorizeRead;
      return;
    }
    const acl = this.acl;
    const fileRules = this.fileRules.length;
    /** Which rule decided, as `gannet acl list` shows it. */
    const decidedBy = (rule: number | undefined): string =>
      rule === undefined
        ? `acl.default: ${acl.defaultPermission} (no rule matched)`
        : rule < fileRules
        ? `acl.rules[${rule}] in the configuration file: ${ruleText(acl.rules[rule])}`
        : `database ACL rule ${rule - fileRules + 1} (gannet acl list): ${ruleText(acl.rules[rule])}`;
    this.builtIn.authorizePublish = (client: ClientInfo, message: Message): Decision => {
      const verdict = acl.checkPublish(client, message.topic, message.qos, message.retain);
      if (verdict.rule === undefined && httpDecides) return "defer";
      if (verdict.allowed) return "allow";
      this.denials.info(this.options.logger, "publish denied by the ACL", {
        clientId: client.clientId,
        username: client.username,
        topic: message.topic.slice(0, 100),
        qos: message.qos,
        retain: message.retain || undefined,
        rule: decidedBy(verdict.rule) + (verdict.why ? ` (${verdict.why})` : ""),
      });
      return "deny";
    };
    this.builtIn.authorizeSubscribe = (client: ClientInfo, subscription: SubscriptionInfo): Decision | GrantAtMost => {
      const verdict = acl.checkSubscribe(client, subscription.filter);
      if (verdict.rule === undefined && httpDecides) return "defer";
      if (!verdict.allowed) {
        this.denials.info(this.options.logger, "subscription denied by the ACL", {
          clientId: client.clientId,
          username: client.username,
          filter: subscription.filter.slice(0, 100),
          rule: decidedBy(verdict.rule),
        });
        return "deny";
      }
      if (verdict.checkEachMessage) {
        // A shared group picks its member before delivery, so a member that may not read a topic
        // would lose the message for the whole group: shared subscriptions stay all-or-nothing.
        if (subscription.shareName !== undefined) {
          this.denials.info(this.options.logger, "subscription denied by the ACL", {
            clientId: client.clientId,
            username: client.username,
            filter: subscription.filter.slice(0, 100),
            rule: "a deny rule covers part of this shared subscription's filter",
          });
          return "deny";
        }
        return { decision: "allow", maxQos: verdict.maxQos, checkEachMessage: true };
      }
      return verdict.maxQos < 2 ? { decision: "allow", maxQos: verdict.maxQos } : "allow";
    };
    // Replaced with the rules on every refresh, and granted subscriptions call it through the hook
    // runner, so rules reloaded from the store apply to their deliveries at once.
    this.builtIn.authorizeRead = (client: ClientInfo, topic: string): Decision => {
      const verdict = acl.checkRead(client, topic);
      if (verdict.rule === undefined && httpDecides) return "defer";
      return verdict.allowed ? "allow" : "deny";
    };
  }
}
