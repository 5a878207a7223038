/**
 * SIGHUP: which changes of the configuration apply live and which need a restart.
 * Live: logging, bridges (added, changed, removed; see src/app/bridges.ts), the MQTT limits (for connections made after the reload; connected clients
 * keep the limits they were given in CONNACK), ACL rules, ban policy and the YAML users.
 * Everything else is reported as needing a restart (TLS certificate files are re-read anyway).
 */
import type { Config } from "../config/schema.ts";
import { formatPath, type KeyPath } from "../config/schema-walk.ts";

/** Key paths whose values differ between two plain-data trees (leaves and changed list lengths). */
export function changedPaths(before: unknown, after: unknown, path: KeyPath = []): KeyPath[] {
  if (typeof before !== "object" || typeof after !== "object" || before === null || after === null) {
    return Object.is(before, after) ? [] : [path];
  }
  if (Array.isArray(before) !== Array.isArray(after)) return [path];
  if (Array.isArray(before) && Array.isArray(after) && before.length !== after.length) return [path];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].flatMap((key) => {
    const segment = Array.isArray(before) ? Number(key) : key;
    return changedPaths(
      (before as Record<string, unknown>)[key],
      (after as Record<string, unknown>)[key],
      [...path, segment],
    );
  });
}

const LIVE_SECTIONS = new Set(["logging", "mqtt", "acl", "bans", "bridges"]);
/** Live too: the YAML users (auth.http needs a restart). */
const isLive = (path: KeyPath) => LIVE_SECTIONS.has(String(path[0])) || (path[0] === "auth" && path[1] === "users");

export interface ReloadPlan {
  /** Changes applied now (key paths). */
  live: string[];
  /** Changes that take effect at the next restart (key paths). */
  restart: string[];
}

export function planReload(before: Config, after: Config): ReloadPlan {
  const plan: ReloadPlan = { live: [], restart: [] };
  for (const path of changedPaths(before, after)) {
    (isLive(path) ? plan.live : plan.restart).push(formatPath(path));
  }
  return plan;
}
