/** Where the configuration comes from: the file named by --config, else the default path if present. */
import { type ConfigOptions, DEFAULT_CONFIG_PATH } from "../config/cli.ts";
import { type ConfigFile, loadConfig, type LoadResult } from "../config/load.ts";
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

/** File, environment and command-line options combined and validated. */
export function resolveConfig(
  fs: ConfigFileSystem,
  env: Readonly<Record<string, string | undefined>>,
  options: ConfigOptions,
): SourcedResult {
  const file = readConfigFile(fs, options.configPath);
  if (!file.ok) return file;
  const result = loadConfig({
    file: file.file,
    env,
    overrides: options.overrides,
    flags: options.flags,
    cwd: fs.cwd(),
  });
  return { ...result, file: file.file?.path };
}
