/**
 * Preloaded into a test broker started with `gcOnSignal` (test/helpers/broker.ts): SIGUSR2 runs a
 * full garbage collection and logs a JSON line with a count and the live heap, so that memory checks
 * compare memory after a collection rather than whenever the runtime's collector last happened to run.
 */
declare const Bun: { gc(force: boolean): void } | undefined;
declare const Deno: { addSignalListener(signal: string, fn: () => void): void } | undefined;

const v8gc = (globalThis as { gc?: () => void }).gc; // Deno runs with --v8-flags=--expose-gc
if (typeof Bun === "undefined" && !v8gc) throw new Error("gc-on-signal: no gc(); run Deno with --v8-flags=--expose-gc");
let collections = 0;

function collect(): void {
  if (typeof Bun !== "undefined") Bun.gc(true);
  else v8gc!();
  collections++;
  const { heapUsed, heapTotal, external, rss } = process.memoryUsage();
  console.log(JSON.stringify({ level: "debug", msg: `test: full garbage collection ${collections}`, heapUsed, heapTotal, external, rss }));
}

if (typeof Deno !== "undefined") Deno.addSignalListener("SIGUSR2", collect);
else process.on("SIGUSR2", collect);
