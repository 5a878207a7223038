/**
 * Command line of the client scripts (load.ts, fanout.ts, latency.ts): `--flag value` pairs over a set
 * of defaults, and the JSON-on-stdout / message-on-stderr contract that compare.ts relies on.
 */

type Flags = Record<string, string | number>;

/** `--pub-window` -> `pubWindow`. */
function keyOf(flag: string): string {
  return flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** A copy of `defaults` with each `--flag value` applied; a flag whose default is a number takes a number. */
export function parseFlags<T extends Flags>(argv: string[], defaults: T): T {
  const options: Flags = { ...defaults };
  const known = Object.keys(defaults).map((k) => "--" + k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()));
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i]!, argv[i + 1]];
    const key = keyOf(flag);
    if (!flag.startsWith("--") || !(key in defaults)) throw new Error(`unknown flag ${flag} (known: ${known.join(", ")})`);
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (typeof defaults[key] === "number") {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`${flag} needs a number, not "${value}"`);
      options[key] = n;
    } else options[key] = value;
  }
  return options as T;
}

/** Runs a script's measurement: its result as one JSON line on stdout, or `name: message` on stderr and exit 1. */
export async function printResult(name: string, measure: () => Promise<unknown>): Promise<never> {
  try {
    console.log(JSON.stringify(await measure()));
    process.exit(0);
  } catch (e: unknown) {
    console.error(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
