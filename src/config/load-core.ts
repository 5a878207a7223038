/**
 * Builds the effective configuration: built-in defaults, then the YAML file, then GANNET_*
 * environment variables, then command-line flags, validated by the schema at each step so every
 * problem names its source (file:line:column, the variable or the flag), the key path, what was
 * expected and what was found. Nothing is started until this succeeds.
 */
import { type Problem, problemsOf } from "./issues.ts";
import { dirname, isAbsolute, resolvePath } from "./paths.ts";
import { applyOverride, type Override, parseEnv } from "./overrides.ts";
import { type Config, configSchema } from "./schema.ts";
import { formatPath, type KeyPath } from "./schema-walk.ts";
import type { YamlParser, YamlSource } from "./yaml-source.ts";

export interface ConfigFile {
  path: string;
  text: string;
}

/** Flags that edit several options at once (--host, --port, --ws-port, --admin-port). */
export interface ListenerFlags {
  host?: string;
  tcpPort?: number | "off";
  wsPort?: number | "off";
  adminPort?: number | "off";
}

export interface LoadOptions {
  file?: ConfigFile;
  env?: Readonly<Record<string, string | undefined>>;
  /** `--set` and single-option flags, in command-line order. */
  overrides?: readonly Override[];
  flags?: ListenerFlags;
  /**
   * The working directory. Relative file paths (persistence.path, a listener's cert, key and ca)
   * written in the file resolve against the file's directory; given by the environment or a flag,
   * or with no file, against this. Without it they stay relative.
   */
  cwd?: string;
}

export type LoadResult =
  | {
    ok: true;
    config: Config;
    /** Whether the file, the environment or a flag set this option (or a part of it). */
    isSet(path: KeyPath): boolean;
    /** persistence.path as written (before resolving), to find a database left by older versions. */
    writtenPersistencePath: string;
  }
  | { ok: false; problems: string[] };

const isPrefix = (a: KeyPath, b: KeyPath) => a.length <= b.length && a.every((s, i) => String(s) === String(b[i]));

function inFile(file: ConfigFile, source: YamlSource, problem: Problem): string {
  const { line, col } = source.locate(problem.path, problem.atKey);
  return `${file.path}:${line}:${col}: ${formatPath(problem.path)}: ${problem.message}`;
}

/** Addresses only this machine can reach. */
export const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * Without a configuration file, anonymous clients are allowed on loopback listeners only (as
 * Mosquitto 2 does), unless allowAnonymous was set by the environment or a flag.
 */
function localAnonymousDefault(config: Config, isSet: (path: KeyPath) => boolean): Config {
  if (isSet(["mqtt", "allowAnonymous"])) return config;
  const listeners = config.listeners.map((l) =>
    LOOPBACK.test(l.host) && l.mqtt?.allowAnonymous === undefined
      ? { ...l, mqtt: { ...l.mqtt, allowAnonymous: true } }
      : l
  );
  return { ...config, listeners };
}

function applyFlags(data: Record<string, unknown>, flags: ListenerFlags): void {
  const config = data as Config;
  config.listeners = config.listeners.flatMap((listener) => {
    const port = listener.kind === "tcp" ? flags.tcpPort : listener.kind === "ws" ? flags.wsPort : undefined;
    if (port === "off") return [];
    return [{ ...listener, host: flags.host ?? listener.host, port: port ?? listener.port }];
  });
  if (flags.host !== undefined) config.admin.host = flags.host;
  if (flags.adminPort === "off") config.admin.enabled = false;
  else if (flags.adminPort !== undefined) config.admin = { ...config.admin, enabled: true, port: flags.adminPort };
}

/** The file paths of the configuration that are read or written at run time. */
function resolveFilePaths(data: Record<string, unknown>, base: string): void {
  const config = data as Config;
  const resolve = (path: string | undefined) =>
    path === undefined || isAbsolute(path) || path.startsWith("file:") || path === ":memory:"
      ? path
      : resolvePath(base, path);
  config.persistence.path = resolve(config.persistence.path)!;
  config.listeners = config.listeners.map((l) => {
    const copy = { ...l };
    for (const key of ["cert", "key", "ca"] as const) if (copy[key] !== undefined) copy[key] = resolve(copy[key]);
    return copy;
  });
}

const ARGON2_CUT = /^\$argon2(id|i|d)\$v=\d+\$m=\d+$/;
const ARGON2_REST = /^[tp]=\d/;

/**
 * An unquoted argon2 hash in a `{ ... }` mapping is cut at its commas into a short password and
 * keys like "t=2": one problem per user, saying to quote it (instead of two unknown keys).
 */
