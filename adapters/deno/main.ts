/** Gannet on Deno: composition only (config, logger, broker, listeners, signals). */
import { createBroker, createLogger, parseArgs, USAGE, VERSION } from "../../src/mod.ts";
import { listenWebSocket } from "./http.ts";
import { listenTcp } from "./tcp.ts";

const encoder = new TextEncoder();
/** Synchronous and complete (writeSync may be short on pipes), like process.stdout.write on Bun. */
function print(stream: typeof Deno.stdout | typeof Deno.stderr, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += stream.writeSync(bytes.subarray(offset));
}

const runtime = `deno ${Deno.version.deno}`;
const cli = parseArgs(Deno.args);
if (cli.kind === "help") {
  print(Deno.stdout, USAGE);
  Deno.exit(0);
}
if (cli.kind === "version") {
  print(Deno.stdout, `gannet ${VERSION} (${runtime})\n`);
  Deno.exit(0);
}
if (cli.kind === "error") {
  print(Deno.stderr, `gannet: ${cli.message}\n`);
  Deno.exit(2);
}

const config = cli.config;
const logger = createLogger({
  level: config.logging.level,
  format: config.logging.format,
  write: (line, level) => print(level === "error" || level === "warn" ? Deno.stderr : Deno.stdout, line + "\n"),
});
const broker = createBroker(config, { logger, runtime });

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
  Deno.exit(1);
}
logger.info("ready", { version: VERSION, runtime });

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info("shutting down", { signal });
  for (const stop of stops) stop(); // stop accepting; connected clients get DISCONNECT 0x8B next
  try {
    await broker.close();
  } catch (e: unknown) {
    logger.error("shutdown failed", { error: e instanceof Error ? e.message : String(e) });
    Deno.exit(1);
  }
  Deno.exit(0);
}
Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
