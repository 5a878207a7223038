/**
 * The broker process, written once for both runtimes: parse the command line, build the effective
 * configuration (nothing starts when it is invalid: exit 2), then the logger, the admin HTTP port
 * (so /healthz answers and /readyz says what it waits for while the store loads), the store and
 * broker, and last the MQTT listeners; SIGHUP reloads, SIGTERM/SIGINT stop within
 * `shutdown.timeout`. Each adapter's
 * main.ts hands in the few runtime functions this needs (as Hono's adapters do), and nothing else.
 *
 * Reload note: SIGHUP applies logging, bridges and the MQTT limits (new connections get the new limits;
 * connected clients keep the ones their CONNACK announced); other changes are logged as
 * "needs restart" (see planReload in reload.ts). tls/wss listeners re-read their certificate files.
 */
import type { Management, ReloadOutcome } from "../admin/mod.ts";
import { LogRing } from "../admin/log-ring.ts";
import { MetricsSeries } from "../admin/series.ts";
import type { Broker } from "../core/broker.ts";
import { createBroker } from "../core/broker.ts";
import { type ConfigOptions, parseArgs, USAGE, VERSION } from "../config/cli.ts";
import type { Config } from "../config/schema.ts";
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, reportProblems } from "./exit-codes.ts";
import { resolveConfig } from "./config-source.ts";
import { debugHooks } from "./debug-log.ts";
import { Readiness } from "./readiness.ts";
import { planReload } from "./reload.ts";
import { createReloadableLogger } from "./reloadable-logger.ts";
import { ensureFirstAdmin, openStore, startAdmin, startListeners } from "./start.ts";
import { errorText } from "../util/errors.ts";
import { boundConnections, logConnectionLimit } from "./open-files.ts";
import { Security } from "../security/security.ts";
import { systemClock } from "../ports/clock.ts";
import { reloadCertificates, type SecureListener } from "./tls.ts";
import type { Bridges } from "../bridge/bridges.ts";
import { reloadBridges, startBridges } from "./bridges.ts";
import type { Listener, RuntimeAdapter } from "../ports/runtime.ts";
export type { Acceptor, Listener, Fetch, RuntimeAdapter } from "../ports/runtime.ts";




export async function serve(runtime: RuntimeAdapter): Promise<void> {
  const cli = parseArgs(runtime.args);
  switch (cli.kind) {
    case "help":
      runtime.print("stdout", USAGE);
      return runtime.exit(EXIT_OK);
    case "version":
      runtime.print("stdout", `gannet ${VERSION} (${runtime.name})\n`);
      return runtime.exit(EXIT_OK);
    case "error":
      runtime.print("stderr", `gannet: ${cli.message}\n`);
      return runtime.exit(EXIT_CONFIG);
    case "serve":
      return await run(runtime, cli.options);
    case "security":
      // Loaded only when run: the executable keeps these commands in a chunk of their own (compile.ts).
      return runtime.exit(await (await import("./security-commands.ts")).runSecurityCommand(runtime, cli));
    default:
      // Loaded only when run: the config commands bring `yaml` (src/app/config-source.ts: why).
      return runtime.exit(await (await import("./commands.ts")).runConfigCommand(runtime, cli));
  }
}

