/**
 * Runs the list of hooks. Decisions: the first hook that does not defer decides; when all defer,
 * the caller's fallback applies. A decision hook that throws (or rejects) counts as deny for that
 * request. Observers and `beforePublish` that throw are skipped: routing, $SYS and the connection
 * go on. Every failure is logged with the hook's id and the hook point, bounded so a hook failing
 * on every publish cannot flood the log.
 */
import { LogThrottle } from "../util/log-throttle.ts";
import type { ClientInfo, Message, QoS } from "../model/message.ts";
import type { SubscriptionInfo } from "../model/subscription.ts";
import type { Clock } from "../ports/clock.ts";
import type { Logger } from "../ports/logger.ts";
import type { RemoteInfo } from "../ports/transport.ts";
import { errorText } from "../util/errors.ts";
import type {
  AuthenticateRequest,
  Decision,
  EnhancedAuthRequest,
  EnhancedAuthResult,
  GrantAtMost,
  Hooks,
  Refusal,
} from "./types.ts";

type ObserverHook =
  | "onConnected"
  | "onAuthenticationFailed"
  | "onDisconnected"
  | "onSubscribed"
  | "onUnsubscribed"
  | "onPublished"
  | "onDelivered";

export class HookRunner {
  private readonly failures: LogThrottle;
  constructor(private readonly hooks: Hooks[], private readonly logger: Logger, clock: Clock) {
    this.failures = new LogThrottle(clock, 20);
  }

  add(hook: Hooks): void {
    this.hooks.push(hook);
  }

  /**
   * Whether any hook implements `name` (callers skip the work of asking when none does). Not
   * remembered: hooks gain and lose points at run time (the ACL hooks on a reload), and the list is
   * a handful of objects.
   */
  has(name: keyof Hooks): boolean {
    return this.hooks.some((hook) => hook[name] !== undefined);
  }

  /** One bounded log line; `clientId` tells the operator whose request the failure touched. */
  private failed(hook: Hooks, point: keyof Hooks, e: unknown, outcome: string, clientId?: string): void {
    this.failures.error(this.logger, "hook failed", { hook: hook.id, point, clientId, error: errorText(e), outcome });
  }

  /** Every hook may refuse a new socket; the first deny (or a hook that throws) wins. */
  admit(remote: RemoteInfo): boolean {
    for (const hook of this.hooks) {
      if (!hook.admitConnection) continue;
      try {
        if (hook.admitConnection(remote) === "deny") return false;
      } catch (e: unknown) {
        this.failed(hook, "admitConnection", e, "connection refused");
        return false;
      }
    }
    return true;
  }

  /** The first hook that does not defer decides; `fallback` when all defer. */
  async authenticate(request: AuthenticateRequest, fallback: "allow" | "deny"): Promise<"allow" | Refusal | "deny"> {
    for (const hook of this.hooks) {
      if (!hook.authenticate) continue;
      try {
        const decision = await hook.authenticate(request);
        if (decision !== "defer") return decision;
      } catch (e: unknown) {
        this.failed(hook, "authenticate", e, "connection refused", request.clientId);
        return "deny";
      }
    }
    return fallback;
  }

  /** Allowed or denied; `fallback` when every hook defers. */
  async authorizePublish(client: ClientInfo, message: Message, fallback: "allow" | "deny" = "allow"): Promise<"allow" | "deny"> {
    for (const hook of this.hooks) {
      if (!hook.authorizePublish) continue;
      try {
        const decision = await hook.authorizePublish(client, message);
        if (decision !== "defer") return decision;
      } catch (e: unknown) {
        this.failed(hook, "authorizePublish", e, "publish denied", client.clientId);
        return "deny";
      }
    }
    return fallback;
  }

  /** Allowed (at most at `maxQos` when a hook capped it; each message checked when it asked so) or denied. */
  async authorizeSubscribe(
    client: ClientInfo,
    subscription: SubscriptionInfo,
  ): Promise<{ allowed: boolean; maxQos: QoS; checkEachMessage: boolean }> {
    for (const hook of this.hooks) {
      if (!hook.authorizeSubscribe) continue;
      let decision: Decision | GrantAtMost;
      try {
        decision = await hook.authorizeSubscribe(client, subscription);
      } catch (e: unknown) {
        this.failed(hook, "authorizeSubscribe", e, "subscription refused", client.clientId);
        return { allowed: false, maxQos: 0, checkEachMessage: false };
      }
      if (decision === "defer") continue;
      if (decision === "deny") return { allowed: false, maxQos: 0, checkEachMessage: false };
      if (decision === "allow") return { allowed: true, maxQos: 2, checkEachMessage: false };
      return { allowed: true, maxQos: decision.maxQos, checkEachMessage: decision.checkEachMessage === true };
    }
    return { allowed: true, maxQos: 2, checkEachMessage: false };
  }

  /**
   * Delivery-time read check (see Hooks.authorizeRead): the first hook that does not defer decides;
   * allow when all defer (the subscription was granted); a hook that throws denies.
   */
  mayRead(client: ClientInfo, topic: string): boolean {
    for (const hook of this.hooks) {
      if (!hook.authorizeRead) continue;
      try {
        const decision = hook.authorizeRead(client, topic);
        if (decision === "deny") return false;
        if (decision === "allow") return true;
      } catch (e: unknown) {
        this.failed(hook, "authorizeRead", e, "message not delivered", client.clientId);
        return false;
      }
    }
    return true;
  }

  /** The first hook that does not defer decides; "defer" when all do (no hook knows the method: 0x8C on CONNECT). */
  async enhancedAuth(request: EnhancedAuthRequest): Promise<EnhancedAuthResult> {
    for (const hook of this.hooks) {
      if (!hook.enhancedAuthenticate) continue;
      try {
        const result = await hook.enhancedAuthenticate(request);
        if (result.result !== "defer") return result;
      } catch (e: unknown) {
        this.failed(hook, "enhancedAuthenticate", e, "connection refused", request.clientId);
        return { result: "deny" };
      }
    }
    return { result: "defer" };
  }

  /** Each hook may transform the message or drop it (null); a hook that throws is skipped. */
  beforePublish(client: ClientInfo | undefined, message: Message): Message | null {
    let current: Message | null = message;
    for (const hook of this.hooks) {
      if (!hook.beforePublish || current === null) continue;
      try {
        current = hook.beforePublish(client, current);
      } catch (e: unknown) {
        this.failed(hook, "beforePublish", e, "skipped, message unchanged", client?.clientId);
      }
    }
    return current;
  }

  notify<K extends ObserverHook>(name: K, ...args: Parameters<NonNullable<Hooks[K]>>): void {
    // Every observer's first argument is the client (ClientInfo) or the refused request: both name the client id.
    const clientId = (args[0] as { clientId?: string } | undefined)?.clientId;
    for (const hook of this.hooks) {
      const fn = hook[name] as ((...a: unknown[]) => unknown) | undefined;
      if (!fn) continue;
      try {
        const result = fn.apply(hook, args);
        // An async observer's rejection is a failure too, never an unhandled rejection.
        if (result instanceof Promise) result.catch((e: unknown) => this.failed(hook, name, e, "ignored", clientId));
      } catch (e: unknown) {
        this.failed(hook, name, e, "ignored", clientId);
      }
    }
  }
}
