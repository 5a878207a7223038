/** Numbers and times for people: bytes, rates, durations, and times in the browser's time zone. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export const count = (n: number | null | undefined) => (n === null || n === undefined ? "–" : n.toLocaleString());
export const rate = (n: number | null | undefined, unit = "/s") =>
  n === null || n === undefined ? "–" : `${n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString()}${unit}`;

export function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`;
}

/** Local date and time (the browser's zone). */
export const time = (ms: number | null | undefined) => (ms === null || ms === undefined ? "–" : new Date(ms).toLocaleString());

export const fromBase64 = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

export type PayloadFormat = "text" | "json" | "hex";

/** A payload shown as text, pretty JSON (when it parses) or hex. */
export function showPayload(b64: string, format: PayloadFormat): string {
  const raw = fromBase64(b64);
  if (format === "hex") return [...raw].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  const text = new TextDecoder().decode(raw);
  if (format === "json") {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (_e: unknown) {
      return text;
    }
  }
  return text;
}
