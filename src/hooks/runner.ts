/** Runs a list of hooks: first non-deferring decision wins; observer errors are logged. */
import type { Logger } from "../ports/logger.ts";
import type { RemoteInfo } from "../ports/transport.ts";
import type {
  AuthenticateRequest,
  ClientInfo,
  Decision,
  EnhancedAuthRequest,
  EnhancedAuthResult,
  GrantAtMost,
  Hooks,
  Message,
  QoS,
  Refusal,
  SubscriptionInfo,
} from "./types.ts";

type DecisionHook = "authorizePublish";
type ObserverHook =
  | "onConnected"
  | "onAuthenticationFailed"
  | "onDisconnected"
  | "onSubscribed"
  | "onUnsubscribed"
  | "onPublished"
  | "onDelivered";

export class HookRunner {
  constructor(private readonly hooks: Hooks[], private readonly logger: Logger) {}

  add(hook: Hooks): void {
    this.hooks.push(hook);
  }

  has(name: keyof Hooks): boolean {
    return this.hooks.some((hook) => hook[name] !== undefined);
  }

  /** Ask each hook in turn; `fallback` applies when every hook defers. */
  async decide<K extends DecisionHook>(
    name: K,
    fallback: Exclude<Decision, "defer">,
    ...args: Parameters<NonNullable<Hooks[K]>>
  ): Promise<Exclude<Decision, "defer">> {
    for (const hook of this.hooks) {
      const fn = hook[name] as ((...a: unknown[]) => Decision | Promise<Decision>) | undefined;
      if (!fn) continue;
      const decision = await fn.apply(hook, args);
      if (decision !== "defer") return decision;
    }
    return fallback;
  }

  /** Every hook may refuse a new socket; the first deny wins. */
  admit(remote: RemoteInfo): boolean {
    for (const hook of this.hooks) {
      if (hook.admitConnection?.(remote) === "deny") return false;
    }
    return true;
  }

  /** The first hook that does not defer decides; `fallback` when all defer. */
  async authenticate(request: AuthenticateRequest, fallback: "allow" | "deny"): Promise<"allow" | Refusal | "deny"> {
    for (const hook of this.hooks) {
      if (!hook.authenticate) continue;
      const decision = await hook.authenticate(request);
      if (decision !== "defer") return decision;
    }
    return fallback;
  }

  /** Allowed (at most at `maxQos` when a hook capped it) or denied. */
  async authorizeSubscribe(client: ClientInfo, subscription: SubscriptionInfo): Promise<{ allowed: boolean; maxQos: QoS }> {
    for (const hook of this.hooks) {
      if (!hook.authorizeSubscribe) continue;
      const decision: Decision | GrantAtMost = await hook.authorizeSubscribe(client, subscription);
      if (decision === "defer") continue;
      if (decision === "deny") return { allowed: false, maxQos: 0 };
      return { allowed: true, maxQos: decision === "allow" ? 2 : decision.maxQos };
    }
    return { allowed: true, maxQos: 2 };
  }

  async enhancedAuth(request: EnhancedAuthRequest): Promise<EnhancedAuthResult> {
    for (const hook of this.hooks) {
      if (!hook.enhancedAuthenticate) continue;
      const result = await hook.enhancedAuthenticate(request);
      if (result.result !== "defer") return result;
    }
    return { result: "deny" };
  }

  beforePublish(client: ClientInfo | undefined, message: Message): Message | null {
    let current: Message | null = message;
    for (const hook of this.hooks) {
      if (!hook.beforePublish || current === null) continue;
      current = hook.beforePublish(client, current);
    }
    return current;
  }

  notify<K extends ObserverHook>(name: K, ...args: Parameters<NonNullable<Hooks[K]>>): void {
    for (const hook of this.hooks) {
      const fn = hook[name] as ((...a: unknown[]) => void) | undefined;
      if (!fn) continue;
      try {
        fn.apply(hook, args);
      } catch (e: unknown) {
        this.logger.error("hook observer failed", { hook: name, error: String(e) });
      }
    }
  }
}
