/**
 * Static files of the console (web/), read through a function the adapter injects: from the disk
 * when running from source, from inside the executable when compiled.
 */
export type { AssetReader } from "../ports/runtime.ts";


const contentTypes: Record<string, string> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  json: "application/json",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  woff2: "font/woff2",
  txt: "text/plain; charset=utf-8",
  map: "application/json",
};

export function contentTypeOf(path: string): string {
  const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  return contentTypes[ext] ?? "application/octet-stream";
}

/** A request path as a file path inside web/, or undefined when it tries to leave it. */
export function assetPath(requestPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(requestPath);
  } catch {
    return undefined;
  }
  const segments = decoded.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.some((s) => s === ".." || s.includes("\\") || s.includes("\0"))) return undefined;
  const path = segments.join("/");
  return path === "" || decoded.endsWith("/") ? (path ? `${path}/index.html` : "index.html") : path;
}
