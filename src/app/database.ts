/**
 * The SQLite file, before and after it is opened, for the broker and the CLI alike: where it is
 * (persistence.path, relative to the configuration file's directory), why it cannot be opened
 * (directory missing, permission denied for this user, read-only file system, locked), and, when
 * root ran a CLI command, giving what it created back to the directory's owner, so the service
 * user can still open the database.
 */
import type { PersistenceConfig } from "../config/schema.ts";
import { dirname, isAbsolute, resolvePath } from "../config/paths.ts";
import type { CommandIo } from "./commands.ts";
import { userName } from "./host.ts";

/** serve: the broker; read: a CLI command that only reads; write: one that writes. */
export type DatabaseUse = "serve" | "read" | "write";

export interface DatabaseFile {
  path: string;
  directory: string;
  /** Whether the file existed before this process opened it. */
  existed: boolean;
}

export type Preflight =
  | { ok: true; file: DatabaseFile }
  | { ok: false; problem: string; configProblem: boolean };

/** Where the configuration came from, to explain a relative persistence.path. */
export interface DatabaseContext {
  configFile?: string;
  /** persistence.path as written in the file, before resolving. */
  writtenPath: string;
  /** The command line to suggest re-running as another user (CLI only; passwords masked). */
  commandLine?: string;
}

const SIDE_FILES = ["-wal", "-shm", "-journal"];

/** The local file of the sqlite store; undefined for memory, a libSQL server or `:memory:`. */
export function localDatabasePath(persistence: PersistenceConfig): string | undefined {
  if (persistence.store !== "sqlite" || persistence.path === ":memory:") return undefined;
  const { path } = persistence;
  if (!path.startsWith("file:")) return path;
  try {
    return decodeURIComponent(new URL(path).pathname);
  } catch {
    return undefined;
  }
}

function mode(bits: number): string {
  return "0" + (bits & 0o777).toString(8);
}

function owner(io: CommandIo, path: string): { name: string; text: string } | undefined {
  const stat = io.stat(path);
  if (!stat) return undefined;
  const name = userName((p) => io.readTextFile(p), stat.uid);
  return { name, text: `owned by ${name}, mode ${mode(stat.mode)}` };
}

function permissionProblem(
  io: CommandIo,
  use: DatabaseUse,
  path: string,
  what: string,
  reason: string,
  ctx: DatabaseContext,
  directory: string,
): string {
  const me = userName((p) => io.readTextFile(p), io.uid());
  if (/EROFS|read-only/i.test(reason)) {
    return `cannot ${what} ${path}: read-only file system (remount it read-write, or set persistence.path to a writable place)`;
  }
  const who = owner(io, path);
  const base = `cannot ${what} ${path}: permission denied for user ${me}` + (who ? ` (${who.text})` : "");
  if (use === "serve") {
    return `${base}; the broker needs to read and write the database and its directory: ` +
      `make the user it runs as their owner (e.g. sudo chown -R ${me}: ${directory})`;
  }
  const run = ctx.commandLine ?? "gannet ...";
  const asOwner = who && who.name !== me && who.name !== "root";
  return `${base}; run the command as ${asOwner ? `that user: sudo -u ${who.name} ${run}` : `root: sudo ${run}`}`;
}

/** Checks that need no open: the directory exists, the file (or the directory, to create it) may be used. */
export function preflightDatabase(io: CommandIo, path: string, use: DatabaseUse, ctx: DatabaseContext): Preflight {
  const directory = dirname(path);
  const fail = (problem: string, configProblem = false): Preflight => ({ ok: false, problem, configProblem });
  const dir = io.stat(directory);
  if (!dir) {
    return fail(
      `the directory ${directory} of the database ${path} does not exist: create it, owned by the user the broker ` +
        `runs as (e.g. sudo install -d -o gannet -g gannet -m 0750 ${directory}), or set persistence.path` +
        (ctx.configFile ? ` in ${ctx.configFile}` : ""),
    );
  }
  if (!dir.isDirectory) return fail(`${directory} (of persistence.path ${path}) is not a directory`, true);
  const file = io.stat(path);
  if (file?.isDirectory) return fail(`persistence.path ${path} is a directory; name a file in it, e.g. ${path}/gannet.db`, true);
  if (!file) {
    // Before relative paths followed the configuration file, they followed the working directory.
    const old = ctx.configFile && !isAbsolute(ctx.writtenPath) ? resolvePath(io.cwd(), ctx.writtenPath) : undefined;
    if (old && old !== path && io.stat(old)) {
      return fail(
        `persistence.path ${ctx.writtenPath} in ${ctx.configFile} means ${path} (relative to the file's directory), ` +
          `which does not exist; a database exists at ${old} (relative to the working directory, as older versions ` +
          `read it): set persistence.path: ${old} in ${ctx.configFile}, or move that database to ${path}`,
        true,
      );
    }
    if (use !== "read") {
      const denied = io.access(directory, "write");
      if (denied) return fail(permissionProblem(io, use, directory, "create the database in", denied, ctx, directory));
    }
    return { ok: true, file: { path, directory, existed: false } };
  }
  for (const [p, what] of [[path, "open"], ...SIDE_FILES.map((s) => [path + s, "open"])] as const) {
    if (p !== path && !io.stat(p)) continue;
    const denied = io.access(p, "read") ?? (use === "read" ? undefined : io.access(p, "write"));
    if (denied) return fail(permissionProblem(io, use, p, what, denied, ctx, directory));
  }
  if (use !== "read") {
    // SQLite creates -wal and -shm next to the file: the directory must be writable too.
    const denied = io.access(directory, "write");
    if (denied) return fail(permissionProblem(io, use, directory, "write in", denied, ctx, directory));
  }
  return { ok: true, file: { path, directory, existed: true } };
}

export const isLocked = (error: string): boolean => /database is locked|SQLITE_BUSY|\bbusy\b/i.test(error);

export function lockedMessage(path: string, error: string): string {
  return `the database ${path} is locked by another process (another gannet, or a tool holding a write ` +
    `transaction): stop it or try again (${error})`;
}

/** Why opening failed, in words, from SQLite's message and a second look at the files. */
export function explainOpenFailure(io: CommandIo, path: string, use: DatabaseUse, ctx: DatabaseContext, error: string): string {
  if (isLocked(error)) return lockedMessage(path, error);
  const again = preflightDatabase(io, path, use, ctx);
  if (!again.ok) return again.problem;
  const readOnly = io.access(path, "write") ?? io.access(dirname(path), "write");
  if (readOnly && /EROFS|read-only/i.test(readOnly)) return permissionProblem(io, use, path, "write", readOnly, ctx, dirname(path));
  return `cannot open the database ${path}: ${error}`;
}

/**
 * Root ran a CLI command: the database file and SQLite's side files go to the owner of their
 * directory (the service user), or the service could not open what root created. Returns the
 * owner's name when it changed something.
 */
export function matchDirectoryOwner(io: CommandIo, file: DatabaseFile): string | undefined {
  if (io.uid() !== 0) return undefined;
  const dir = io.stat(file.directory);
  if (!dir || dir.uid === 0) return undefined;
  let changed = false;
  for (const p of [file.path, ...SIDE_FILES.map((s) => file.path + s)]) {
    const stat = io.stat(p);
    if (stat && (stat.uid !== dir.uid || stat.gid !== dir.gid)) {
      io.chown(p, dir.uid, dir.gid);
      changed = true;
    }
  }
  return changed ? userName((p) => io.readTextFile(p), dir.uid) : undefined;
}
