/**
 * Helpers for the hook tests (test/core/hooks*.test.ts): a hook that records every call and
 * answers as told, and small readers of what came back.
 */
import type { Hooks } from "../../src/mod.ts";
import type { TestClient, Version } from "./in-process.ts";

export const VERSIONS: Array<{ version: Version; name: string }> = [{ version: 5, name: "v5" }, {
  version: 4,
  name: "3.1.1",
}];
export const bytes = (s: string) => Array.from(new TextEncoder().encode(s));
export const text = (payload: Uint8Array) => new TextDecoder().decode(payload);
/** The reason code of an ack, 0 when the short form left it out. */
export const rc = (p: { reasonCode?: number }) => p.reasonCode ?? 0;
/** The CONNACK's reason code (v5) or return code (3.1.1). */
export const connackCode = (client: TestClient, connack: { reasonCode?: number; returnCode?: number }) =>
  client.version === 5 ? connack.reasonCode : connack.returnCode;

export type RecordingHook = Hooks & { calls: unknown[][] };

/**
 * A hook that implements every point except the enhanced authentication, records each call as
 * [point, ...args] and answers with `answers` (default: decisions defer, beforePublish passes the
 * message on unchanged).
 */
export function recorder(id: string, answers: Partial<Hooks> = {}): RecordingHook {
  const calls: unknown[][] = [];
  const hook: RecordingHook = { id, calls };
  const points = [
    "admitConnection",
    "authenticate",
    "authorizePublish",
    "authorizeSubscribe",
    "beforePublish",
    "onConnected",
    "onAuthenticationFailed",
    "onDisconnected",
    "onSubscribed",
    "onUnsubscribed",
    "onPublished",
    "onDelivered",
  ] as const;
  for (const point of points) {
    const answer = answers[point] as ((...args: unknown[]) => unknown) | undefined;
    (hook as unknown as Record<string, unknown>)[point] = (...args: unknown[]) => {
      calls.push([point, ...args]);
      if (answer) return answer(...args);
      if (point === "beforePublish") return args[1];
      if (point.startsWith("on")) return undefined;
      return "defer";
    };
  }
  return hook;
}

/** The points a recorder was called at, in order. */
export const pointsOf = (hook: RecordingHook) => hook.calls.map((c) => c[0]);
/** The arguments of each call of `point`. */
export const callsOf = (hook: RecordingHook, point: string) =>
  hook.calls.filter((c) => c[0] === point).map((c) => c.slice(1));
