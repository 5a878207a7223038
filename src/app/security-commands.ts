/**
 * `gannet user|acl|ban|admin ...` and `gannet import mosquitto`: open the store of the effective
 * configuration (file, GANNET_* environment, --set: as `gannet config print`), act, close it, and
 * return the exit code (0 done, 1 failed at run time, 2 usage or configuration). Passwords and
 * hashes are never printed, except the hash `user hash` is asked for.
 */
import type { ConfigOptions } from "../config/cli.ts";
import type { Config, PersistenceConfig } from "../config/schema.ts";
import type { PasswordSource, SecurityCommand } from "../config/security-cli.ts";
import { hashPassword, hashScheme } from "../security/passwords.ts";
import { describeRule } from "../security/acl.ts";
import { AdminOperationError } from "../security/admin-accounts.ts";
import { addAclRule, addBan, deleteAclRule, deleteUser, liftBan, setUserPassword } from "../security/operations.ts";
import type { Store } from "../store/types.ts";
import { MemoryStore } from "../store/memory.ts";
import { type CommandIo, EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, reportProblems } from "./commands.ts";
import {
  type DatabaseContext,
  type DatabaseFile,
  type DatabaseUse,
  explainOpenFailure,
  isLocked,
  localDatabasePath,
  lockedMessage,
  matchDirectoryOwner,
  preflightDatabase,
} from "./database.ts";
import { resolveConfig } from "./config-source.ts";
import { CommandError, readFile } from "./command-error.ts";
import { importMosquitto } from "./import-mosquitto.ts";
import { errorText } from "../util/errors.ts";
import { runAdminCommand } from "./admin-commands.ts";

export interface SecurityIo extends CommandIo {
  /** The command line as given (to suggest running it as another user). */
  readonly args: readonly string[];
  openStore(persistence: PersistenceConfig): Promise<Store>;
  /** All of standard input as text. */
  readStdin(): Promise<string>;
}


const READ_ONLY = new Set<SecurityCommand["kind"]>(["user-list", "acl-list", "ban-list"]);

