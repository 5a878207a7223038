/** Errors of the admin API: JSON `{ "error": { "code", "message" } }` with a proper status. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { HTTPException } from "hono/http-exception";
import type { z } from "zod";
import { AdminOperationError } from "../../security/admin-accounts.ts";

export class ApiError extends Error {
  constructor(readonly status: ContentfulStatusCode, readonly code: string, message: string) {
    super(message);
    this.name = "ApiError";
  }
}

export const errorBody = (code: string, message: string) => ({ error: { code, message } });

export function errorResponse(c: Context, e: unknown): Response {
  if (e instanceof ApiError) return c.json(errorBody(e.code, e.message), e.status);
  if (e instanceof AdminOperationError) {
    const status = e.code === "not_found" ? 404 : e.code === "conflict" ? 409 : 400;
    return c.json(errorBody(e.code, e.message), status);
  }
  if (e instanceof HTTPException) {
    // Hono's own refusals, e.g. a body that is not JSON for a JSON route.
    const status = e.status === 400 ? 400 : e.status >= 500 ? 500 : e.status;
    return c.json(errorBody(e.status === 400 ? "bad_request" : "http", e.message), status as ContentfulStatusCode);
  }
  const message = e instanceof Error ? e.message : String(e);
  return c.json(errorBody("internal", `internal error: ${message}`), 500);
}

/** zod issues as one line an operator can act on: `body.topic: Invalid input; query.limit: Too big`. */
export function describeIssues(where: string, error: z.ZodError): string {
  return error.issues
    .map((i) => `${[where, ...i.path.map(String)].join(".")}: ${i.message}`)
    .join("; ");
}
