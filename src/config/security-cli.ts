/**
 * Command-line parsing of the security commands: `gannet user|acl|ban ...` and `gannet import
 * mosquitto`. Each takes `--config FILE` and `--set KEY=VALUE` (with GANNET_* from the environment)
 * to find the store of the effective configuration, as `gannet config print` does. Only the shape
 * is checked here (flags, numbers, addresses); the store is touched in src/app/security-commands.ts.
 */
import { canonicalAddressBan } from "../security/address.ts";
import type { AclAction, AclRule, BanKind } from "../security/types.ts";
import type { AdminRole } from "../security/admin-types.ts";
import { isValidTopicFilter } from "../protocol/topics.ts";
import type { ConfigOptions } from "./cli.ts";
import { parseSet } from "./overrides.ts";

/** Where a password comes from: a file, the command line (visible in `ps`), or stdin. */
export type PasswordSource = { file: string } | { value: string } | "stdin";

export type SecurityCommand =
  | { kind: "user-add" | "user-passwd"; username: string; password: PasswordSource }
  | { kind: "user-delete"; username: string }
  | { kind: "user-list" }
  | { kind: "user-hash"; password: PasswordSource }
  | { kind: "acl-list" }
  /** `position`: 1-based, as `acl list` numbers the rules. */
  | { kind: "acl-add"; rule: AclRule; position?: number }
  | { kind: "acl-delete"; number: number }
  | { kind: "ban-list" }
  | { kind: "ban-add"; ban: { kind: BanKind; value: string }; durationSeconds?: number; reason?: string }
  | { kind: "ban-lift"; ban: { kind: BanKind; value: string } }
  | { kind: "import-mosquitto"; passwd?: string; acl?: string; replaceAcl: boolean }
  | { kind: "admin-add"; name: string; role: AdminRole; password: PasswordSource }
  | { kind: "admin-passwd"; name: string; password: PasswordSource }
  | { kind: "admin-delete"; name: string }
  | { kind: "admin-list" }
  | { kind: "admin-key-create"; account: string; label: string; role?: AdminRole }
  | { kind: "admin-key-list" }
  | { kind: "admin-key-revoke"; id: string };

export type SecurityParse =
  | { kind: "security"; command: SecurityCommand; options: ConfigOptions }
  | { kind: "error"; message: string }
  | { kind: "help" };

export const SECURITY_COMMANDS = ["user", "acl", "ban", "import", "admin"] as const;

export const SECURITY_USAGE =
  `       gannet user add|passwd NAME [--password-file FILE | --password P]   (else asked twice on a terminal, or stdin's first line)
       gannet user delete NAME | user list | user hash (password as for user add; prints a hash for auth.users)
       gannet acl list | acl delete N
       gannet acl add --topic T --allow|--deny [--action publish|subscribe|both]
                      [--username U | --client-id C | --anonymous] [--max-qos N] [--retain true|false] [--position N]
       gannet ban list | ban lift (--client-id C | --username U | --address A)
       gannet ban add (--client-id C | --username U | --address IP_OR_CIDR) [--duration SECONDS] [--reason TEXT]
       gannet import mosquitto [--passwd FILE] [--acl FILE] [--replace-acl]
       gannet admin add NAME [--role admin|viewer] [--password-file FILE | --password P]   (console/API accounts)
       gannet admin passwd NAME | admin delete NAME | admin list
       gannet admin key create --account NAME [--label TEXT] [--role admin|viewer] | admin key list | admin key revoke ID
       (these use the broker's database: --config FILE (default /etc/gannet/gannet.yaml), --set KEY=VALUE;
        a relative persistence.path is relative to the file's directory; --password is visible in ps)`;

class Args {
  private readonly values = new Map<string, string | true>();
  readonly positional: string[] = [];
  problem: string | undefined;

