/**
 * `gannet config check FILE`: besides the schema, what would stop the start: certificate, key and
 * CA files that are missing, unreadable (for the user running the check) or not PEM, a key that
 * does not belong to its certificate, and a database whose directory is missing or not writable.
 * (Listeners sharing a port are found by the schema itself, so the start refuses them too.)
 */
import type { Config } from "../config/schema.ts";
import type { CommandIo } from "./commands.ts";
import { dirname } from "../config/paths.ts";
import { localDatabasePath, preflightDatabase } from "./database.ts";
import { userName } from "./host.ts";
import { errorText } from "../util/errors.ts";

/**
 * Problems with the files the broker reads at start (empty when it would find them usable), and
 * notes: a database directory that does not exist yet is one (systemd's StateDirectory= creates
 * it before the service starts, and the install steps check the file before that).
 */
export function checkFiles(
  io: CommandIo,
  config: Config,
  configFile: string,
  writtenPath: string,
): { problems: string[]; notes: string[] } {
  const problems: string[] = [];
  const notes: string[] = [];
  const me = userName((p) => io.readTextFile(p), io.uid());
  config.listeners.forEach((l, i) => {
    if (l.kind !== "tls" && l.kind !== "wss") return;
    const where = `listeners[${i}] (${l.kind} ${l.host}:${l.port})`;
    const read = (what: string, path: string | undefined): string | undefined => {
      if (path === undefined) return undefined;
      let text: string | undefined;
      try {
        text = io.readTextFile(path);
      } catch (e: unknown) {
        const reason = errorText(e);
        problems.push(
          `${where}: ${what} ${path}: cannot read it as user ${me}` +
            (/EACCES|permission denied/i.test(reason) ? " (permission denied)" : ` (${reason})`),
        );
        return undefined;
      }
      if (text === undefined) problems.push(`${where}: ${what} ${path}: no such file`);
      else if (!text.includes("-----BEGIN ")) problems.push(`${where}: ${what} ${path}: not a PEM file`);
      else return text;
      return undefined;
    };
    const cert = read("cert", l.cert);
    const key = read("key", l.key);
    read("ca", l.ca);
    if (cert !== undefined && key !== undefined) {
      const mismatch = io.checkKeyPair(cert, key);
      if (mismatch) problems.push(`${where}: cert ${l.cert} and key ${l.key}: ${mismatch}`);
    }
  });
  const database = localDatabasePath(config.persistence);
  if (database !== undefined && !io.stat(dirname(database))) {
    notes.push(
      `the database directory ${dirname(database)} does not exist yet: the broker cannot start until it does ` +
        "(the systemd unit's StateDirectory= creates /var/lib/gannet)",
    );
  } else if (database !== undefined) {
    const checked = preflightDatabase(io, database, "serve", { configFile, writtenPath });
    if (!checked.ok) problems.push(`persistence.path: ${checked.problem}`);
  }
  return { problems, notes };
}

/** Said once when files were checked: the service may run as another user than this check. */
export function checkedAsNote(io: CommandIo, config: Config): string | undefined {
  const files = config.listeners.some((l) => l.kind === "tls" || l.kind === "wss") ||
    localDatabasePath(config.persistence) !== undefined;
  if (!files) return undefined;
  const me = userName((p) => io.readTextFile(p), io.uid());
  return `files checked as user ${me}; the service opens them as the user it runs as (User= in its unit)`;
}
