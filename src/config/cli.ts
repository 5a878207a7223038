/**
 * Command-line parsing shared by both adapters: the command (serve, config tools, help, version)
 * and the options that feed the configuration. Values are validated later, together with the file
 * and the environment, so a bad flag gets the same clear error as a bad file.
 */
import type { ListenerFlags } from "./load.ts";
import { type Override, parseSet } from "./overrides.ts";
import { parseSecurityArgs, SECURITY_COMMANDS, SECURITY_USAGE, type SecurityCommand } from "./security-cli.ts";
import { VERSION } from "./version.ts";

export { VERSION };

export const DEFAULT_CONFIG_PATH = "/etc/gannet/gannet.yaml";

export const USAGE = `Usage: gannet [options]            start the broker
       gannet config check FILE     validate a configuration file (exit 0 valid, 2 invalid)
       gannet config print [options] print the effective configuration (secrets masked)
       gannet config schema         print the JSON Schema of the configuration file
       gannet config example        print a commented example configuration with every option
${SECURITY_USAGE}

Gannet: an MQTT broker (MQTT 3.1, 3.1.1 and 5.0 over TCP, TLS, WebSocket and secure WebSocket).

Options:
  --config PATH        YAML configuration file (default ${DEFAULT_CONFIG_PATH} when it exists)
  --host ADDR          bind address for every listener and the admin port (default 127.0.0.1)
  --port N             MQTT over TCP port (default 1883; "off" disables)
  --ws-port N          MQTT over WebSocket port (default 8083, path /mqtt; "off" disables)
  --admin-port N       admin HTTP port: /healthz, /readyz, console (default 18083; "off" disables)
  --log-level LEVEL    debug | info | warn | error (default info)
  --log-format FORMAT  text | json (default text)
  --set KEY=VALUE      set any option by its path, e.g. --set mqtt.maxPacketSize=65536
  --version            print the version and exit
  --help               print this help and exit

Environment: GANNET_<SECTION>__<KEY>=VALUE sets an option, e.g. GANNET_ADMIN__PORT=18083.
Precedence: built-in defaults < configuration file < environment < command line.
Signals: SIGHUP reloads the configuration file; SIGTERM and SIGINT shut down gracefully.
Exit codes: 0 success, 1 runtime failure, 2 invalid configuration or usage.
`;

export interface ConfigOptions {
  /** --config PATH; undefined means the default path when it exists, else built-in defaults. */
  configPath?: string;
  overrides: Override[];
  flags: ListenerFlags;
}

export type CliResult =
  | { kind: "serve"; options: ConfigOptions }
  | { kind: "config-check"; file: string }
  | { kind: "config-print"; options: ConfigOptions }
  | { kind: "config-schema" }
  | { kind: "config-example" }
  | { kind: "security"; command: SecurityCommand; options: ConfigOptions }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "error"; message: string };

function parsePort(text: string | undefined, flag: string): number | "off" | { problem: string } {
  if (text === "off") return "off";
  const n = Number(text);
  if (text === undefined || text === "" || !Number.isInteger(n) || n < 0 || n > 65535) {
    return { problem: `${flag} expects a port number from 0 to 65535 or "off", got ${JSON.stringify(text ?? "")}` };
  }
  return n;
}

/** Options shared by `gannet` and `gannet config print`. */
function parseOptions(argv: readonly string[]): ConfigOptions | { problem: string } | "help" | "version" {
  const options: ConfigOptions = { overrides: [], flags: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const [flag, inline] = arg.startsWith("--") && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case "--help":
      case "-h":
        return "help";
      case "--version":
      case "-v":
        return "version";
      case "--config":
      case "-c": {
        const path = value();
        if (!path) return { problem: `${flag} expects a file path` };
        options.configPath = path;
        break;
      }
      case "--host": {
        const host = value();
        if (!host) return { problem: "--host expects an address" };
        options.flags.host = host;
        break;
      }
      case "--port":
      case "--ws-port":
      case "--admin-port": {
        const port = parsePort(value(), flag);
        if (typeof port === "object") return port;
        if (flag === "--port") options.flags.tcpPort = port;
        else if (flag === "--ws-port") options.flags.wsPort = port;
        else options.flags.adminPort = port;
        break;
      }
      case "--log-level":
      case "--log-format": {
        const text = value();
        if (text === undefined) return { problem: `${flag} expects a value` };
        const override = parseSet(`logging.${flag === "--log-level" ? "level" : "format"}=${text}`);
        if ("problem" in override) return override;
        options.overrides.push({ ...override, origin: `${flag} ${text}` });
        break;
      }
      case "--set": {
        const pair = value();
        if (pair === undefined) return { problem: "--set expects KEY=VALUE" };
        const override = parseSet(pair);
        if ("problem" in override) return override;
        options.overrides.push(override);
        break;
      }
      default:
        return { problem: `unknown argument ${JSON.stringify(arg)} (see gannet --help)` };
    }
  }
  return options;
}

function withOptions(argv: readonly string[], make: (options: ConfigOptions) => CliResult): CliResult {
  const options = parseOptions(argv);
  if (options === "help" || options === "version") return { kind: options };
  if ("problem" in options) return { kind: "error", message: options.problem };
  return make(options);
}

export function parseArgs(argv: readonly string[]): CliResult {
  if (argv[0] === "help") return { kind: "help" };
  if (argv[0] === "version") return { kind: "version" };
  if ((SECURITY_COMMANDS as readonly string[]).includes(argv[0])) return parseSecurityArgs(argv);
  if (argv[0] !== "config") return withOptions(argv, (options) => ({ kind: "serve", options }));
  const [, sub, ...rest] = argv;
  if (rest.includes("--help") || rest.includes("-h")) return { kind: "help" };
  switch (sub) {
    case "check": {
      if (rest.length !== 1 || rest[0].startsWith("-")) {
        return { kind: "error", message: "usage: gannet config check FILE" };
      }
      return { kind: "config-check", file: rest[0] };
    }
    case "print":
      return withOptions(rest, (options) => ({ kind: "config-print", options }));
    case "schema":
    case "example":
      if (rest.length) return { kind: "error", message: `usage: gannet config ${sub} (no arguments)` };
      return { kind: sub === "schema" ? "config-schema" : "config-example" };
    default:
      return {
        kind: "error",
        message: `${sub === undefined ? "missing" : `unknown`} config subcommand${sub ? ` ${JSON.stringify(sub)}` : ""}` +
          "; expected check FILE, print, schema or example",
      };
  }
}
