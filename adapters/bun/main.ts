/** Gannet on Bun: composition only; the process logic is src/app/serve.ts. */
import { serve } from "../../src/mod.ts";
import { listenWebSocket } from "./http.ts";
import { listenTcp } from "./tcp.ts";

await serve({
  name: `bun ${Bun.version}`,
  args: Bun.argv.slice(2),
  print: (stream, text) => void (stream === "stdout" ? process.stdout : process.stderr).write(text),
  exit: (code) => process.exit(code),
  onSignal: (signal, handler) => void process.on(signal, handler),
  listenTcp: (broker, host, port, logger) => {
    const server = listenTcp(broker, host, port, logger);
    return { port: server.port, stop: () => server.stop() };
  },
  listenWebSocket: (broker, host, port, path, logger) => {
    const server = listenWebSocket(broker, host, port, path, logger);
    return { port: server.port ?? port, stop: () => server.stop() };
  },
});
