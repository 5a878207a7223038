/**
 * Enforces the module boundaries of ARCHITECTURE.md by scanning imports and globals:
 * the core stays runtime-neutral so the Bun and Deno adapters share it unchanged.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(import.meta.dir, "..", "..");

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...filesUnder(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  return [...text.matchAll(/(?:import|export)[^"'`;]*?from\s+["']([^"']+)["']|import\s*\(?\s*["']([^"']+)["']/g)]
    .map((m) => m[1] ?? m[2]);
}

/** Source without comments and string literals, to look for globals. */
function codeOf(file: string): string {
  return readFileSync(join(root, file), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "")
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, '""');
}

describe("architecture boundaries", () => {
  const src = filesUnder("src");

  test("src/ imports no runtime, driver or adapter module", () => {
    const bad = src.flatMap((file) =>
      importsOf(file)
        .filter((spec) => /^(bun:|node:|deno:|npm:|jsr:)|^hono\/(bun|deno)$|^drizzle-orm\/(bun-sqlite|libsql|sqlite-proxy)|adapters\//.test(spec))
        .map((spec) => `${file}: ${spec}`)
    );
    expect(bad).toEqual([]);
  });

  test("src/ uses no Bun or Deno globals", () => {
    const bad = src.filter((file) => /\b(Bun|Deno)\s*\./.test(codeOf(file)));
    expect(bad).toEqual([]);
  });

  test("src/core, src/hooks and src/protocol use the Clock and Logger ports, not timers, Date.now or console", () => {
    const ported = src.filter((file) => /^src\/(core|hooks|protocol)\//.test(file));
    const bad = ported.flatMap((file) => {
      const code = codeOf(file);
      return [/\bsetTimeout\s*\(/, /\bsetInterval\s*\(/, /\bDate\.now\s*\(/, /\bconsole\./]
        .filter((re) => re.test(code.replace(/\bclock\.set(Timeout|Interval)\s*\(/g, "")))
        .map((re) => `${file}: ${re.source}`);
    });
    expect(bad).toEqual([]);
  });

  test("src/protocol depends on nothing in core", () => {
    const bad = src.filter((f) => f.startsWith("src/protocol/"))
      .flatMap((file) => importsOf(file).filter((spec) => spec.includes("/core/")).map((spec) => `${file}: ${spec}`));
    expect(bad).toEqual([]);
  });

  test("each adapter imports only src/mod.ts from the core, and never the other adapter", () => {
    const bad: string[] = [];
    for (const runtime of ["bun", "deno"]) {
      for (const file of filesUnder(`adapters/${runtime}`)) {
        for (const spec of importsOf(file)) {
          if (!spec.startsWith(".")) continue;
          const target = relative(root, join(root, file, "..", spec));
          if (target.startsWith("src/") && target !== "src/mod.ts") bad.push(`${file}: ${spec}`);
          if (target.startsWith("adapters/") && !target.startsWith(`adapters/${runtime}/`)) bad.push(`${file}: ${spec}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  test("src/bridge uses the broker's public API (types only from core/broker.ts, local-session.ts, management.ts), protocol, ports, model, config and util; never admin, app or store", () => {
    const bad: string[] = [];
    for (const file of src.filter((f) => f.startsWith("src/bridge/"))) {
      const text = readFileSync(join(root, file), "utf8");
      for (const spec of importsOf(file)) {
        const target = relative(root, join(root, file, "..", spec));
        if (!spec.startsWith(".")) {
          bad.push(`${file}: ${spec}`); // no libraries: the codec comes through src/protocol
        } else if (/^src\/(admin|app|store|security|hooks)\//.test(target)) {
          bad.push(`${file}: ${spec}`);
        } else if (target.startsWith("src/core/")) {
          const typeOnly = new RegExp(`import\\s+type\\s[^;]*from\\s+["']${spec.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}["']`);
          if (!/^src\/core\/(broker|local-session|management)\.ts$/.test(target) || !typeOnly.test(text)) bad.push(`${file}: ${spec}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  test("relative imports carry explicit .ts extensions (both runtimes resolve them alike)", () => {
    const files = [...src, ...filesUnder("adapters")];
    const bad = files.flatMap((file) =>
      importsOf(file).filter((spec) => spec.startsWith(".") && !spec.endsWith(".ts")).map((spec) => `${file}: ${spec}`)
    );
    expect(bad).toEqual([]);
  });
});