/** The command line, quoted for a shell, with a password given on it masked. */
function commandLine(args: readonly string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`);
  return ["gannet", ...args.map((a, i) => (args[i - 1] === "--password" ? "..." : a.startsWith("--password=") ? "--password=..." : quote(a)))]
    .join(" ");
}

export async function runSecurityCommand(
  io: SecurityIo,
  cli: { command: SecurityCommand; options: ConfigOptions },
): Promise<number> {
  const resolved = await resolveConfig(io, io.env, cli.options);
  if (!resolved.ok) return reportProblems(io, resolved.problems, "invalid configuration");
  const { command } = cli;
  try {
    if (command.kind === "user-hash") {
      io.print("stdout", (await hashPassword(await readPassword(io, command.password, false))) + "\n");
      return EXIT_OK;
    }
    // Read inputs before the store opens, so a bad file or an empty password leaves no trace.
    const password = command.kind === "user-add" || command.kind === "user-passwd" || command.kind === "admin-add" ||
        command.kind === "admin-passwd"
      ? await readPassword(io, command.password, true)
      : undefined;
    const use = READ_ONLY.has(command.kind) ? "read" : "write";
    const context = { configFile: resolved.file, writtenPath: resolved.writtenPersistencePath, commandLine: commandLine(io.args) };
    const opened = await openSecurityStore(io, resolved.config.persistence, use, context);
    if (opened.file && !opened.file.existed && use === "write") {
      io.print("stdout", `created the database ${opened.file.path} (the broker has not run with it yet)\n`);
    }
    let owner: string | undefined;
    try {
      await run(io, resolved.config, opened.store, command, opened.label, resolved.file, password);
    } catch (e: unknown) {
      // The store waits busy_timeout for a lock; past it, say who holds the database, not just SQLite's words.
      if (!(e instanceof CommandError) && isLocked(errorText(e))) throw new CommandError(lockedMessage(opened.label, errorText(e)));
      throw e;
    } finally {
      await opened.store.close();
      if (opened.file && use === "write") owner = matchDirectoryOwner(io, opened.file);
    }
    if (owner) io.print("stdout", `gave ${opened.file!.path} to ${owner}, the owner of its directory, so the broker can open it\n`);
    return EXIT_OK;
  } catch (e: unknown) {
    io.print("stderr", `gannet: ${errorText(e)}\n`);
    if (e instanceof AdminOperationError) return e.code === "bad_request" ? EXIT_CONFIG : EXIT_FAILURE;
    return e instanceof CommandError ? e.code : EXIT_FAILURE;
  }
}

interface OpenedStore {
  store: Store;
  /** The database as messages name it: its path, or the server URL. */
  label: string;
  /** The local file, when the store is one. */
  file?: DatabaseFile;
}

async function openSecurityStore(
  io: SecurityIo,
  persistence: PersistenceConfig,
  use: DatabaseUse,
  context: DatabaseContext,
): Promise<OpenedStore> {
  if (persistence.store === "memory") {
    throw new CommandError(
      "persistence.store is memory: users, ACL rules and bans are kept in sqlite or libsql (see persistence.store)",
      EXIT_CONFIG,
    );
  }
  const path = localDatabasePath(persistence);
  const label = path ?? (persistence.store === "libsql" ? persistence.url! : persistence.path);
  let file: DatabaseFile | undefined;
  if (path !== undefined) {
    const checked = preflightDatabase(io, path, use, context);
    if (!checked.ok) throw new CommandError(checked.problem, checked.configProblem ? EXIT_CONFIG : EXIT_FAILURE);
    file = checked.file;
    if (!file.existed && use === "read") {
      // Never create a database for a listing: the broker creates it at its first start.
      io.print("stderr", `gannet: no database at ${path} yet (the broker creates it at its first start)\n`);
      return { store: new MemoryStore(), label };
    }
  }
  try {
    return { store: await io.openStore(persistence), label, file };
  } catch (e: unknown) {
    const cause = e instanceof Error && e.cause ? ` (${errorText(e.cause)})` : "";
    if (path !== undefined) throw new CommandError(explainOpenFailure(io, path, use, context, errorText(e) + cause));
    throw new CommandError(`cannot open the store ${label}: ${errorText(e)}${cause}`);
  }
}

/**
 * The password: on a terminal, asked twice without echo (when it was to come from stdin);
 * otherwise the first line of stdin, the file or the argument, without its line break.
 */
async function readPassword(io: SecurityIo, source: PasswordSource, confirm: boolean): Promise<string> {
  let text: string | undefined;
  if (source === "stdin") {
    text = await io.readSecret("Password: ");
    if (text !== undefined && confirm) {
      if (text === "") throw new CommandError("empty password", EXIT_CONFIG);
      const again = await io.readSecret("Password again: ");
      if (again !== text) throw new CommandError("the two passwords differ; nothing changed", EXIT_CONFIG);
    }
    text ??= (await io.readStdin()).split(/\r?\n/)[0];
  } else if ("value" in source) text = source.value;
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

async function run(
  io: SecurityIo,
  config: Config,
  store: Store,
  command: SecurityCommand,
  db: string,
  configFile: string | undefined,
  password?: string,
) {
  const security = store.security;
  const now = Date.now();
  const out = (text: string) => io.print("stdout", text);
  const fileName = configFile ?? "the configuration";
  const inFile = (name: string) => config.auth.users.some((u) => u.username === name);
  switch (command.kind) {
    case "user-add":
    case "user-passwd": {
      try {
        await setUserPassword(security, command.username, password!, command.kind === "user-add" ? "add" : "passwd", now);
      } catch (e: unknown) {
        if (e instanceof AdminOperationError && e.code === "conflict") {
          throw new CommandError(`user ${JSON.stringify(command.username)} exists in ${db} (change its password with gannet user passwd)`);
        }
        if (e instanceof AdminOperationError && e.code === "not_found") {
          throw new CommandError(
            inFile(command.username)
              ? `user ${JSON.stringify(command.username)} is defined in ${fileName} (auth.users), not in ${db}: ` +
                "change its password there (a hash from gannet user hash), then reload"
              : `no user ${JSON.stringify(command.username)} in ${db} (add it with gannet user add)`,
          );
        }
        throw e;
      }
      out(`${command.kind === "user-add" ? "added user" : "changed the password of"} ${command.username} ${command.kind === "user-add" ? "to" : "in"} ${db}\n`);
      if (inFile(command.username)) {
        out(
          `note: ${fileName} also defines ${command.username} (auth.users); the file's one wins (it is checked first), ` +
            "so this password is not used while it is there\n",
        );
      }
      return;
    }
    case "user-delete":
      try {
        await deleteUser(security, command.username);
      } catch (e: unknown) {
        if (!(e instanceof AdminOperationError && e.code === "not_found")) throw e;
        throw new CommandError(
          inFile(command.username)
            ? `user ${JSON.stringify(command.username)} lives in ${fileName} (auth.users), not in ${db}: ` +
              "delete it there, then reload (systemctl reload gannet)"
            : `no user ${JSON.stringify(command.username)} in ${db}`,
        );
      }
      out(`deleted user ${command.username} from ${db}; clients connected as this user stay connected until they reconnect\n`);
      if (inFile(command.username)) {
        out(`note: ${fileName} still defines ${command.username} (auth.users): that user can still log in\n`);
      }
      return;
    case "user-list": {
      const users = await security.listUsers();
      const rows = users.map((u) => {
        const scheme = hashScheme(u.passwordHash);
        const kind = scheme === "argon2id" ? "argon2id" : `${scheme ?? "unknown"} (re-hashed at the next login)`;
        const shadowed = inFile(u.username) ? " (unused: auth.users in the file has this name)" : "";
        return [u.username, iso(u.createdAt), iso(u.updatedAt), kind + shadowed];
      });
      if (rows.length) out(table([["USER", "CREATED", "UPDATED", "HASH"], ...rows]));
      const fromFile = config.auth.users.length;
      out(
        `${users.length} user${users.length === 1 ? "" : "s"} in the database ${db}` +
          (fromFile ? `; ${fromFile} more in ${fileName} (auth.users), checked first` : "") + "\n",
      );
      return;
    }
    case "acl-list": {
      const rules = await security.listAclRules();
      const fileRows = config.acl.rules.map((r) => ["file", ...describeRule(r)]);
      const rows = rules.map((r, i) => [String(i + 1), ...describeRule(r)]);
      out(
        `# rules in the order they are checked; the first that matches decides. "file": acl.rules in ${fileName} ` +
          `(edit the file to change them); numbered: in ${db} (gannet acl delete N)\n`,
      );
      const defaultRow = ["default", config.acl.default, "both", "everyone", "#", "(acl.default: when no rule matches)"];
      out(table([["#", "PERMISSION", "ACTION", "WHO", "TOPIC", ""], ...fileRows, ...rows, defaultRow]));
      if (!rows.length) out(`no ACL rules in the database ${db}\n`);
      return;
    }
    case "acl-add": {
      const index = await addAclRule(security, command.rule, command.position === undefined ? undefined : command.position - 1);
      out(`added ACL rule ${index + 1} to ${db}: ${describeRule(command.rule).filter(Boolean).join(" ")}\n`);
      if (config.acl.rules.length) out(`note: the ${config.acl.rules.length} rule(s) of ${fileName} (acl.rules) are checked before it\n`);
      out(refreshNote(config));
      return;
    }
    case "acl-delete": {
      let rule;
      try {
        rule = await deleteAclRule(security, command.number - 1);
      } catch (e: unknown) {
        if (!(e instanceof AdminOperationError && e.code === "not_found")) throw e;
        const count = (await security.listAclRules()).length;
        throw new CommandError(`no ACL rule ${command.number} in ${db} (there are ${count}; see gannet acl list)`);
      }
      out(`deleted ACL rule ${command.number} from ${db}: ${describeRule(rule).filter(Boolean).join(" ")}\n`);
      out(refreshNote(config));
      return;
    }
    case "ban-list": {
      const bans = await security.listBans(now);
      const rows = bans.map((
        b,
      ) => [b.kind, b.value, b.expiresAt === null ? "never" : iso(b.expiresAt), iso(b.createdAt), b.reason]);
      if (rows.length) out(table([["KIND", "VALUE", "EXPIRES", "CREATED", "REASON"], ...rows]));
      else out(`no bans in force in ${db}\n`);
      return;
    }
    case "ban-add": {
      const ban = await addBan(security, command.ban, { reason: command.reason ?? "set with gannet ban add", durationSeconds: command.durationSeconds }, now);
      out(
        `banned ${ban.kind} ${ban.value} ${ban.expiresAt === null ? "until lifted" : `until ${iso(ban.expiresAt)}`} (in ${db})\n`,
      );
      out(refreshNote(config));
      return;
    }
    case "ban-lift":
      try {
        await liftBan(security, command.ban.kind, command.ban.value);
      } catch (e: unknown) {
        if (!(e instanceof AdminOperationError && e.code === "not_found")) throw e;
        throw new CommandError(`no ban on ${command.ban.kind} ${command.ban.value} in ${db}`);
      }
      out(`lifted the ban on ${command.ban.kind} ${command.ban.value} in ${db}\n`);
      out(refreshNote(config));
      return;
    case "admin-add":
    case "admin-passwd":
    case "admin-delete":
    case "admin-list":
    case "admin-key-create":
    case "admin-key-list":
    case "admin-key-revoke":
      return await runAdminCommand(store.admin, command, password, out, now);
    case "import-mosquitto":
      return await importMosquitto(io, config, store, command, now, db);
    case "user-hash":
      return; // handled before the store opens
  }
}
