/**
 * The schema for people and editors: JSON Schema (`gannet config schema`), the commented example
 * file (`gannet config example`, kept as packaging/gannet.example.yaml) and the masked effective
 * configuration (`gannet config print`).
 */
import { stringify } from "yaml";
import { z } from "zod";
import { configSchema } from "./schema.ts";
import { VERSION } from "./version.ts";

interface JsonSchema {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  required?: string[];
}

export function jsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: "input" }),
    $id: "https://gannet.invalid/schema/gannet.yaml.json",
    title: `Gannet ${VERSION} configuration (gannet.yaml)`,
  } as Record<string, unknown>;
}

const yamlValue = (value: unknown) => stringify(value, { flow: true }).trim();

function allowed(schema: JsonSchema): string {
  const values = schema.enum ?? schema.anyOf?.map((s) => (s as { const?: unknown }).const);
  if (values && values.every((v) => v !== undefined)) return `one of ${values.map((v) => String(v)).join(" | ")}`;
  if (schema.minimum !== undefined && schema.maximum !== undefined && schema.maximum < 1e15) {
    return `${schema.minimum} to ${schema.maximum}`;
  }
  if (schema.minimum !== undefined) return `>= ${schema.minimum}`;
  return "";
}

/**
 * Values the example sets instead of the default, because the example is the file the packaged
 * service reads: its database belongs in the state directory, not next to the file in /etc/gannet.
 */
const PACKAGED_VALUES: Record<string, string> = { "persistence.path": "/var/lib/gannet/gannet.db" };

function option(key: string, schema: JsonSchema, indent: string, section: string): string[] {
  const range = allowed(schema);
  const packaged = PACKAGED_VALUES[`${section}.${key}`];
  const note = [range, packaged !== undefined ? `default ${yamlValue(schema.default)}` : ""].filter(Boolean).join("; ");
  const lines = [`${indent}# ${schema.description ?? key}${note ? ` (${note})` : ""}`];
  const value = packaged ?? schema.default;
  lines.push(value === undefined ? `${indent}# ${key}:` : `${indent}${key}: ${yamlValue(value)}`);
  return lines;
}

function listenerExample(items: JsonSchema, defaults: unknown): string[] {
  const lines = ["listeners:"];
  lines.push("  # Each listener has these keys:");
  for (const [key, schema] of Object.entries(items.properties ?? {})) {
    const range = allowed(schema);
    const required = items.required?.includes(key) ? "required" : schema.default !== undefined
      ? `default ${yamlValue(schema.default)}`
      : "optional";
    lines.push(`  #   ${key}: ${schema.description ?? ""} (${[required, range].filter(Boolean).join("; ")})`);
  }
  for (const listener of Array.isArray(defaults) ? defaults : []) {
    const entries = Object.entries(listener as Record<string, unknown>)
      .filter(([key, value]) => key !== "path" || (listener as { kind?: string }).kind === "ws" || value !== "/mqtt");
    entries.forEach(([key, value], i) => lines.push(`  ${i === 0 ? "- " : "  "}${key}: ${yamlValue(value)}`));
  }
  lines.push("  # MQTT over TLS: PEM files the service user can read (re-read on reload):");
  lines.push("  # - kind: tls", "  #   host: 0.0.0.0", "  #   port: 8883", "  #   cert: /etc/gannet/tls/fullchain.pem");
  lines.push("  #   key: /etc/gannet/tls/privkey.pem");
  return lines;
}

/** Keys of an object schema as comment lines, nested objects and lists of objects indented below their key. */
function keyComments(items: JsonSchema, indent: string): string[] {
  const lines: string[] = [];
  for (const [key, schema] of Object.entries(items.properties ?? {})) {
    const range = allowed(schema);
    const required = items.required?.includes(key) ? "required" : schema.default !== undefined
      ? `default ${yamlValue(schema.default)}`
      : "optional";
    const nested = schema.type === "array" ? schema.items : schema.type === "object" ? schema : undefined;
    const shown = nested?.properties ? (schema.type === "array" ? "list" : "") : required;
    const notes = [shown, range].filter(Boolean).join("; ");
    lines.push(`${indent}${key}: ${schema.description ?? ""}${notes ? ` (${notes})` : ""}`);
    if (nested?.properties) lines.push(...keyComments(nested, indent + "  "));
  }
  return lines;
}

function bridgesExample(items: JsonSchema): string[] {
  return [
    "# Each bridge has these keys (durations: seconds or 500ms/30s/5m/2h/7d; sizes: bytes or 64KiB/512MiB/1GB):",
    ...keyComments(items, "#   "),
    "# For example (see README \"Bridges\"):",
    "# bridges:",
    "#   - name: cloud",
    "#     url: mqtts://mqtt.example.com:8883",
    "#     clientId: gateway-17",
    "#     username: gw17",
    "#     passwordFile: /etc/gannet/cloud.password",
    "#     out:",
    "#       - { local: \"plant/#\", remote: \"site17/plant/#\", qos: 1 }",
    "#     in:",
    "#       - { remote: \"site17/cmd/#\", local: \"cmd/#\", qos: 1 }",
    "#     queue: { maxMessages: 1000000, maxBytes: 512MiB, maxAge: 7d, whenFull: dropOldest }",
    "bridges: []",
  ];
}

/** The commented example configuration: every option, with its default value and meaning. */
export function exampleYaml(): string {
  const schema = z.toJSONSchema(configSchema, { io: "input" }) as JsonSchema;
  const lines = [
    `# Gannet ${VERSION} configuration. Generated from the schema by \`gannet config example\`.`,
    "# Every option is listed with its default value: delete what you do not change.",
    "# Default location: /etc/gannet/gannet.yaml (or pass --config PATH). Check a file with",
    "# `gannet config check FILE`; see the effective configuration with `gannet config print`.",
    "# Any option can also come from the environment, GANNET_<SECTION>__<KEY> (e.g. GANNET_ADMIN__PORT=18083,",
    "# GANNET_MQTT__MAX_PACKET_SIZE=65536), or the command line (--set mqtt.maxPacketSize=65536).",
    "# Precedence: defaults < this file < environment < command line.",
    "# Editors: `gannet config schema > gannet.schema.json` gives a JSON Schema for completion.",
  ];
  for (const [section, sectionSchema] of Object.entries(schema.properties ?? {})) {
    lines.push("", `# ${sectionSchema.description ?? section}`);
    if (section === "bridges" && sectionSchema.items) {
      lines.push(...bridgesExample(sectionSchema.items));
      continue;
    }
    if (sectionSchema.type === "array" && sectionSchema.items) {
      lines.push(...listenerExample(sectionSchema.items, sectionSchema.default));
      continue;
    }
    lines.push(`${section}:`);
    for (const [key, child] of Object.entries(sectionSchema.properties ?? {})) lines.push(...option(key, child, "  ", section));
  }
  return lines.join("\n") + "\n";
}

const SECRET_KEY = /password|secret|token|credential|apikey|api_key|private/i;

/** A copy with secret-looking values replaced and passwords in URLs hidden. */
export function maskSecrets(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  if (typeof value === "string" && value !== "" && SECRET_KEY.test(key) && !key.endsWith("File")) return "********";
  if (typeof value === "string") return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, "$1:********@");
  return value;
}

/** The effective configuration as YAML, secrets masked. */
export function printableConfig(config: unknown): string {
  return stringify(maskSecrets(config), { lineWidth: 0 });
}
