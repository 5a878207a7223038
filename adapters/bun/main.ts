/** Gannet on Bun: composition only; the process logic is src/app/serve.ts. */
import { readFileSync, writeSync } from "node:fs";
import { parseProcLimits, serve } from "../../src/mod.ts";
import { assets, serveHttp } from "./admin.ts";
import { host } from "./host.ts";
import { listenWebSocket } from "./http.ts";
import { openStore } from "./sqlite.ts";
import { listenTcp } from "./tcp.ts";
import { dial } from "./dial.ts";
import { reloadableListener } from "./tls.ts";
import { stopWhenScriptRunnerIsOrphaned } from "./script-parent.ts";

stopWhenScriptRunnerIsOrphaned();

const encoder = new TextEncoder();

/**
 * Synchronous and complete, as the runtime port asks. Not process.stdout: in the single executable
 * it loads Bun's node stream and tty layers, about 7 MiB of resident memory for writing lines
 * (bench/executable-rss.ts). A short write is continued; a pipe left non-blocking by whoever
 * started us (EAGAIN) is waited for; a closed output (EPIPE: the reader is gone) drops the line,
 * since there is nowhere left to say so.
 */
function writeFully(fd: number, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (e: unknown) {
      if ((e as { code?: string }).code !== "EAGAIN") return;
      Bun.sleepSync(1);
    }
  }
}

function readTextFile(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e: unknown) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw e;
  }
}

await serve({
  ...host,
  name: `bun ${Bun.version}`,
  args: Bun.argv.slice(2),
  env: process.env,
  readTextFile,
  readStdin: () => Bun.stdin.text(),
  print: (stream, text) => writeFully(stream === "stdout" ? 1 : 2, text),
  exit: (code) => process.exit(code),
  onSignal: (signal, handler) => void process.on(signal, handler),
  listenTcp: (broker, host, port, logger, tls) =>
    reloadableListener((p, t) => {
      const server = listenTcp(broker, host, p, logger, t);
      return { port: server.port, stop: () => server.stop() };
    }, port, tls),
  dial,
  listenWebSocket: (broker, host, port, path, logger, tls) =>
    reloadableListener((p, t) => {
      const server = listenWebSocket(broker, host, p, path, logger, t);
      return { port: server.port ?? p, stop: () => void server.stop() };
    }, port, tls),
  openStore: (p) =>
    openStore(p.store === "libsql" ? p.url! : p.path, {
      commitIntervalMs: p.commitIntervalMs,
      maxDatabaseBytes: p.maxDatabaseBytes,
      authToken: p.authToken,
    }),
  serveHttp,
  openFilesLimit: () => parseProcLimits(readTextFile("/proc/self/limits") ?? ""),
  assets,
  // systemd-notify rather than a datagram of our own: neither Bun nor Deno sends on a Unix datagram
  // socket. It waits until systemd has read the message (a barrier), so NotifyAccess=all works.
  notifyServiceManager: process.env.NOTIFY_SOCKET ? notifyWithSystemdNotify : undefined,
  processStats: () => {
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    return { cpuSeconds: (cpu.user + cpu.system) / 1e6, residentBytes: memory.rss, heapBytes: memory.heapUsed, platform: `${process.platform} ${process.arch}` };
  },
});

// Serving (a CLI command exits inside serve). The executable starts with JavaScriptCore's tier-up
// thresholds raised (compile.ts, jitPolicy): start-up code runs once, and compiling it would page
// in the optimizing JIT for nothing. From here on the normal policy, so traffic gets compiled as
// usual; and one full collection drops the start-up garbage (config parsing, migrations) before
// the broker idles. From source both are no-ops in effect. bench/executable-rss.ts measures them.
Bun.unsafe.setJITPolicy(1);
Bun.gc(true);

async function notifyWithSystemdNotify(fields: readonly string[]): Promise<void> {
  const child = Bun.spawn(["systemd-notify", ...fields], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const code = await child.exited;
  if (code !== 0) throw new Error(`systemd-notify exited with ${code}: ${(await new Response(child.stderr).text()).trim()}`);
}
