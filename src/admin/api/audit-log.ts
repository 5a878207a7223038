/** Writing the audit log from a route: who (the principal), what, when, from where. */
import type { Context } from "hono";
import type { AdminEnv } from "./env.ts";

export async function audit(
  c: Context<AdminEnv>,
  action: string,
  target: string,
  detail?: Record<string, unknown>,
  override?: { actor: string },
): Promise<void> {
  const mgmt = c.var.mgmt;
  await mgmt.store.admin.appendAudit({
    at: mgmt.now(),
    actor: override?.actor ?? c.var.principal.actor,
    action,
    target,
    detail: detail ? JSON.stringify(detail) : null,
    address: c.env?.remoteAddress ?? null,
  });
}
