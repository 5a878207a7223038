/**
 * Bundles the console (web/src) into web/dist with Bun's bundler: app.js (minified, with hono's
 * JSX DOM renderer, the typed client and uPlot), app.css (ours + uPlot's) and index.html. Run by
 * `bun run start`, the test command and compile.ts; web/dist is not committed.
 *
 *   bun scripts/build-web.ts          build, print sizes (raw and gzipped)
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const root = join(import.meta.dirname ?? ".", "..");
const web = join(root, "web");
const dist = join(web, "dist");

export async function buildWeb(quiet = false): Promise<{ files: Record<string, { bytes: number; gzip: number }> }> {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  const result = await Bun.build({
    entrypoints: [join(web, "src", "main.tsx")],
    outdir: dist,
    naming: "app.js",
    target: "browser",
    minify: true,
    sourcemap: "none",
  });
  if (!result.success) {
    throw new Error(`web build failed:\n${result.logs.map(String).join("\n")}`);
  }
  const css = readFileSync(join(web, "src", "style.css"), "utf8") + "\n" +
    readFileSync(join(root, "node_modules", "uplot", "dist", "uPlot.min.css"), "utf8");
  writeFileSync(join(dist, "app.css"), css);
  copyFileSync(join(web, "index.html"), join(dist, "index.html"));
  copyFileSync(join(web, "favicon.svg"), join(dist, "favicon.svg"));
  const files: Record<string, { bytes: number; gzip: number }> = {};
  for (const name of ["index.html", "app.js", "app.css", "favicon.svg"]) {
    const bytes = readFileSync(join(dist, name));
    files[name] = { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  }
  if (!quiet) {
    const total = Object.values(files).reduce((s, f) => s + f.gzip, 0);
    const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    console.log(`web/dist: ${Object.entries(files).map(([n, f]) => `${n} ${kib(f.bytes)} (${kib(f.gzip)} gz)`).join(", ")}; ${kib(total)} gzipped in all`);
  }
  return { files };
}

if (import.meta.main) await buildWeb();
