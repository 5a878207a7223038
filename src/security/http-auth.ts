/**
 * HTTP authentication/authorization backend: each question is a JSON POST to `auth.http.url`:
 *   { action: "connect", clientId, username, password, remote: { address, kind } }
 *   { action: "publish" | "subscribe", clientId, username, topic, qos, retain }   (with `authorize: true`)
 * Answer 200/204 = allow (a JSON body `{"result":"deny"}` or `"ignore"` says otherwise), 401/403 =
 * deny, anything else, a timeout or a network error = defer (the next check, then the default
 * decides) with a warning. Answers are cached for `cacheTtl` seconds under a SHA-256 of the
 * question, so no password is kept in memory.
 */
import type { AuthConfig } from "../config/schema.ts";
import type { ClientInfo, Message } from "../model/message.ts";
import type { SubscriptionInfo } from "../model/subscription.ts";
import type { AuthenticateRequest, Decision, Hooks } from "../hooks/types.ts";
import type { Logger } from "../ports/logger.ts";
import { errorText } from "../util/errors.ts";

type HttpConfig = NonNullable<AuthConfig["http"]>;

/** Most answers cached; the oldest go first beyond it. */
const MAX_CACHED = 10_000;

export interface HttpAuthOptions {
  config: HttpConfig;
  logger: Logger;
  now: () => number;
  /** Decision when the service does not answer an authorization question (the ACL default). */
  authorizeFallback: () => "allow" | "deny";
  fetch?: typeof globalThis.fetch;
}

async function digest(text: string): Promise<string> {
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

export class HttpAuth {
  private readonly cache = new Map<string, { decision: Decision; until: number }>();
  private readonly fetch: typeof globalThis.fetch;

  constructor(private readonly options: HttpAuthOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  hooks(): Hooks {
    const hooks: Hooks = {
      id: "http-auth",
      authenticate: (request: AuthenticateRequest) => {
        if (request.certificateAuthenticated) return "defer";
        return this.ask({
          action: "connect",
          clientId: request.clientId,
          username: request.username ?? null,
          password: request.password === undefined ? null : new TextDecoder().decode(request.password),
          remote: { address: request.remote.address, kind: request.remote.kind }, // no port: it would defeat the cache
        });
      },
    };
    if (this.options.config.authorize) {
      hooks.authorizePublish = (client: ClientInfo, message: Message) =>
        this.authorize({ action: "publish", ...who(client), topic: message.topic, qos: message.qos, retain: message.retain });
      hooks.authorizeSubscribe = (client: ClientInfo, s: SubscriptionInfo) =>
        this.authorize({ action: "subscribe", ...who(client), topic: s.filter, qos: s.qos, retain: false });
    }
    return hooks;
  }

  private async authorize(question: Record<string, unknown>): Promise<Decision> {
    const decision = await this.ask(question);
    return decision === "defer" ? this.options.authorizeFallback() : decision;
  }

  private async ask(question: Record<string, unknown>): Promise<Decision> {
    const { config, logger, now } = this.options;
    const body = JSON.stringify(question);
    const key = config.cacheTtl > 0 ? await digest(body) : "";
    const cached = key ? this.cache.get(key) : undefined;
    if (cached && cached.until > now()) return cached.decision;
    let decision: Decision;
    try {
      const response = await this.fetch(config.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(config.timeout * 1000),
      });
      decision = await decisionOf(response);
      if (decision === "defer") logger.warn("auth service gave no decision", { status: response.status, action: question.action });
    } catch (e: unknown) {
      logger.warn("auth service unreachable", { url: config.url, action: question.action, error: errorText(e) });
      return "defer"; // not cached: the next question tries again
    }
    if (key && decision !== "defer") {
      this.cache.delete(key);
      this.cache.set(key, { decision, until: now() + config.cacheTtl * 1000 });
      if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value as string);
    }
    return decision;
  }
}

function who(client: ClientInfo) {
  return { clientId: client.clientId, username: client.username ?? null };
}

async function decisionOf(response: Response): Promise<Decision> {
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    return "deny";
  }
  if (response.status !== 200 && response.status !== 204) {
    await response.body?.cancel();
    return "defer";
  }
  const text = await response.text();
  if (!text.trim()) return "allow";
  try {
    const result = (JSON.parse(text) as { result?: unknown }).result;
    return result === "deny" ? "deny" : result === "ignore" ? "defer" : "allow";
  } catch {
    return "allow"; // a 200 with a body that is not JSON still means yes
  }
}
