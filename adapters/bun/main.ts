/** Gannet on Bun: composition only; the process logic is src/app/serve.ts. */
import { readFileSync, writeSync } from "node:fs";
import { type Acceptor, type Fetch, parseProcLimits, serve, useNativeArgon2id } from "../../src/mod.ts";
import { assets, serveHttp } from "./admin.ts";
import { host } from "./host.ts";
import { listenWebSocket } from "./http.ts";
import { openStore } from "./sqlite.ts";
import { listenTcp } from "./tcp.ts";
import { dial } from "./dial.ts";
import { bunArgon2id } from "./argon2.ts";
import { reloadableListener } from "./tls.ts";
import { stopWhenScriptRunnerIsOrphaned } from "./script-parent.ts";

stopWhenScriptRunnerIsOrphaned();

useNativeArgon2id(bunArgon2id); // adapters/bun/argon2.ts: why

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

/**
 * The executable starts with JavaScriptCore's tier-up thresholds raised (compile.ts, jitPolicy):
 * start-up code runs once, and compiling it would page in the JIT compilers for nothing (about
 * 5 MiB of idle RSS). The normal policy returns with the first connection, in or out (an MQTT
 * client, an admin request, a bridge dialing), so traffic is compiled as usual; until then the
 * periodic work of an idle broker ($SYS, the metrics sampler) stays interpreted. From source the
 * policy is normal from the start and this changes nothing.
 */
let jitPolicyNormal = false;
function normalJitPolicy(): void {
  if (jitPolicyNormal) return;
  jitPolicyNormal = true;
  Bun.unsafe.setJITPolicy(1);
}
const normalJitOnAccept = (broker: Acceptor): Acceptor => ({
  accept: (transport, listener) => {
    normalJitPolicy();
    return broker.accept(transport, listener);
  },
  logBounded: broker.logBounded?.bind(broker),
});
const normalJitOnRequest = (fetch: Fetch): Fetch => (request, env) => {
  normalJitPolicy();
  return fetch(request, env);
};

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
      const server = listenTcp(normalJitOnAccept(broker), host, p, logger, t);
      return { port: server.port, stop: () => server.stop() };
    }, port, tls),
  dial: (options, handlers) => {
    normalJitPolicy();
    return dial(options, handlers);
  },
  listenWebSocket: (broker, host, port, path, logger, tls) =>
    reloadableListener((p, t) => {
      const server = listenWebSocket(normalJitOnAccept(broker), host, p, path, logger, t);
      return { port: server.port ?? p, stop: () => void server.stop() };
    }, port, tls),
  openStore: (p) =>
    openStore(p.store === "libsql" ? p.url! : p.path, {
      commitIntervalMs: p.commitIntervalMs,
      maxDatabaseBytes: p.maxDatabaseBytes,
      authToken: p.authToken,
    }),
  serveHttp: (fetch, host, port, tls) => serveHttp(normalJitOnRequest(fetch), host, port, tls),
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

// Serving now (a CLI command exits inside serve): one full collection drops the start-up garbage
// (config parsing, migrations) before the broker idles (bench/executable-rss.ts).
Bun.gc(true);

async function notifyWithSystemdNotify(fields: readonly string[]): Promise<void> {
  const child = Bun.spawn(["systemd-notify", ...fields], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const code = await child.exited;
  if (code !== 0) throw new Error(`systemd-notify exited with ${code}: ${(await new Response(child.stderr).text()).trim()}`);
}
