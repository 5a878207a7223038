/// <reference lib="dom" />
/**
 * The typed admin API client (hono/client against `import type` of the admin app: a route change
 * that breaks the console fails the type check), the CSRF token, errors as messages, and SSE.
 */
import { hc } from "hono/client";
import type { AdminApi } from "../../src/admin/mod.ts";

let csrf = "";
export const setCsrf = (token: string | undefined) => (csrf = token ?? "");

/** Called on any 401: the session ended; the app shows the login page. */
let onLoggedOut: () => void = () => {};
export const whenLoggedOut = (f: () => void) => (onLoggedOut = f);

export const api = hc<AdminApi>("/api/v1", {
  headers: (): Record<string, string> => (csrf ? { "X-CSRF-Token": csrf } : {}),
  init: { credentials: "same-origin" },
});

export class ApiFailure extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** The JSON of a successful response, or throws ApiFailure with the API's message. */
export async function ok<T>(pending: Promise<{ ok: boolean; status: number; json(): Promise<T> }>): Promise<T> {
  let res;
  try {
    res = await pending;
  } catch (e: unknown) {
    throw new ApiFailure(0, "network", `cannot reach the broker: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (res.ok) return res.status === 204 ? (undefined as T) : await res.json();
  let code = "http";
  let message = `HTTP ${res.status}`;
  try {
    const body = await res.json() as unknown as { error?: { code: string; message: string } };
    if (body.error) ({ code, message } = body.error);
  } catch (_e: unknown) {
    // not JSON: keep the status line
  }
  if (res.status === 401) onLoggedOut();
  throw new ApiFailure(res.status, code, message);
}

/** Opens an SSE stream; returns a function that closes it. */
export function stream(path: string, handlers: Record<string, (data: unknown) => void>, onError?: (message: string) => void): () => void {
  const source = new EventSource(`/api/v1${path}`);
  for (const [event, handle] of Object.entries(handlers)) {
    source.addEventListener(event, (e) => handle(JSON.parse((e as MessageEvent<string>).data)));
  }
  source.onerror = () => onError?.("the live stream was interrupted; it reconnects by itself");
  return () => source.close();
}
