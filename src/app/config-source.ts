/** Where the configuration comes from: the file named by --config, else the default path if present. */
import { type ConfigOptions, DEFAULT_CONFIG_PATH } from "../config/cli.ts";
import { type ConfigFile, loadConfigWith, type LoadResult } from "../config/load-core.ts";
import type { YamlParser } from "../config/yaml-source.ts";
import { errorText } from "../util/errors.ts";
import type { FileSystem } from "../ports/runtime.ts";
export type { FileSystem } from "../ports/runtime.ts";


/** Files, and the directory relative paths given outside the file resolve against. */
export interface ConfigFileSystem extends FileSystem {
  cwd(): string;
}

export type FileResult = { ok: true; file?: ConfigFile } | { ok: false; problems: string[] };


export function readConfigFile(fs: FileSystem, path: string | undefined): FileResult {
  const wanted = path ?? DEFAULT_CONFIG_PATH;
  try {
    const text = fs.readTextFile(wanted);
    if (text !== undefined) return { ok: true, file: { path: wanted, text } };
    if (path === undefined) return { ok: true };
    return { ok: false, problems: [`${wanted}: no such file`] };
  } catch (e: unknown) {
    return { ok: false, problems: [`${wanted}: cannot read: ${errorText(e)}`] };
  }
}

export type SourcedResult = LoadResult & { file?: string };

/** Never called: without a file there is nothing to parse. */
const noFileToParse: YamlParser = () => {
  throw new Error("no configuration file to parse");
};

/**
 * File, environment and command-line options combined and validated. The YAML parser is imported
 * only when there is a file: the executable keeps `yaml` in a chunk of its own (compile.ts), which a
 * broker started without a configuration file never loads (about 1 MiB of idle RSS).
 */
export async function resolveConfig(
  fs: ConfigFileSystem,
  env: Readonly<Record<string, string | undefined>>,
  options: ConfigOptions,
): Promise<SourcedResult> {
  const file = readConfigFile(fs, options.configPath);
  if (!file.ok) return file;
  const parseYaml = file.file ? (await import("../config/yaml-source.ts")).parseYaml : noFileToParse;
  const result = loadConfigWith(parseYaml, {
    file: file.file,
    env,
    overrides: options.overrides,
    flags: options.flags,
    cwd: fs.cwd(),
  });
  return { ...result, file: file.file?.path };
}
