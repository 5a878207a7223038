/**
 * loadConfig, synchronous, with the YAML parser loaded with it: for the CLI's config commands and
 * for tests. The broker's start loads the parser only when there is a file (src/app/config-source.ts).
 */
import { type LoadOptions, loadConfigWith, type LoadResult } from "./load-core.ts";
import { parseYaml } from "./yaml-source.ts";

export { type ConfigFile, type ListenerFlags, type LoadOptions, type LoadResult, LOOPBACK } from "./load-core.ts";

export function loadConfig(options: LoadOptions): LoadResult {
  return loadConfigWith(parseYaml, options);
}
