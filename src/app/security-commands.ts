/**
 * `gannet user|acl|ban ...` and `gannet import mosquitto`: open the store of the effective
 * configuration (file, GANNET_* environment, --set: as `gannet config print`), act, close it, and
 * return the exit code (0 done, 1 failed at run time, 2 usage or configuration). Passwords and
 * hashes are never printed, except the hash `user hash` is asked for.
 */
import type { ConfigOptions } from "../config/cli.ts";
import type { Config, PersistenceConfig } from "../config/schema.ts";
import type { PasswordSource, SecurityCommand } from "../config/security-cli.ts";
import { hashPassword, hashScheme } from "../security/passwords.ts";
import type { AclRule, Ban } from "../security/types.ts";
import type { Store } from "../store/types.ts";
import { type CommandIo, EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, reportProblems } from "./commands.ts";
import { resolveConfig } from "./config-source.ts";
import { CommandError, readFile } from "./command-error.ts";
import { importMosquitto } from "./import-mosquitto.ts";
import { errorText } from "../util/errors.ts";

export interface SecurityIo extends CommandIo {
  openStore(persistence: PersistenceConfig): Promise<Store>;
  /** All of standard input as text. */
  readStdin(): Promise<string>;
}


export async function runSecurityCommand(
  io: SecurityIo,
  cli: { command: SecurityCommand; options: ConfigOptions },
): Promise<number> {
  const resolved = resolveConfig(io, io.env, cli.options);
  if (!resolved.ok) return reportProblems(io, resolved.problems, "invalid configuration");
  const { command } = cli;
  try {
    if (command.kind === "user-hash") {
      io.print("stdout", (await hashPassword(await readPassword(io, command.password))) + "\n");
      return EXIT_OK;
    }
    // Read inputs before the store opens, so a bad file or an empty password leaves no trace.
    const password = command.kind === "user-add" || command.kind === "user-passwd"
      ? await readPassword(io, command.password)
      : undefined;
    const store = await openSecurityStore(io, resolved.config.persistence);
    try {
      await run(io, resolved.config, store, command, password);
    } finally {
      await store.close();
    }
    return EXIT_OK;
  } catch (e: unknown) {
    io.print("stderr", `gannet: ${errorText(e)}\n`);
    return e instanceof CommandError ? e.code : EXIT_FAILURE;
  }
}

async function openSecurityStore(io: SecurityIo, persistence: PersistenceConfig): Promise<Store> {
  if (persistence.store === "memory") {
    throw new CommandError(
      "persistence.store is memory: users, ACL rules and bans are kept in sqlite or libsql (see persistence.store)",
      EXIT_CONFIG,
    );
  }
  const where = persistence.store === "libsql" ? persistence.url : persistence.path;
  try {
    return await io.openStore(persistence);
  } catch (e: unknown) {
    const cause = e instanceof Error && e.cause ? ` (${errorText(e.cause)})` : "";
    throw new CommandError(`cannot open the store ${where}: ${errorText(e)}${cause}`);
  }
}

/** The password, without the one line break a file or `echo` ends it with. */
async function readPassword(io: SecurityIo, source: PasswordSource): Promise<string> {
  let text: string | undefined;
  if (source === "stdin") text = await io.readStdin();
  else if ("value" in source) text = source.value;
  else {
    text = readFile(io, source.file, "--password-file");
  }
  const password = text.replace(/\r?\n$/, "");
  if (password === "") throw new CommandError("empty password", EXIT_CONFIG);
  return password;
}

const iso = (ms: number) => new Date(ms).toISOString();

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd()).join("\n") + "\n";
}

function refreshNote(config: Config): string {
  return `a running broker applies this within bans.refreshInterval (${config.bans.refreshInterval} s), or at once on SIGHUP\n`;
}

export function describeRule(rule: AclRule): string[] {
  const who = rule.username !== undefined
    ? `user ${rule.username}`
    : rule.clientId !== undefined
    ? `client ${rule.clientId}`
    : rule.anonymous
    ? "anonymous"
    : "everyone";
  const extra = [
    rule.maxQos !== undefined ? `maxQos=${rule.maxQos}` : "",
    rule.retain !== undefined ? `retain=${rule.retain}` : "",
  ].filter(Boolean).join(" ");
  return [rule.permission, rule.action, who, rule.topic, extra];
}

