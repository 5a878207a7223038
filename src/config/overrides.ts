/**
 * Overrides on top of the file: GANNET_SECTION__KEY environment variables and `--set key=value`.
 * Keys are resolved against the schema (not the current values), so any option can be set, and an
 * unknown key is an error with a suggestion, like in the file.
 */
import * as z from "zod/mini";
import { configSchema } from "./schema.ts";
import { formatPath, type KeyPath, keysAt, schemaAt } from "./schema-walk.ts";
import { suggest } from "./suggest.ts";

export interface Override {
  /** Where it came from, for messages: `--set mqtt.maxQos=1` or `GANNET_MQTT__MAX_QOS`. */
  origin: string;
  path: KeyPath;
  value: unknown;
}

export const ENV_PREFIX = "GANNET_";

/** "123" → number, "true"/"false" → boolean, JSON arrays/objects → JSON, anything else → the text. */
function parseValue(text: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === "true" || text === "false") return text === "true";
  if (text.startsWith("[") || text.startsWith("{")) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/** String options keep the text as written (a path "123" stays a string). */
function valueFor(path: KeyPath, text: string): unknown {
  const target = schemaAt(configSchema, path);
  const isText = target instanceof z.core.$ZodString ||
    (target instanceof z.core.$ZodEnum && Object.values(target._zod.def.entries).every((v) => typeof v === "string"));
  return isText ? text : parseValue(text);
}

type Resolved = { path: KeyPath } | { problem: string };

function resolve(segments: readonly string[], match: (segment: string, known: string[]) => string | undefined): Resolved {
  const path: (string | number)[] = [];
  for (const segment of segments) {
    if (/^\d+$/.test(segment) && schemaAt(configSchema, [...path, 0]) !== undefined) {
      path.push(Number(segment));
      continue;
    }
    const known = keysAt(configSchema, path);
    const key = match(segment, known);
    if (key === undefined) {
      const hint = suggest(segment, known);
      const where = path.length ? ` in ${formatPath(path)}` : "";
      return {
        problem: `unknown key ${JSON.stringify(segment)}${where}` +
          (hint ? `; did you mean ${JSON.stringify(hint)}?` : known.length ? `; known keys: ${known.join(", ")}` : ""),
      };
    }
    path.push(key);
  }
  return { path };
}

/** `--set mqtt.maxPacketSize=65536` (also `listeners[0].port=1884` and `listeners.0.port=1884`). */
export function parseSet(pair: string): Override | { problem: string } {
  const eq = pair.indexOf("=");
  if (eq < 1) return { problem: `--set expects KEY=VALUE, got ${JSON.stringify(pair)}` };
  const key = pair.slice(0, eq);
  const segments = key.replace(/\[(\d+)\]/g, ".$1").split(".");
  const resolved = resolve(segments, (segment, known) => known.includes(segment) ? segment : undefined);
  if ("problem" in resolved) return { problem: `--set ${key}: ${resolved.problem}` };
  return { origin: `--set ${pair}`, path: resolved.path, value: valueFor(resolved.path, pair.slice(eq + 1)) };
}

const loose = (key: string) => key.toLowerCase().replace(/_/g, "");

/**
 * GANNET_ADMIN__PORT=18083 → admin.port; GANNET_MQTT__MAX_PACKET_SIZE → mqtt.maxPacketSize;
 * GANNET_LISTENERS__0__PORT → listeners[0].port. Variables without "__" (GANNET_TEST_...) are ignored.
 */
export function parseEnv(env: Readonly<Record<string, string | undefined>>): { overrides: Override[]; problems: string[] } {
  const overrides: Override[] = [];
  const problems: string[] = [];
  for (const name of Object.keys(env).sort()) {
    const text = env[name];
    if (!name.startsWith(ENV_PREFIX) || !name.includes("__") || text === undefined) continue;
    const segments = name.slice(ENV_PREFIX.length).split("__");
    const resolved = resolve(segments, (segment, known) => known.find((k) => loose(k) === loose(segment)));
    if ("problem" in resolved) problems.push(`environment variable ${name}: ${resolved.problem}`);
    else overrides.push({ origin: `environment variable ${name}`, path: resolved.path, value: valueFor(resolved.path, text) });
  }
  return { overrides, problems };
}

/** Apply one override to plain config data in place; a problem when an index or parent is missing. */
export function applyOverride(target: Record<string, unknown>, override: Override): string | undefined {
  let node: unknown = target;
  const { path } = override;
  for (let i = 0; i < path.length - 1; i++) {
    const segment = path[i];
    let next = (node as Record<string | number, unknown>)[segment];
    if (next === undefined && typeof path[i + 1] === "string") {
      next = {};
      (node as Record<string | number, unknown>)[segment] = next;
    }
    if (typeof next !== "object" || next === null) {
      return `${override.origin}: ${formatPath(path.slice(0, i + 1))} has no entry ${String(path[i + 1])}`;
    }
    node = next;
  }
  const last = path[path.length - 1];
  if (Array.isArray(node) && typeof last === "number" && last > node.length) {
    return `${override.origin}: ${formatPath(path.slice(0, -1))} has ${node.length} entries`;
  }
  (node as Record<string | number, unknown>)[last] = override.value;
  return undefined;
}
