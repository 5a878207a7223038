/**
 * The broker process, written once for both runtimes: parse the command line, build the logger
 * and broker, start the listeners, stop cleanly on SIGTERM/SIGINT. Each adapter's main.ts hands
 * in the few runtime functions this needs (as Hono's adapters do), and nothing else.
 */
import type { Broker } from "../core/broker.ts";
import { createBroker } from "../core/broker.ts";
import { parseArgs, USAGE, VERSION } from "../config/cli.ts";
import { createLogger, type Logger } from "../ports/logger.ts";

export interface Listener {
  /** The bound port (useful when 0 was asked for). */
  readonly port: number;
  /** Stop accepting new connections; connected clients stay until the broker closes them. */
  stop(): void;
}

export interface RuntimeAdapter {
  /** e.g. "bun 1.4.5", shown in logs and $SYS/broker/version. */
  readonly name: string;
  readonly args: readonly string[];
  /** Write text completely and synchronously (log lines must not be lost at exit). */
  print(stream: "stdout" | "stderr", text: string): void;
  exit(code: number): never;
  onSignal(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  listenTcp(broker: Broker, host: string, port: number, logger: Logger): Listener;
  listenWebSocket(broker: Broker, host: string, port: number, path: string, logger: Logger): Listener;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function serve(runtime: RuntimeAdapter): Promise<void> {
  const cli = parseArgs(runtime.args);
  if (cli.kind === "help") {
    runtime.print("stdout", USAGE);
    return runtime.exit(0);
  }
  if (cli.kind === "version") {
    runtime.print("stdout", `gannet ${VERSION} (${runtime.name})\n`);
    return runtime.exit(0);
  }
  if (cli.kind === "error") {
    runtime.print("stderr", `gannet: ${cli.message}\n`);
    return runtime.exit(2);
  }

  const { config } = cli;
  const logger = createLogger({
    level: config.logging.level,
    format: config.logging.format,
    write: (line, level) => runtime.print(level === "error" || level === "warn" ? "stderr" : "stdout", line + "\n"),
  });
  const broker = createBroker(config, { logger, runtime: runtime.name });
  try {
    await broker.start();
  } catch (e: unknown) {
    logger.error("cannot load the stored state", { error: errorText(e) });
    return runtime.exit(1);
  }

  const listeners: Listener[] = [];
  try {
    for (const l of config.listeners) {
      if (l.kind === "tcp") {
        const listener = runtime.listenTcp(broker, l.host, l.port, logger);
        listeners.push(listener);
        logger.info("listening", { kind: "tcp", host: l.host, port: listener.port });
      } else {
        const listener = runtime.listenWebSocket(broker, l.host, l.port, l.path, logger);
        listeners.push(listener);
        logger.info("listening", { kind: "ws", host: l.host, port: listener.port, path: l.path });
      }
    }
  } catch (e: unknown) {
    logger.error("cannot start listener", { error: errorText(e) });
    return runtime.exit(1);
  }
  logger.info("ready", { version: VERSION, runtime: runtime.name });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    for (const listener of listeners) listener.stop(); // then clients get DISCONNECT 0x8B
    try {
      await broker.close();
    } catch (e: unknown) {
      logger.error("shutdown failed", { error: errorText(e) });
      runtime.exit(1);
    }
    runtime.exit(0);
  };
  runtime.onSignal("SIGTERM", () => void shutdown("SIGTERM"));
  runtime.onSignal("SIGINT", () => void shutdown("SIGINT"));
}