async function run(io: SecurityIo, config: Config, store: Store, command: SecurityCommand, password?: string) {
  const security = store.security;
  const now = Date.now();
  const out = (text: string) => io.print("stdout", text);
  switch (command.kind) {
    case "user-add":
    case "user-passwd": {
      const existing = await security.getUser(command.username);
      if (command.kind === "user-add" && existing) {
        throw new CommandError(
          `user ${JSON.stringify(command.username)} exists (change its password with gannet user passwd)`,
        );
      }
      if (command.kind === "user-passwd" && !existing) {
        throw new CommandError(`no user ${JSON.stringify(command.username)} (add it with gannet user add)`);
      }
      const passwordHash = await hashPassword(password!);
      await security.putUser({
        username: command.username,
        passwordHash,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      });
      out(`${command.kind === "user-add" ? "added user" : "changed the password of"} ${command.username}\n`);
      return;
    }
    case "user-delete":
      if (!(await security.deleteUser(command.username))) {
        throw new CommandError(`no user ${JSON.stringify(command.username)}`);
      }
      out(`deleted user ${command.username}; clients connected as this user stay connected until they reconnect\n`);
      return;
    case "user-list": {
      const users = await security.listUsers();
      const rows = users.map((u) => {
        const scheme = hashScheme(u.passwordHash);
        const kind = scheme === "argon2id" ? "argon2id" : `${scheme ?? "unknown"} (re-hashed at the next login)`;
        return [u.username, iso(u.createdAt), iso(u.updatedAt), kind];
      });
      if (rows.length) out(table([["USER", "CREATED", "UPDATED", "HASH"], ...rows]));
      const inFile = config.auth.users.length;
      out(
        `${users.length} user${users.length === 1 ? "" : "s"} in the database` +
          (inFile ? `; ${inFile} more in the configuration file (auth.users), checked first` : "") + "\n",
      );
      return;
    }
    case "acl-list": {
      const rules = await security.listAclRules();
      const rows = rules.map((r, i) => [String(i + 1), ...describeRule(r)]);
      const fromFile = config.acl.rules.length;
      out(
        `# acl.default: ${config.acl.default}` +
          (fromFile ? `; the ${fromFile} rule(s) of the configuration file (acl.rules) are checked before these` : "") +
          "; first match wins\n",
      );
      if (rows.length) out(table([["#", "PERMISSION", "ACTION", "WHO", "TOPIC", ""], ...rows]));
      else out("no ACL rules in the database\n");
      return;
    }
    case "acl-add": {
      const count = (await security.listAclRules()).length;
      const index = command.position === undefined ? count : Math.min(command.position - 1, count);
      await security.addAclRule(command.rule, index);
      out(`added ACL rule ${index + 1}: ${describeRule(command.rule).filter(Boolean).join(" ")}\n`);
      out(refreshNote(config));
      return;
    }
    case "acl-delete": {
      const rules = await security.listAclRules();
      const rule = rules[command.number - 1];
      if (!rule || !(await security.deleteAclRule(command.number - 1))) {
        throw new CommandError(`no ACL rule ${command.number} (there are ${rules.length}; see gannet acl list)`);
      }
      out(`deleted ACL rule ${command.number}: ${describeRule(rule).filter(Boolean).join(" ")}\n`);
      out(refreshNote(config));
      return;
    }
    case "ban-list": {
      const bans = await security.listBans(now);
      const rows = bans.map((
        b,
      ) => [b.kind, b.value, b.expiresAt === null ? "never" : iso(b.expiresAt), iso(b.createdAt), b.reason]);
      if (rows.length) out(table([["KIND", "VALUE", "EXPIRES", "CREATED", "REASON"], ...rows]));
      else out("no bans in force\n");
      return;
    }
    case "ban-add": {
      const ban: Ban = {
        ...command.ban,
        reason: command.reason ?? "set with gannet ban add",
        createdAt: now,
        expiresAt: command.durationSeconds === undefined ? null : now + command.durationSeconds * 1000,
      };
      await security.addBan(ban);
      out(
        `banned ${ban.kind} ${ban.value} ${ban.expiresAt === null ? "until lifted" : `until ${iso(ban.expiresAt)}`}\n`,
      );
      out(refreshNote(config));
      return;
    }
    case "ban-lift":
      if (!(await security.liftBan(command.ban.kind, command.ban.value))) {
        throw new CommandError(`no ban on ${command.ban.kind} ${command.ban.value}`);
      }
      out(`lifted the ban on ${command.ban.kind} ${command.ban.value}\n`);
      out(refreshNote(config));
      return;
    case "import-mosquitto":
      return await importMosquitto(io, config, store, command, now);
    case "user-hash":
      return; // handled before the store opens
  }
}
