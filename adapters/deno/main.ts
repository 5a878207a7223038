/** Gannet on Deno: composition only; the process logic is src/app/serve.ts. */
import { allocatePacketsFromSlabs, serve } from "../../src/mod.ts";
import { assets, readTextFile, serveHttp } from "./admin.ts";
import { host } from "./host.ts";
import { listenWebSocket } from "./http.ts";
import { listenTcp } from "./tcp.ts";
import { dial } from "./dial.ts";
import { openFilesLimit } from "./open-files.ts";
import process from "node:process";
import { listenTls } from "./tls.ts";

const encoder = new TextEncoder();

// Each `new Uint8Array` costs Deno 0.3-0.7 µs: outgoing packets come from shared slabs instead (src/util/bytes.ts).
allocatePacketsFromSlabs(true);

/** Synchronous and complete (writeSync may be short on pipes), like process.stdout.write on Bun. */
function print(stream: typeof Deno.stdout | typeof Deno.stderr, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += stream.writeSync(bytes.subarray(offset));
}

await serve({
  ...host,
  name: `deno ${Deno.version.deno}`,
  args: Deno.args,
  env: Deno.env.toObject(),
  readTextFile,
  readStdin: () => new Response(Deno.stdin.readable).text(),
  print: (stream, text) => print(stream === "stdout" ? Deno.stdout : Deno.stderr, text),
  exit: (code) => Deno.exit(code),
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  listenTcp: (broker, host, port, logger, tls) =>
    tls ? listenTls(broker, host, port, logger, tls) : listenTcp(broker, host, port, logger),
  dial,
  listenWebSocket,
  // Imported on demand: @libsql/client loads a native module, which needs --allow-ffi; a broker with
  // `persistence.store: memory` runs without it.
  openStore: async (p) =>
    (await import("./sqlite.ts")).openStore(p.store === "libsql" ? p.url! : p.path, {
      commitIntervalMs: p.commitIntervalMs,
      maxDatabaseBytes: p.maxDatabaseBytes,
      authToken: p.authToken,
    }),
  serveHttp,
  openFilesLimit,
  assets,
  // systemd-notify rather than a datagram of our own (see adapters/bun/main.ts); needs --allow-run=systemd-notify.
  notifyServiceManager: Deno.env.get("NOTIFY_SOCKET") ? notifyWithSystemdNotify : undefined,
  processStats: () => {
    const cpu = process.cpuUsage();
    const memory = Deno.memoryUsage();
    return { cpuSeconds: (cpu.user + cpu.system) / 1e6, residentBytes: memory.rss, heapBytes: memory.heapUsed, platform: `${Deno.build.os} ${Deno.build.arch}` };
  },
});

async function notifyWithSystemdNotify(fields: readonly string[]): Promise<void> {
  const command = new Deno.Command("systemd-notify", { args: [...fields], stdin: "null", stdout: "null", stderr: "piped" });
  const { code, stderr } = await command.output();
  if (code !== 0) throw new Error(`systemd-notify exited with ${code}: ${new TextDecoder().decode(stderr).trim()}`);
}
