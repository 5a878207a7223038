/**
 * The OpenAPI 3.1 document of /api/v1, generated from the zod schemas the routes validate with
 * (zod 4's JSON Schema output is draft 2020-12, which OpenAPI 3.1 uses). Each area file registers
 * its routes with `doc(...)` next to their definitions; a test checks that every route is documented.
 */
import { z } from "zod";

export type Access = "public" | "viewer" | "admin";

export interface RouteDoc {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** Hono path under /api/v1, e.g. /accounts/:name. */
  path: string;
  summary: string;
  /** Who may call it: public (no login), viewer (any account), admin. */
  access: Access;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** The success response (JSON), or "event-stream" for Server-Sent Events. */
  response?: z.ZodType | "event-stream";
  status?: 200 | 201 | 204;
}

const registry = new Map<string, RouteDoc>();

/** Hono's `:name` and `:name{regex}` as OpenAPI's `{name}`. */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z]+)(\{[^}]*\})?/g, "{$1}");

/** Registers a route's documentation; returns it so routes can reuse its schemas. */
export function doc<const D extends RouteDoc>(d: D): D {
  registry.set(`${d.method} ${d.path}`, d);
  return d;
}

export const documentedRoutes = (): RouteDoc[] => [...registry.values()];

export const ErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
}).meta({ id: "Error" });

const schema = (s: z.ZodType, io: "input" | "output") => z.toJSONSchema(s, { io, unrepresentable: "any" });

function parameters(d: RouteDoc) {
  const out: unknown[] = [];
  for (const where of ["params", "query"] as const) {
    const s = d[where];
    if (!s) continue;
    const json = schema(s, "input") as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, value] of Object.entries(json.properties ?? {})) {
      out.push({
        name,
        in: where === "params" ? "path" : "query",
        required: where === "params" || (json.required ?? []).includes(name),
        schema: value,
      });
    }
  }
  return out;
}

export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const error = { description: "error", content: { "application/json": { schema: schema(ErrorSchema, "output") } } };
  for (const d of [...registry.values()].sort((a, b) => a.path.localeCompare(b.path))) {
    const path = openApiPath(d.path);
    const status = String(d.status ?? 200);
    const success = d.response === "event-stream"
      ? { description: "Server-Sent Events", content: { "text/event-stream": { schema: { type: "string" } } } }
      : d.response
      ? { description: "success", content: { "application/json": { schema: schema(d.response, "output") } } }
      : { description: "done" };
    (paths[path] ??= {})[d.method] = {
      summary: d.summary,
      "x-access": d.access,
      security: d.access === "public" ? [] : [{ session: [] }, { apiKey: [] }],
      parameters: parameters(d),
      ...(d.body ? { requestBody: { required: true, content: { "application/json": { schema: schema(d.body, "input") } } } } : {}),
      responses: { [status]: success, "400": error, "401": error, "403": error, default: error },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Gannet admin API",
      version,
      description: "Manage a Gannet MQTT broker. Log in (POST /auth/login) for a session cookie and echo its " +
        "csrfToken in X-CSRF-Token on every state-changing request, or send an API key as Authorization: Bearer.",
    },
    servers: [{ url: "/api/v1" }],
    components: {
      securitySchemes: {
        session: { type: "apiKey", in: "cookie", name: "gannet_session" },
        apiKey: { type: "http", scheme: "bearer" },
      },
    },
    paths,
  };
}
