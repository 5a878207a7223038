/**
 * Bridges in the process: the app reads each bridge's password file and PEM files (adapters and
 * the bridge module never read files), starts them on the broker, and re-applies them on SIGHUP.
 * A file that cannot be read stops the start; on reload that bridge keeps running as it was.
 */
import type { BridgeConfig } from "../config/bridges.ts";
import type { Config } from "../config/schema.ts";
import type { Broker } from "../core/broker-api.ts";
import type { Clock } from "../ports/clock.ts";
import type { Dial } from "../ports/dial.ts";
import type { Logger } from "../ports/logger.ts";
import type { BridgeSetup } from "../bridge/bridges.ts";
import { Bridges } from "../bridge/bridges.ts";
import type { FileSystem } from "./config-source.ts";

function read(fs: FileSystem, bridge: string, what: string, path: string): string {
  let text: string | undefined;
  try {
    text = fs.readTextFile(path);
  } catch (e: unknown) {
    throw new Error(`bridge ${bridge}: ${what} ${path}: cannot read: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (text === undefined) throw new Error(`bridge ${bridge}: ${what} ${path}: no such file`);
  return text;
}

/** Each bridge with its secrets read, or the problems (file names included). */
export function readBridgeSetups(fs: FileSystem, bridges: readonly BridgeConfig[]): { setups: BridgeSetup[]; problems: string[] } {
  const setups: BridgeSetup[] = [];
  const problems: string[] = [];
  for (const config of bridges) {
    try {
      const tls = config.tls;
      setups.push({
        config,
        secrets: {
          password: config.passwordFile !== undefined
            ? read(fs, config.name, "passwordFile", config.passwordFile).replace(/\r?\n$/, "")
            : config.password,
          tls: tls
            ? {
              ca: tls.ca === undefined ? undefined : read(fs, config.name, "tls.ca", tls.ca),
              cert: tls.cert === undefined ? undefined : read(fs, config.name, "tls.cert", tls.cert),
              key: tls.key === undefined ? undefined : read(fs, config.name, "tls.key", tls.key),
            }
            : undefined,
        },
      });
    } catch (e: unknown) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
  }
  problems.push(...Bridges.check(setups));
  return { setups, problems };
}

export interface BridgeRuntime {
  dial?: Dial;
}

/** Start the configured bridges; undefined (with an error line) when they cannot start. */
export function startBridges(
  runtime: BridgeRuntime & FileSystem,
  broker: Broker,
  config: Config,
  clock: Clock,
  logger: Logger,
): Bridges | undefined | "failed" {
  if (config.bridges.length === 0) return undefined;
  if (!runtime.dial) {
    logger.error("bridges are configured but this runtime cannot dial out", { bridges: config.bridges.map((b) => b.name) });
    return "failed";
  }
  const { setups, problems } = readBridgeSetups(runtime, config.bridges);
  if (problems.length > 0) {
    logger.error("cannot start bridges", { problems });
    return "failed";
  }
  const bridges = new Bridges({
    openSession: (options, onDelivery) => broker.openLocalSession(options, onDelivery),
    dial: runtime.dial,
    clock,
    logger,
    publish: (options) => broker.publish(options),
    sysInterval: config.sys.interval,
  });
  bridges.apply(setups);
  broker.setBridgeStatus(() => bridges.status());
  return bridges;
}

/** SIGHUP: add, change and remove bridges; a bridge whose files cannot be read is left as it runs. */
export function reloadBridges(
  runtime: BridgeRuntime & FileSystem,
  bridges: Bridges,
  next: readonly BridgeConfig[],
  logger: Logger,
): void {
  const { setups, problems } = readBridgeSetups(runtime, next);
  if (problems.length > 0) {
    logger.error("reload of bridges failed: keeping the running ones", { problems });
    return;
  }
  const change = bridges.apply(setups);
  if (change.added.length + change.changed.length + change.removed.length > 0) logger.info("bridges reloaded", { ...change });
}
