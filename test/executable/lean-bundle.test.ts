/**
 * scripts/lean-executable.ts (the plugin compile.ts builds the executables with) gives mqtt-packet a
 * disabled `debug` and bl's BufferList instead of bl's readable-stream Duplex. The codec must behave
 * exactly as from source: a fixture decodes and encodes every packet type mqtt-packet handles for
 * Gannet and some malformed frames, once from source and once bundled with the plugin, and the
 * outputs must be the same. The bundle must also really leave the two modules out.
 */
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { leanExecutable } from "../../scripts/lean-executable.ts";
import { REPO_ROOT } from "../helpers/broker.ts";

const FIXTURE = join(REPO_ROOT, "test", "executable", "fixtures", "codec-round-trip.ts");
const out = mkdtempSync(join(tmpdir(), "gannet-lean-bundle-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runWithBun(script: string): string {
  const r = spawnSync(process.execPath, [script], { cwd: REPO_ROOT, encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout;
}

test("the codec decodes and encodes the same with the plugin's debug and BufferList as with the real modules", async () => {
  const built = await Bun.build({ entrypoints: [FIXTURE], target: "bun", format: "esm", outdir: out, plugins: [leanExecutable], metafile: true });
  expect(built.success).toBe(true);
  const inputs = Object.keys(built.metafile!.inputs);
  expect(inputs.some((i) => i.includes("node_modules/mqtt-packet/parser.js"))).toBe(true);
  expect(inputs.some((i) => i.includes("node_modules/bl/BufferList.js"))).toBe(true);
  for (const gone of ["node_modules/debug/", "node_modules/readable-stream/", "node_modules/bl/bl.js"]) {
    expect(inputs.filter((i) => i.includes(gone))).toEqual([]);
  }

  const fromSource = runWithBun(FIXTURE);
  const bundled = runWithBun(join(out, "codec-round-trip.js"));
  expect(JSON.parse(fromSource)).toHaveLength(17);
  expect(bundled).toBe(fromSource);
});
