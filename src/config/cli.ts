/**
 * Command-line parsing shared by both adapters. Flags are applied on top of the defaults and the
 * result is validated by the schema, so a bad flag gives the same clear error as a bad file would.
 */
import { type Config, configSchema, defaultConfig } from "./schema.ts";

export const VERSION = "0.1.0";

export const USAGE = `Usage: gannet [options]

Starts the Gannet MQTT broker (MQTT 3.1, 3.1.1 and 5.0 over TCP and WebSocket).

Options:
  --host ADDR          bind address for every listener (default 0.0.0.0)
  --port N             MQTT over TCP port (default 1883; "off" disables)
  --ws-port N          MQTT over WebSocket port (default 8083, path /mqtt; "off" disables)
  --log-level LEVEL    debug | info | warn | error (default info)
  --log-format FORMAT  text | json (default text)
  --set KEY=VALUE      set any option by its path, e.g. --set mqtt.maxPacketSize=65536
  --version            print the version and exit
  --help               print this help and exit
`;

export type CliResult =
  | { kind: "serve"; config: Config }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "error"; message: string };

/** Parse "123" as a number, "true"/"false" as booleans, JSON arrays/objects as JSON, else a string. */
function parseValue(text: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === "true" || text === "false") return text === "true";
  if (text.startsWith("[") || text.startsWith("{")) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): string | null {
  const keys = path.split(".");
  let node: Record<string, unknown> = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null) return `unknown option "${path}"`;
    node = next as Record<string, unknown>;
  }
  const last = keys[keys.length - 1];
  if (!(last in node)) return `unknown option "${path}"`;
  node[last] = value;
  return null;
}

function parsePort(text: string | undefined, flag: string): number | "off" | string {
  if (text === "off") return "off";
  const n = Number(text);
  if (text === undefined || !Number.isInteger(n) || n < 0 || n > 65535) {
    return `${flag} expects a port number from 0 to 65535 or "off", got ${JSON.stringify(text ?? "")}`;
  }
  return n;
}

export function parseArgs(argv: readonly string[]): CliResult {
  const raw = defaultConfig() as unknown as Record<string, unknown> & Config;
  let host: string | undefined;
  let tcpPort: number | "off" | undefined;
  let wsPort: number | "off" | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") && !arg.startsWith("--set=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--help":
      case "-h":
        return { kind: "help" };
      case "--version":
      case "-v":
        return { kind: "version" };
      case "--host":
        host = value();
        if (!host) return { kind: "error", message: "--host expects an address" };
        break;
      case "--port":
      case "--ws-port": {
        const p = parsePort(value(), flag);
        if (typeof p === "string" && p !== "off") return { kind: "error", message: p };
        if (flag === "--port") tcpPort = p as number | "off";
        else wsPort = p as number | "off";
        break;
      }
      case "--log-level":
        raw.logging.level = value() as Config["logging"]["level"];
        break;
      case "--log-format":
        raw.logging.format = value() as Config["logging"]["format"];
        break;
      case "--set":
      case "--set=": {
        const pair = arg.startsWith("--set=") ? arg.slice(6) : argv[++i];
        const eq = pair?.indexOf("=") ?? -1;
        if (!pair || eq < 1) return { kind: "error", message: "--set expects KEY=VALUE" };
        const problem = setPath(raw, pair.slice(0, eq), parseValue(pair.slice(eq + 1)));
        if (problem) return { kind: "error", message: problem };
        break;
      }
      default:
        return { kind: "error", message: `unknown argument "${arg}" (see --help)` };
    }
  }
  raw.listeners = raw.listeners.flatMap((listener) => {
    const port = listener.kind === "tcp" ? tcpPort : wsPort;
    if (port === "off") return [];
    return [{ ...listener, host: host ?? listener.host, port: port ?? listener.port }];
  });
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    return { kind: "error", message: `invalid option: ${issues.join("; ")}` };
  }
  return { kind: "serve", config: parsed.data };
}
