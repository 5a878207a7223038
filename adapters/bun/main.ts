/** Gannet on Bun: composition only (config, logger, broker, listeners, signals). */
import { createBroker, createLogger, parseArgs, USAGE, VERSION } from "../../src/mod.ts";
import { listenWebSocket } from "./http.ts";
import { listenTcp } from "./tcp.ts";

const cli = parseArgs(Bun.argv.slice(2));
if (cli.kind === "help") {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (cli.kind === "version") {
  console.log(`gannet ${VERSION} (bun ${Bun.version})`);
  process.exit(0);
}
if (cli.kind === "error") {
  console.error(`gannet: ${cli.message}`);
  process.exit(2);
}

const config = cli.config;
const logger = createLogger({
  level: config.logging.level,
  format: config.logging.format,
  write: (line, level) => (level === "error" || level === "warn" ? process.stderr : process.stdout).write(line + "\n"),
});
const broker = createBroker(config, { logger, runtime: `bun ${Bun.version}` });

const stops: Array<() => void> = [];
try {
  for (const listener of config.listeners) {
    if (listener.kind === "tcp") {
      const server = listenTcp(broker, listener.host, listener.port, logger);
      stops.push(() => server.stop());
      logger.info("listening", { kind: "tcp", host: listener.host, port: server.port });
    } else {
      const server = listenWebSocket(broker, listener.host, listener.port, listener.path, logger);
      stops.push(() => server.stop());
      logger.info("listening", { kind: "ws", host: listener.host, port: server.port, path: listener.path });
    }
  }
} catch (e: unknown) {
  logger.error("cannot start listener", { error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
}
logger.info("ready", { version: VERSION, runtime: `bun ${Bun.version}` });

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info("shutting down", { signal });
  for (const stop of stops) stop(); // stop accepting; connected clients get DISCONNECT 0x8B next
  await broker.close();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
