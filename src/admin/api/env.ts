/**
 * What every admin API route sees: the requester (principal), and the management context the
 * process hands in once the store and broker are up (before that, /api/v1 answers 503).
 */
import type { Config } from "../../config/schema.ts";
import type { Broker } from "../../core/broker.ts";
import type { LogRing } from "../log-ring.ts";
import type { MetricsSeries } from "../series.ts";
import type { AdminRole } from "../../security/admin-types.ts";
import type { Store } from "../../store/types.ts";
import type { ProcessStats } from "../../ports/runtime.ts";
export type { ProcessStats } from "../../ports/runtime.ts";

export interface Principal {
  /** Logged in through the console (cookie) or an API key (Bearer). */
  kind: "session" | "key";
  /** The admin account. */
  account: string;
  role: AdminRole;
  /** Who the audit log names: the account, or `key:<id>`. */
  actor: string;
  /** Console sessions: the token a state-changing request must echo in X-CSRF-Token. */
  csrf?: string;
  sessionId?: string;
}


/** The result of a reload, as SIGHUP logs it. */
export interface ReloadOutcome {
  ok: boolean;
  /** Keys applied live. */
  applied: string[];
  /** Keys that changed but need a restart. */
  restart: string[];
  /** Why the new configuration was refused (ok false). */
  problems: string[];
}

/** What the admin API uses of the broker: its management seam and counters (src/core/management.ts). */
export type ManagedBroker = Pick<
  Broker,
  | "stats"
  | "listSessions"
  | "session"
  | "listSubscriptions"
  | "listRetained"
  | "retainedMessage"
  | "listeners"
  | "storeSize"
  | "disconnectClient"
  | "deleteSession"
  | "deleteRetained"
  | "publish"
  | "openLocalSession"
  | "bridges"
>;

/** The process's parts the admin API works through (all public seams; nothing of the broker's insides). */
export interface Management {
  store: Store;
  /** The effective configuration now (after reloads). */
  config(): Config;
  /** Clock ms. */
  now(): number;
  /** Make users, ACL rules and bans changed in the store apply now (not at the next refresh). */
  refreshSecurity(): Promise<void>;
  /** Re-read the configuration, as SIGHUP does. */
  reload(): Promise<ReloadOutcome>;
  broker: ManagedBroker;
  /** The overview's time series (sampled every second by the process). */
  series: MetricsSeries;
  /** Recent log lines. */
  logs: LogRing;
  /** This process's CPU time and memory, when the runtime can tell. */
  processStats?(): ProcessStats;
}

export interface AdminEnv {
  Bindings: { remoteAddress?: string };
  Variables: { principal: Principal; mgmt: Management };
}
