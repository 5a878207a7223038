/**
 * `gannet admin ...`: admin accounts (console and admin API logins, separate from MQTT users) and
 * API keys, through the same operations as the admin API (src/security/admin-accounts.ts). Each
 * change goes to the audit log with the actor "cli".
 */
import type { SecurityCommand } from "../config/security-cli.ts";
import {
  addAccount,
  AdminOperationError,
  createApiKey,
  deleteAccount,
  revokeApiKey,
  updateAccount,
} from "../security/admin-accounts.ts";
import type { AdminStore } from "../security/admin-types.ts";
import { CommandError } from "./command-error.ts";
import { EXIT_CONFIG, EXIT_FAILURE } from "./commands.ts";

type AdminCommand = Extract<SecurityCommand, { kind: `admin-${string}` }>;



const iso = (ms: number | null) => (ms === null ? "never" : new Date(ms).toISOString());

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd()).join("\n") + "\n";
}

export async function runAdminCommand(
  store: AdminStore,
  command: AdminCommand,
  password: string | undefined,
  out: (text: string) => void,
  now: number,
): Promise<void> {
  const audit = (action: string, target: string, detail?: Record<string, unknown>) =>
    store.appendAudit({ at: now, actor: "cli", action, target, detail: detail ? JSON.stringify(detail) : null, address: null });
  try {
    switch (command.kind) {
      case "admin-add":
        await addAccount(store, command.name, password!, command.role, now);
        await audit("admin.add", command.name, { role: command.role });
        out(`added admin account ${command.name} (${command.role})\n`);
        return;
      case "admin-passwd":
        await updateAccount(store, command.name, { password: password! }, now);
        await audit("admin.passwd", command.name);
        out(`changed the password of admin account ${command.name}; its console logins end when they next expire\n`);
        return;
      case "admin-delete":
        await deleteAccount(store, command.name);
        await audit("admin.delete", command.name);
        out(`deleted admin account ${command.name} and its API keys\n`);
        return;
      case "admin-list": {
        const accounts = await store.listAccounts();
        if (accounts.length) {
          out(table([["NAME", "ROLE", "CREATED", "UPDATED"], ...accounts.map((a) => [a.name, a.role, iso(a.createdAt), iso(a.updatedAt)])]));
        }
        out(`${accounts.length} admin account${accounts.length === 1 ? "" : "s"}\n`);
        return;
      }
      case "admin-key-create": {
        const owner = await store.getAccount(command.account);
        const role = command.role ?? owner?.role ?? "viewer";
        const { key, record } = await createApiKey(store, command.account, command.label, role, now);
        await audit("apikey.create", record.id, { account: record.account, role: record.role, label: record.label });
        out(`${key}\n`);
        out(`created API key ${record.id} (${record.role}) for ${record.account}: send it as "Authorization: Bearer <key>"; it is shown only now\n`);
        return;
      }
      case "admin-key-list": {
        const keys = await store.listApiKeys();
        if (keys.length) {
          out(table([
            ["ID", "ACCOUNT", "ROLE", "CREATED", "LAST USED", "LABEL"],
            ...keys.map((k) => [k.id, k.account, k.role, iso(k.createdAt), iso(k.lastUsedAt), k.label]),
          ]));
        }
        out(`${keys.length} API key${keys.length === 1 ? "" : "s"}\n`);
        return;
      }
      case "admin-key-revoke":
        await revokeApiKey(store, command.id);
        await audit("apikey.revoke", command.id);
        out(`revoked API key ${command.id}\n`);
        return;
    }
  } catch (e: unknown) {
    if (e instanceof AdminOperationError) {
      throw new CommandError(e.message, e.code === "bad_request" ? EXIT_CONFIG : EXIT_FAILURE);
    }
    throw e;
  }
}