  constructor(
    argv: readonly string[],
    valued: readonly string[],
    switches: readonly string[],
    readonly options: ConfigOptions,
  ) {
    for (let i = 0; i < argv.length && !this.problem; i++) {
      const arg = argv[i];
      const eq = arg.indexOf("=");
      const [flag, inline] = arg.startsWith("--") && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
      if (flag === "--config" || flag === "-c" || flag === "--set" || valued.includes(flag)) {
        const value = inline ?? argv[++i];
        if (value === undefined) this.problem = `${flag} expects a value`;
        else if (flag === "--config" || flag === "-c") options.configPath = value;
        else if (flag === "--set") this.set(value);
        else if (this.values.has(flag)) this.problem = `${flag} given twice`;
        else this.values.set(flag, value);
      } else if (switches.includes(flag) && inline === undefined) {
        this.values.set(flag, true);
      } else if (arg.startsWith("-") && arg !== "-") {
        this.problem = `unknown option ${JSON.stringify(arg)}`;
      } else {
        this.positional.push(arg);
      }
    }
  }

  private set(pair: string): void {
    const override = parseSet(pair);
    if ("problem" in override) this.problem = override.problem;
    else this.options.overrides.push(override);
  }

  get(flag: string): string | undefined {
    const v = this.values.get(flag);
    return typeof v === "string" ? v : undefined;
  }
  has(flag: string): boolean {
    return this.values.has(flag);
  }
}

const fail = (message: string): SecurityParse => ({ kind: "error", message });

function positiveInteger(text: string | undefined, flag: string, min = 1): number | { problem: string } {
  const n = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    return { problem: `${flag} expects a whole number from ${min}, got ${JSON.stringify(text ?? "")}` };
  }
  return n;
}

function checkName(name: string | undefined, what: string): string | undefined {
  if (name === undefined || name === "") return `missing ${what}`;
  if (name.includes("\u0000")) return `${what} must not contain U+0000`;
  return undefined;
}

function passwordSource(args: Args): PasswordSource | { problem: string } {
  const file = args.get("--password-file");
  const value = args.get("--password");
  if (file !== undefined && value !== undefined) return { problem: "give --password-file or --password, not both" };
  if (file !== undefined) return { file };
  if (value !== undefined) return value === "" ? { problem: "--password must not be empty" } : { value };
  return "stdin";
}

/** One of --client-id / --username / --address, validated (addresses canonicalized). */
function banTarget(args: Args): { kind: BanKind; value: string } | { problem: string } {
  const given = (["--client-id", "--username", "--address"] as const).filter((f) => args.has(f));
  if (given.length !== 1) return { problem: "give exactly one of --client-id, --username, --address" };
  const value = args.get(given[0])!;
  if (given[0] === "--address") {
    const canonical = canonicalAddressBan(value);
    return typeof canonical === "string" ? { kind: "address", value: canonical } : canonical;
  }
  const bad = checkName(value, given[0].slice(2));
  if (bad) return { problem: bad };
  return { kind: given[0] === "--client-id" ? "clientId" : "username", value };
}

