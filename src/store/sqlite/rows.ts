/**
 * Row codecs: Message <-> `messages` row values, the properties JSON (correlationData as base64,
 * userProperties as [name, value] pairs), and typed readers that fail loudly on a corrupt row.
 */
import type { Message, MessageProperties, QoS, UserProperties } from "../../model/message.ts";
import type { SqlRow, SqlValue } from "./executor.ts";

export function encodeProperties(p: MessageProperties): string | null {
  const out: Record<string, unknown> = {};
  if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator;
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined) out.correlationData = toBase64(p.correlationData);
  if (p.userProperties !== undefined) out.userProperties = p.userProperties;
  for (const _ in out) return JSON.stringify(out);
  return null;
}

export function decodeProperties(text: string | null): MessageProperties {
  if (text === null) return {};
  const raw: unknown = JSON.parse(text);
  if (typeof raw !== "object" || raw === null) throw new Error(`stored message properties are not an object: ${text}`);
  const o = raw as Record<string, unknown>;
  const p: MessageProperties = {};
  if (typeof o.payloadFormatIndicator === "boolean") p.payloadFormatIndicator = o.payloadFormatIndicator;
  if (typeof o.contentType === "string") p.contentType = o.contentType;
  if (typeof o.responseTopic === "string") p.responseTopic = o.responseTopic;
  if (typeof o.correlationData === "string") p.correlationData = fromBase64(o.correlationData);
  if (Array.isArray(o.userProperties)) {
    const pairs: UserProperties = [];
    for (const pair of o.userProperties) {
      if (!Array.isArray(pair) || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
        throw new Error(`stored user property is not a [name, value] pair: ${JSON.stringify(pair)}`);
      }
      pairs.push([pair[0], pair[1]]);
    }
    p.userProperties = pairs;
  }
  return p;
}

/** Parameters of `INSERT INTO messages (id, topic, payload, qos, retain, properties, expires_at, origin)`. */
export function messageParams(id: number, m: Message): SqlValue[] {
  return [
    id,
    m.topic,
    m.payload,
    m.qos,
    m.retain ? 1 : 0,
    encodeProperties(m.properties),
    m.expiresAt ?? null,
    m.origin ?? null,
  ];
}

function corrupt(row: SqlRow, column: string, expected: string): Error {
  return new Error(`corrupt database row: column ${column} should be ${expected}, got ${typeof row[column]}`);
}

export function num(row: SqlRow, column: string): number {
  const v = row[column];
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  throw corrupt(row, column, "an integer");
}

export function optNum(row: SqlRow, column: string): number | undefined {
  return row[column] === null || row[column] === undefined ? undefined : num(row, column);
}

export function str(row: SqlRow, column: string): string {
  const v = row[column];
  if (typeof v === "string") return v;
  throw corrupt(row, column, "text");
}

export function optStr(row: SqlRow, column: string): string | undefined {
  return row[column] === null || row[column] === undefined ? undefined : str(row, column);
}

export function bytes(row: SqlRow, column: string): Uint8Array {
  const v = row[column];
  if (v instanceof Uint8Array) return v;
  throw corrupt(row, column, "a blob");
}

export function qos(row: SqlRow, column: string): QoS {
  const v = num(row, column);
  if (v === 0 || v === 1 || v === 2) return v;
  throw corrupt(row, column, "a QoS (0, 1 or 2)");
}

export function toBase64(data: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < data.length; i += 0x8000) {
    binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
