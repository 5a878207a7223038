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
    else if (/\.tsx?$/.test(name)) out.push(path);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  // Static imports and re-exports start a line; dynamic imports are import("...") anywhere.
  return [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+["']([^"']+)["']|^import\s+["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm)]
    .map((m) => m[1] ?? m[2] ?? m[3]);
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

  /**
   * What each folder of src/ may import from the rest of src/ (its own folder is always allowed),
   * and which npm packages. A path is a folder ("core") or one file ("config/schema.ts").
   */
  const allowed: Record<string, { src: string[]; npm: string[] }> = {
    model: { src: ["ports"], npm: [] },
    // runtime.ts, the adapters' port, names the broker, store and config types it passes around.
    ports: { src: ["model", "core/broker-api.ts", "config/schema.ts", "store/types.ts"], npm: [] },
    util: { src: ["ports", "model"], npm: [] },
    protocol: { src: ["model", "util"], npm: ["mqtt-packet"] },
    hooks: { src: ["model", "ports", "util"], npm: [] },
    // The engine: no app, admin, bridge or security, and of config only its types and version.
    core: {
      src: ["model", "ports", "util", "protocol", "hooks", "store/types.ts", "store/errors.ts", "store/memory.ts", "config/schema.ts", "config/version.ts"],
      npm: [],
    },
    store: { src: ["model", "ports", "util", "security/types.ts", "security/memory-store.ts", "security/admin-types.ts", "security/admin-memory-store.ts"], npm: ["drizzle-orm", "drizzle-orm/sqlite-core"] },
    security: { src: ["model", "ports", "util", "protocol", "hooks", "config/schema.ts", "store/types.ts"], npm: ["hash-wasm"] },
    config: { src: ["model", "util", "protocol", "security", "ports"], npm: ["yaml", "zod"] },
    // The admin API and bridges see the broker through its public interface only.
    admin: {
      src: ["model", "ports", "util", "core/broker-api.ts", "core/broker.ts", "core/management.ts", "config", "security", "store/types.ts", "store/errors.ts", "store/histogram.ts", "protocol/topics.ts"],
      npm: ["hono", "zod"],
    },
    bridge: {
      src: ["model", "ports", "util", "protocol", "core/broker-api.ts", "core/broker.ts", "core/local-session.ts", "core/management.ts", "config/schema.ts"],
      npm: ["mqtt"],
    },
    app: { src: ["*"], npm: [] },
  };

  test("each folder of src/ imports only what the table allows", () => {
    const bad: string[] = [];
    for (const file of src) {
      const folder = file.split("/")[1];
      if (!folder.includes(".ts") && !(folder in allowed)) {
        bad.push(`${file}: folder src/${folder} has no row in the boundaries table`);
        continue;
      }
      const rule = allowed[folder];
      if (!rule) continue; // src/mod.ts: the public surface re-exports everything
      for (const spec of importsOf(file)) {
        if (!spec.startsWith(".")) {
          if (!rule.npm.some((pkg) => spec === pkg || spec.startsWith(`${pkg}/`))) bad.push(`${file}: npm ${spec}`);
          continue;
        }
        const target = relative(join(root, "src"), join(root, file, "..", spec));
        if (target.startsWith(`${folder}/`) || rule.src.includes("*")) continue;
        if (!rule.src.some((allow) => target === allow || target.startsWith(`${allow}/`))) bad.push(`${file}: ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  test("web/ imports only the admin API's types (the typed client), nothing else of src/", () => {
    let files: string[] = [];
    try {
      files = filesUnder("web/src");
    } catch {
      return; // no console sources yet
    }
    const bad: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(root, file), "utf8");
      for (const m of text.matchAll(/^(import(?:\s+type)?)[^"';]*?from\s+["']([^"']+)["']/gm)) {
        const [, kind, spec] = m;
        if (!spec.startsWith(".")) continue;
        const target = relative(root, join(root, file, "..", spec));
        if (!target.startsWith("src/")) continue;
        if (kind.trim() !== "import type" || !target.startsWith("src/admin/")) bad.push(`${file}: ${m[0]}`);
      }
    }
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

  test("relative imports carry explicit .ts extensions (both runtimes resolve them alike)", () => {
    const files = [...src, ...filesUnder("adapters")];
    const bad = files.flatMap((file) =>
      importsOf(file).filter((spec) => spec.startsWith(".") && !spec.endsWith(".ts")).map((spec) => `${file}: ${spec}`)
    );
    expect(bad).toEqual([]);
  });
});