function aclRule(args: Args): AclRule | { problem: string } {
  const topic = args.get("--topic");
  if (topic === undefined) return { problem: "acl add needs --topic" };
  // %u and %c stand for whole levels: the filter must be valid with them filled in.
  if (!isValidTopicFilter(topic.replaceAll("%u", "u").replaceAll("%c", "c"))) {
    return { problem: `--topic ${JSON.stringify(topic)} is not a valid topic filter` };
  }
  if (args.has("--allow") === args.has("--deny")) return { problem: "give one of --allow, --deny" };
  const action = args.get("--action") ?? "both";
  if (action !== "publish" && action !== "subscribe" && action !== "both") {
    return { problem: `--action expects publish, subscribe or both, got ${JSON.stringify(action)}` };
  }
  const rule: AclRule = { topic, action: action as AclAction, permission: args.has("--allow") ? "allow" : "deny" };
  const who = ["--username", "--client-id", "--anonymous"].filter((f) => args.has(f));
  if (who.length > 1) {
    return { problem: "give at most one of --username, --client-id, --anonymous (none: every client)" };
  }
  if (args.has("--username")) rule.username = args.get("--username")!;
  if (args.has("--client-id")) rule.clientId = args.get("--client-id")!;
  if (args.has("--anonymous")) rule.anonymous = true;
  const maxQos = args.get("--max-qos");
  if (maxQos !== undefined) {
    if (maxQos !== "0" && maxQos !== "1" && maxQos !== "2") return { problem: "--max-qos expects 0, 1 or 2" };
    rule.maxQos = Number(maxQos) as 0 | 1 | 2;
  }
  const retain = args.get("--retain");
  if (retain !== undefined) {
    if (retain !== "true" && retain !== "false") return { problem: "--retain expects true or false" };
    rule.retain = retain === "true";
  }
  if (rule.permission === "deny" && (maxQos !== undefined || retain !== undefined)) {
    return { problem: "--max-qos and --retain qualify allow rules only" };
  }
  return rule;
}

function adminRole(text: string): AdminRole | { problem: string } {
  return text === "admin" || text === "viewer" ? text : { problem: `--role expects admin or viewer, got ${JSON.stringify(text)}` };
}

function done(command: SecurityCommand | { problem: string }, args: Args, positional = 0): SecurityParse {
  if (args.problem) return fail(args.problem);
  if ("problem" in command) return fail(command.problem);
  if (args.positional.length > positional) {
    return fail(`unexpected argument ${JSON.stringify(args.positional[positional])}`);
  }
  return { kind: "security", command, options: args.options };
}

