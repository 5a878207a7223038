/** The admin app's public surface. */
export { createAdminApp } from "./app.ts";
export type { AdminOptions, ReadinessState } from "./app.ts";
export type { AssetReader } from "./assets.ts";
export type { AdminApi } from "./api/api.ts";
export type { ManagedBroker, Management, ProcessStats, ReloadOutcome } from "./api/env.ts";
