/**
 * /api/v1: the routes chained in one Hono app whose type the console's typed client imports
 * (`import type { AdminApi }`). Order: the management context (503 until the broker is up), the
 * login route, then authentication and roles for everything else.
 */
import { Hono } from "hono";
import { accountRoutes } from "./accounts.ts";
import { clientRoutes } from "./clients.ts";
import { streamRoutes } from "./streams.ts";
import { auditRoutes } from "./audit.ts";
import { authenticate, loginRoutes, sessionRoutes } from "./auth.ts";
import type { AdminEnv, Management } from "./env.ts";
import { ApiError, errorResponse } from "./errors.ts";
import { LoginLimiter, Logins } from "./logins.ts";
import { mqttSecurityRoutes } from "./mqtt-security.ts";
import { doc, openApiDocument } from "./openapi.ts";
import { systemRoutes } from "./system.ts";

export interface ApiOptions {
  version: string;
  runtime: string;
  /** The management context once the store and broker run; undefined while starting. */
  management: () => Management | undefined;
}

doc({ method: "get", path: "/openapi.json", summary: "This document", access: "public" });

export function createApi(options: ApiOptions) {
  const logins = new Logins();
  const limiter = new LoginLimiter();
  const api = new Hono<AdminEnv>()
    .get("/openapi.json", (c) => c.json(openApiDocument(options.version)))
    .use(async (c, next) => {
      const mgmt = options.management();
      if (!mgmt) throw new ApiError(503, "starting", "the broker is still starting (see /readyz); try again in a moment");
      c.set("mgmt", mgmt);
      await next();
    })
    .route("/", loginRoutes(logins, limiter))
    .use(authenticate(logins))
    .route("/", sessionRoutes(logins))
    .route("/", systemRoutes(options))
    .route("/", accountRoutes(logins))
    .route("/", auditRoutes())
    .route("/", mqttSecurityRoutes())
    .route("/", clientRoutes())
    .route("/", streamRoutes(options));
  api.onError((e, c) => errorResponse(c, e));
  return api;
}

export type AdminApi = ReturnType<typeof createApi>;