/** Parses `argv` whose first word is one of SECURITY_COMMANDS. */
export function parseSecurityArgs(argv: readonly string[]): SecurityParse {
  // `admin key create|list|revoke`: three words name the command.
  const [group, sub, ...rest] = argv[0] === "admin" && argv[1] === "key"
    ? [argv[0], `key ${argv[2] ?? ""}`.trim(), ...argv.slice(3)]
    : argv;
  if (rest.includes("--help") || rest.includes("-h") || sub === "--help" || sub === "-h") return { kind: "help" };
  const options: ConfigOptions = { overrides: [], flags: {} };
  const parse = (valued: string[] = [], switches: string[] = []) => new Args(rest, valued, switches, options);
  const key = `${group} ${sub ?? ""}`.trim();
  switch (key) {
    case "user add":
    case "user passwd": {
      const args = parse(["--password-file", "--password"]);
      const username = args.positional[0];
      const bad = checkName(username, "user name");
      const password = passwordSource(args);
      const kind = sub === "add" ? "user-add" : "user-passwd";
      if (bad) return done({ problem: `${bad}: gannet ${key} NAME` }, args, 1);
      if (typeof password === "object" && "problem" in password) return done(password, args, 1);
      return done({ kind, username: username!, password }, args, 1);
    }
    case "user delete": {
      const args = parse();
      const bad = checkName(args.positional[0], "user name");
      if (bad) return done({ problem: `${bad}: gannet user delete NAME` }, args, 1);
      return done({ kind: "user-delete", username: args.positional[0]! }, args, 1);
    }
    case "user list":
      return done({ kind: "user-list" }, parse());
    case "user hash": {
      const args = parse(["--password-file", "--password"]);
      const password = passwordSource(args);
      if (typeof password === "object" && "problem" in password) return done(password, args);
      return done({ kind: "user-hash", password }, args);
    }
    case "acl list":
      return done({ kind: "acl-list" }, parse());
    case "acl add": {
      const args = parse(
        ["--topic", "--action", "--username", "--client-id", "--max-qos", "--retain", "--position"],
        ["--allow", "--deny", "--anonymous"],
      );
      const rule = aclRule(args);
      const positionText = args.get("--position");
      const position = positionText === undefined ? undefined : positiveInteger(positionText, "--position");
      if (typeof position === "object") return done(position, args);
      return done("problem" in rule ? rule : { kind: "acl-add", rule, position }, args);
    }
    case "acl delete": {
      const args = parse();
      const n = positiveInteger(args.positional[0], "acl delete N");
      return done(typeof n === "object" ? n : { kind: "acl-delete", number: n }, args, 1);
    }
    case "ban list":
      return done({ kind: "ban-list" }, parse());
    case "ban add": {
      const args = parse(["--client-id", "--username", "--address", "--duration", "--reason"]);
      const ban = banTarget(args);
      const durationText = args.get("--duration");
      const duration = durationText === undefined ? undefined : positiveInteger(durationText, "--duration");
      if (typeof duration === "object") return done(duration, args);
      const reason = args.get("--reason");
      return done("problem" in ban ? ban : { kind: "ban-add", ban, durationSeconds: duration, reason }, args);
    }
    case "ban lift": {
      const args = parse(["--client-id", "--username", "--address"]);
      const ban = banTarget(args);
      return done("problem" in ban ? ban : { kind: "ban-lift", ban }, args);
    }
    case "import mosquitto": {
      const args = parse(["--passwd", "--acl"], ["--replace-acl"]);
      const passwd = args.get("--passwd");
      const acl = args.get("--acl");
      const command = passwd === undefined && acl === undefined
        ? { problem: "import mosquitto needs --passwd FILE and/or --acl FILE" }
        : { kind: "import-mosquitto" as const, passwd, acl, replaceAcl: args.has("--replace-acl") };
      return done(command, args);
    }
    case "admin add":
    case "admin passwd": {
      const args = parse(["--password-file", "--password", ...(sub === "add" ? ["--role"] : [])]);
      const name = args.positional[0];
      const bad = checkName(name, "account name");
      if (bad) return done({ problem: `${bad}: gannet ${key} NAME` }, args, 1);
      const password = passwordSource(args);
      if (typeof password === "object" && "problem" in password) return done(password, args, 1);
      if (sub === "passwd") return done({ kind: "admin-passwd", name: name!, password }, args, 1);
      const role = adminRole(args.get("--role") ?? "admin");
      return done(typeof role === "object" ? role : { kind: "admin-add", name: name!, role, password }, args, 1);
    }
    case "admin delete": {
      const args = parse();
      const bad = checkName(args.positional[0], "account name");
      return done(bad ? { problem: `${bad}: gannet admin delete NAME` } : { kind: "admin-delete", name: args.positional[0]! }, args, 1);
    }
    case "admin list":
      return done({ kind: "admin-list" }, parse());
    case "admin key create": {
      const args = parse(["--account", "--label", "--role"]);
      const account = args.get("--account");
      const roleText = args.get("--role");
      const role = roleText === undefined ? undefined : adminRole(roleText);
      if (typeof role === "object") return done(role, args);
      if (account === undefined) return done({ problem: "admin key create needs --account NAME (the key acts as that account)" }, args);
      return done({ kind: "admin-key-create", account, label: args.get("--label") ?? "created with gannet admin key create", role }, args);
    }
    case "admin key list":
      return done({ kind: "admin-key-list" }, parse());
    case "admin key revoke": {
      const args = parse();
      const id = args.positional[0];
      return done(id ? { kind: "admin-key-revoke", id } : { problem: "missing key id: gannet admin key revoke ID (see admin key list)" }, args, 1);
    }
    default: {
      const expected: Record<string, string> = {
        admin: "add, passwd, delete, list, key create, key list or key revoke",
        user: "add, passwd, delete, list or hash",
        acl: "list, add or delete",
        ban: "list, add or lift",
        import: "mosquitto",
      };
      return fail(
        `${sub === undefined ? "missing" : `unknown`} ${group} subcommand${sub ? ` ${JSON.stringify(sub)}` : ""}; ` +
          `expected ${expected[group ?? ""] ?? "?"}`,
      );
    }
  }
}
