/**
 * A Bun.build plugin for the single executable (compile.ts): mqtt-packet's two heavy dependencies
 * are replaced by what it actually uses, because in a compiled executable every module Bun's node
 * layers pull in stays resident (measured 2026-12-07: bench/executable-rss.ts, README "Single
 * executable"). Running from source (Bun, Deno) keeps the real modules; the behaviour is the same:
 *
 * - `debug` becomes a logger that is never enabled. mqtt-packet only writes trace lines through it,
 *   shown when DEBUG=mqtt-packet:* is set, which Gannet never documents or sets (its own debug
 *   log is `log.level: debug`). The real module loads node:tty and node:util (+9.5 MiB RSS).
 * - `bl` becomes `bl/BufferList.js`. mqtt-packet's parser only uses a BufferList (append, consume,
 *   slice, toString, length, readUInt8/16BE/32BE); `bl`'s main export wraps the same BufferList in a
 *   readable-stream Duplex that mqtt-packet never uses as a stream (+10 MiB with readable-stream).
 *
 * Both replacements apply only to imports from inside mqtt-packet. test/executable/lean-bundle.test.ts
 * checks that the codec bundled with them decodes and encodes exactly as from source, and
 * test/executable/executable.test.ts the executable's MQTT round trip.
 */
import type { BunPlugin } from "bun";
import { dirname, join } from "node:path";

const FROM_MQTT_PACKET = /[\\/]node_modules[\\/]mqtt-packet[\\/]/;

/** What `require("debug")(namespace)` returns, disabled: the calls cost nothing and print nothing. */
const DISABLED_DEBUG = `
function createDebug() {
  const debug = function () {};
  debug.enabled = false;
  debug.extend = createDebug;
  return debug;
}
createDebug.enabled = () => false;
createDebug.enable = () => {};
createDebug.disable = () => "";
module.exports = createDebug;
`;

export const leanExecutable: BunPlugin = {
  name: "gannet-lean-executable",
  setup(build) {
    build.onResolve({ filter: /^debug$/ }, (args) =>
      FROM_MQTT_PACKET.test(args.importer) ? { path: "debug", namespace: "gannet-disabled-debug" } : undefined
    );
    build.onLoad({ filter: /.*/, namespace: "gannet-disabled-debug" }, () => ({ contents: DISABLED_DEBUG, loader: "js" }));
    build.onResolve({ filter: /^bl$/ }, (args) => {
      if (!FROM_MQTT_PACKET.test(args.importer)) return undefined;
      // The bl that mqtt-packet itself resolves (its own node_modules first, then the hoisted one).
      const blMain = Bun.resolveSync("bl", dirname(args.importer));
      return { path: join(dirname(blMain), "BufferList.js") };
    });
  },
};