function argon2Hints(raw: unknown): { problems: Problem[]; users: Set<number> } {
  const users = (raw as { auth?: { users?: unknown } } | null)?.auth?.users;
  const found = { problems: [] as Problem[], users: new Set<number>() };
  if (!Array.isArray(users)) return found;
  users.forEach((user: unknown, i) => {
    if (typeof user !== "object" || user === null) return;
    const record = user as Record<string, unknown>;
    const cut = typeof record.password === "string" && ARGON2_CUT.test(record.password);
    if (!cut && !Object.keys(record).some((k) => ARGON2_REST.test(k))) return;
    found.users.add(i);
    found.problems.push({
      path: ["auth", "users", i, "password"],
      atKey: false,
      message: "this argon2 hash is cut at its commas: in a { ... } mapping a comma ends the value; " +
        'quote it: password: "$argon2id$v=19$m=19456,t=2,p=1$..."',
    });
  });
  return found;
}

/**
 * loadConfig with the YAML parser given: `yaml` is loaded only when a file is read (src/app/config-source.ts
 * imports it then), so the executable started without a configuration file never loads it.
 */
export function loadConfigWith(parseYaml: YamlParser, options: LoadOptions): LoadResult {
  const { file } = options;
  let source: YamlSource | undefined;
  let raw: unknown = {};
  if (file) {
    const parsed = parseYaml(file.text);
    if ("errors" in parsed) {
      return {
        ok: false,
        problems: parsed.errors.map((e) => `${file.path}:${e.position.line}:${e.position.col}: YAML: ${e.message}`),
      };
    }
    source = parsed.source;
    raw = source.value;
  }
  const first = configSchema.safeParse(raw, { reportInput: true });
  const hints = argon2Hints(raw);
  if (!first.success || hints.problems.length) {
    const cut = (p: Problem) =>
      p.path[0] === "auth" && p.path[1] === "users" && hints.users.has(Number(p.path[2])) &&
      (ARGON2_REST.test(String(p.path[3])) || p.path[3] === "password");
    const problems = [...hints.problems, ...(first.success ? [] : problemsOf(first.error.issues).filter((p) => !cut(p)))];
    if (!file || !source) return { ok: false, problems: problems.map((p) => `${formatPath(p.path)}: ${p.message}`) };
    const located = source;
    const order = (p: Problem) => {
      const { line, col } = located.locate(p.path, p.atKey);
      return line * 10_000 + col;
    };
    return { ok: false, problems: problems.sort((a, b) => order(a) - order(b)).map((p) => inFile(file, located, p)) };
  }

  const env = parseEnv(options.env ?? {});
  if (env.problems.length) return { ok: false, problems: env.problems };
  const overrides = [...env.overrides, ...(options.overrides ?? [])];
  const data = structuredClone(first.data) as unknown as Record<string, unknown>;
  const writtenPersistencePath = first.data.persistence.path;
  if (file) resolveFilePaths(data, resolvePath(options.cwd ?? ".", dirname(file.path)));
  const problems: string[] = [];
  for (const override of overrides) {
    const problem = applyOverride(data, override);
    if (problem) problems.push(problem);
  }
  if (problems.length) return { ok: false, problems };
  if (options.flags) applyFlags(data, options.flags);
  if (options.cwd !== undefined) resolveFilePaths(data, options.cwd);

  const origin = (problem: Problem): string => {
    const last = [...overrides].reverse().find((o) => isPrefix(o.path, problem.path) || isPrefix(problem.path, o.path));
    if (last) return `${last.origin}: ${formatPath(problem.path)}: ${problem.message}`;
    if (file && source) return inFile(file, source, problem);
    return `${formatPath(problem.path)}: ${problem.message}`;
  };
  const second = configSchema.safeParse(data, { reportInput: true });
  if (!second.success) return { ok: false, problems: problemsOf(second.error.issues).map(origin) };
  const inFileData = (path: KeyPath): boolean => {
    let node: unknown = raw;
    for (const segment of path) {
      if (typeof node !== "object" || node === null) return false;
      node = (node as Record<string | number, unknown>)[segment];
    }
    return node !== undefined;
  };
  const isSet = (path: KeyPath): boolean =>
    inFileData(path) || overrides.some((o) => isPrefix(o.path, path) || isPrefix(path, o.path)) ||
    (path[0] === "admin" && options.flags?.adminPort !== undefined);
  const config = file ? second.data : localAnonymousDefault(second.data, isSet);
  return { ok: true, config, isSet, writtenPersistencePath };
}