async function run(runtime: RuntimeAdapter, options: ConfigOptions): Promise<void> {
  const loaded = await resolveConfig(runtime, runtime.env, options);
  if (!loaded.ok) {
    reportProblems(runtime, loaded.problems, "not started: the configuration is invalid");
    return runtime.exit(EXIT_CONFIG);
  }
  let config: Config = loaded.config;
  const openFiles = runtime.openFilesLimit?.();
  const logRing = new LogRing();
  const series = new MetricsSeries();
  // deno-lint-ignore prefer-const -- set once the broker runs; shutdown(), defined before, reads it
  let sampler: ReturnType<typeof setInterval> | undefined;
  const logging = createReloadableLogger({
    level: config.logging.level,
    format: config.logging.format,
    write: (line, level) => {
      logRing.push(level, line, Date.now()); // the console's log page
      runtime.print(level === "error" || level === "warn" ? "stderr" : "stdout", line + "\n");
    },
  });
  const logger = logging.logger;
  logger.info("starting", { version: VERSION, runtime: runtime.name, config: loaded.file ?? "built-in defaults" });
  const readiness = new Readiness();
  readiness.require("store");
  readiness.require("listeners");

  const listeners: Listener[] = [];
  const secure: SecureListener[] = []; // tls/wss listeners, for certificate reload
  // Set as start-up gets to them; shutdown() and reload(), defined before, read them.
  // deno-lint-ignore prefer-const
  let admin: Listener | undefined;
  // deno-lint-ignore prefer-const
  let broker: Broker | undefined;
  let security: Security | undefined;
  let bridges: Bridges | undefined;
  let stopping = false;
  const notify = (fields: readonly string[]) =>
    runtime.notifyServiceManager?.(fields).catch((e: unknown) =>
      logger.warn("cannot notify systemd", {
        message: fields.join(" "),
        error: errorText(e),
        fix: "install systemd-notify (package systemd), or use Type=exec in the unit",
      })
    );

  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn("second signal during shutdown: exiting now", { signal });
      return runtime.exit(EXIT_FAILURE);
    }
    stopping = true;
    readiness.shuttingDown();
    void notify(["STOPPING=1"]);
    const timeout = config.shutdown.timeout;
    logger.info("shutting down", { signal, timeout });
    const deadline = setTimeout(() => {
      logger.error("shutdown took too long: exiting anyway", { timeout });
      runtime.exit(EXIT_FAILURE);
    }, timeout * 1000);
    for (const listener of listeners) listener.stop(); // then clients get DISCONNECT 0x8B
    security?.close();
    bridges?.stop(); // their local sessions (queues) stay in the store
    clearInterval(sampler);
    try {
      await broker?.close(); // flushes and closes the store
    } catch (e: unknown) {
      logger.error("shutdown failed", { error: errorText(e) });
      runtime.exit(EXIT_FAILURE);
    }
    clearTimeout(deadline);
    admin?.stop();
    logger.info("stopped");
    runtime.exit(EXIT_OK);
  };

  let debugLog = false;
  const addDebugLog = () => {
    if (debugLog || !broker) return;
    debugLog = true; // stays added: at another level the logger drops its lines
    broker.addHooks(debugHooks(logger));
  };

  const reload = async (): Promise<ReloadOutcome> => {
    if (stopping) return { ok: false, applied: [], restart: [], problems: ["shutting down"] };
    const next = await resolveConfig(runtime, runtime.env, options);
    if (stopping) return { ok: false, applied: [], restart: [], problems: ["shutting down"] };
    if (!next.ok) {
      // One plain line per problem (file:line:column: ...), as `gannet config check` prints them.
      for (const problem of next.problems) logger.error(`reload failed: ${problem}`);
      logger.error(`reload failed: the configuration is invalid (${next.problems.length}); keeping the running one`);
      return { ok: false, applied: [], restart: [], problems: [...next.problems] };
    }
    const plan = planReload(config, next.config);
    if (plan.live.length) {
      logging.reconfigure(next.config.logging);
      if (next.config.logging.level === "debug") addDebugLog();
      broker?.updateLimits(boundConnections(next.config.mqtt, openFiles));
      const { logging: log, mqtt, acl, bans } = next.config;
      config = { ...config, logging: log, mqtt, acl, bans, auth: { ...config.auth, users: next.config.auth.users } };
    }
    // Also when only a password or certificate file changed: those are re-read on every SIGHUP.
    if (broker && (bridges || plan.live.some((key) => key.startsWith("bridges")))) {
      if (bridges) reloadBridges(runtime, bridges, next.config.bridges, logger);
      else {
        const started = startBridges(runtime, broker, next.config, systemClock, logger);
        if (started !== "failed") bridges = started;
      }
      config = { ...config, bridges: next.config.bridges };
    }
    security?.reload(config).catch((e: unknown) => logger.error(`reload of users, ACL rules and bans failed: ${errorText(e)}`));
    logger.info("configuration reloaded", { file: next.file ?? "built-in defaults", applied: plan.live.join(", ") || "nothing changed" });
    if (plan.restart.length) logger.warn("needs restart", { keys: plan.restart.join(", ") });
    reloadCertificates(runtime, secure, logger); // the running listeners' files, even if the config is unchanged
    return { ok: true, applied: plan.live, restart: plan.restart, problems: [] };
  };

  // Before anything listens: a signal right after "ready" must find its handler.
  runtime.onSignal("SIGTERM", () => void shutdown("SIGTERM"));
  runtime.onSignal("SIGINT", () => void shutdown("SIGINT"));
  runtime.onSignal("SIGHUP", () => void reload());

  // deno-lint-ignore prefer-const -- set once the broker runs; the admin API reads it through a closure
  let management: Management | undefined; // the admin API's view of the broker, once it runs
  const started = startAdmin(runtime, config, readiness, loaded.isSet, logger, () => management);
  if (started === "failed") return runtime.exit(EXIT_FAILURE);
  admin = started;

  const context = { configFile: loaded.file, writtenPath: loaded.writtenPersistencePath };
  const store = await openStore(runtime, config.persistence, context, logger);
  if ("exitCode" in store) return runtime.exit(store.exitCode);
  if (stopping) return;
  logConnectionLimit(config.mqtt, openFiles, logger);
  broker = createBroker({ ...config, mqtt: boundConnections(config.mqtt, openFiles) }, { logger, runtime: runtime.name, store });
  try {
    await broker.start();
  } catch (e: unknown) {
    logger.error("cannot load the stored state", { error: errorText(e) });
    return runtime.exit(EXIT_FAILURE);
  }
  if (!await ensureFirstAdmin(store, config, logger, (secret) => logRing.hide(secret))) return runtime.exit(EXIT_FAILURE);
  readiness.done("store");
  if (stopping) return;
  try {
    security = await Security.create({ config, store: store.security, clock: systemClock, logger });
  } catch (e: unknown) {
    logger.error("cannot load users, ACL rules and bans", { error: errorText(e) });
    return runtime.exit(EXIT_FAILURE);
  }
  for (const hooks of security.hooks) broker.addHooks(hooks);
  if (config.logging.level === "debug") addDebugLog();
  const running = { broker, security };
  management = {
    store,
    config: () => config,
    now: () => Date.now(),
    refreshSecurity: () => running.security.refresh(),
    reload,
    broker,
    series,
    logs: logRing,
    processStats: runtime.processStats,
  };
  sampler = setInterval(() => series.sample(running.broker.stats, Date.now()), 1000);

  const startedBridges = startBridges(runtime, broker, config, systemClock, logger);
  if (startedBridges === "failed") return runtime.exit(EXIT_FAILURE);
  bridges = startedBridges;

  if (!await startListeners(runtime, broker, config, listeners, secure, logger)) return runtime.exit(EXIT_FAILURE);
  readiness.done("listeners");
  logger.info("ready", { version: VERSION, runtime: runtime.name });
  // Only now: with Type=notify, systemd (and units ordered After= gannet) wait for the listeners.
  await notify(["READY=1", `STATUS=ready: ${listeners.length} listener${listeners.length === 1 ? "" : "s"}`]);
}
