/**
 * Turns zod issues into problems a person can act on: the key path, what was expected and what was
 * found, and for unknown keys the closest known key ("did you mean").
 */
import * as z from "zod/mini";
import { configSchema } from "./schema.ts";
import { formatPath, type KeyPath, keysAt, schemaAt } from "./schema-walk.ts";
import { suggest } from "./suggest.ts";

export interface Problem {
  path: KeyPath;
  /** True when the problem is the key itself (unknown key), not its value. */
  atKey: boolean;
  message: string;
}

export function describeFound(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null (an empty value)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

const typeNames: Record<string, string> = {
  int: "an integer",
  number: "a number",
  string: "a string",
  boolean: "true or false",
  object: "a mapping (key: value lines)",
  array: "a list",
};

function bound(issue: { origin: string; inclusive?: boolean }, value: unknown, below: boolean): string {
  const op = below ? (issue.inclusive ? ">=" : ">") : (issue.inclusive ? "<=" : "<");
  const n = String(value);
  if (issue.origin === "string") return below ? `a string of at least ${n} characters` : `at most ${n} characters`;
  if (issue.origin === "array") return below ? `at least ${n} items` : `at most ${n} items`;
  return `a number ${op} ${n}`;
}

/** As the full zod's ZodNumber.isInt: an integer format check (int(), int32()...) or an integer multipleOf. */
function isInt(schema: z.core.$ZodNumber): boolean {
  return (schema._zod.def.checks ?? []).some((check) => {
    const def = check._zod.def as { check: string; format?: string; value?: unknown };
    return (def.check === "number_format" && (def.format ?? "").includes("int")) ||
      (def.check === "multiple_of" && Number.isSafeInteger(def.value));
  });
}

function expected(issue: z.core.$ZodIssue, path: KeyPath): string | undefined {
  switch (issue.code) {
    case "invalid_type": {
      // zod says "number" for a non-number even when the option wants an integer.
      const target = schemaAt(configSchema, path);
      if (issue.expected === "number" && target instanceof z.core.$ZodNumber && isInt(target)) return typeNames.int;
      return typeNames[issue.expected] ?? issue.expected;
    }
    case "too_small":
      return bound(issue, issue.minimum, true);
    case "too_big":
      return bound(issue, issue.maximum, false);
    case "invalid_value":
      return issue.values.length === 1
        ? JSON.stringify(issue.values[0])
        : `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "not_multiple_of":
      return `a multiple of ${String(issue.divisor)}`;
    default:
      return undefined;
  }
}

/** One or more problems per zod issue (an unknown-keys issue lists several keys). */
export function problemsOf(issues: readonly z.core.$ZodIssue[]): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    if (issue.code === "unrecognized_keys") {
      const known = keysAt(configSchema, path);
      for (const key of issue.keys) {
        const hint = suggest(key, known);
        const where = path.length ? `in ${formatPath(path)}` : "at the top level";
        problems.push({
          path: [...path, key],
          atKey: true,
          message: `unknown key ${JSON.stringify(key)} ${where}` +
            (hint ? `; did you mean ${JSON.stringify(hint)}?` : `; known keys: ${known.join(", ")}`),
        });
      }
      continue;
    }
    const want = expected(issue, path);
    const input = (issue as { input?: unknown }).input;
    const message = issue.code === "invalid_type" && input === undefined
      ? `required, expected ${want}`
      : want
      ? `expected ${want}, found ${describeFound(input)}`
      : issue.code === "custom" // cross-field rules: their message says it all
      ? issue.message
      : `${issue.message}, found ${describeFound(input)}`;
    problems.push({ path, atKey: false, message });
  }
  return problems;
}
