/**
 * `gannet import mosquitto [--passwd FILE] [--acl FILE] [--replace-acl]`: all or nothing. Both files
 * are read and parsed first; any line it cannot understand is reported with its number and nothing
 * is written (exit 2). Users keep their Mosquitto hashes (the broker re-hashes them with argon2id at
 * their next successful login); ACL rules are appended after the stored ones (or replace them).
 */
import type { Config } from "../config/schema.ts";
import type { SecurityCommand } from "../config/security-cli.ts";
import { type LineProblem, parseMosquittoAcl, parseMosquittoPasswd } from "../security/mosquitto-import.ts";
import type { Store } from "../store/types.ts";
import { type CommandIo, EXIT_CONFIG } from "./commands.ts";
import { CommandError, readFile } from "./command-error.ts";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

export async function importMosquitto(
  io: CommandIo,
  config: Config,
  store: Store,
  command: Extract<SecurityCommand, { kind: "import-mosquitto" }>,
  now: number,
  /** The database written, as the messages name it. */
  into: string,
): Promise<void> {
  const problems: string[] = [];
  const report = (file: string, list: LineProblem[]) => {
    for (const p of list) problems.push(`${file}:${p.line}: ${p.message}`);
  };
  const passwd = command.passwd === undefined
    ? undefined
    : parseMosquittoPasswd(readFile(io, command.passwd, "--passwd"));
  if (passwd) report(command.passwd!, passwd.problems);
  const acl = command.acl === undefined ? undefined : parseMosquittoAcl(readFile(io, command.acl, "--acl"));
  if (acl) report(command.acl!, acl.problems);
  if (problems.length) {
    io.print("stderr", problems.map((p) => `gannet: ${p}\n`).join(""));
    throw new CommandError(`nothing imported: ${plural(problems.length, "problem")}`, EXIT_CONFIG);
  }

  const out = (text: string) => io.print("stdout", text);
  if (passwd) {
    let replaced = 0;
    for (const user of passwd.users) {
      const existing = await store.security.getUser(user.username);
      if (existing) replaced++;
      await store.security.putUser({ ...user, createdAt: existing?.createdAt ?? now, updatedAt: now });
    }
    out(
      `imported ${plural(passwd.users.length, "user")} from ${command.passwd} into ${into}` +
        (replaced ? ` (${replaced} replaced an existing user)` : "") +
        "; their Mosquitto hashes work as they are and are replaced with argon2id at each user's next login\n",
    );
  }
  if (acl) {
    const existing = command.replaceAcl ? [] : await store.security.listAclRules();
    // One transaction: a broker reloading meanwhile sees the old list or the new one, never half.
    await store.security.replaceAclRules([...existing, ...acl.rules]);
    out(
      `imported ${plural(acl.rules.length, "ACL rule")} from ${command.acl} into ${into}` +
        (command.replaceAcl
          ? " (replacing the stored rules)"
          : existing.length
          ? ` (after the ${existing.length} stored before)`
          : "") +
        "\n",
    );
    out(
      `Mosquitto denies whatever the acl_file does not allow: \`acl.default: deny\` gives the same behaviour` +
        ` (the current configuration has acl.default: ${config.acl.default})\n`,
    );
    out(
      `a running broker applies the rules within bans.refreshInterval (${config.bans.refreshInterval} s), or at once on SIGHUP\n`,
    );
  }
}
