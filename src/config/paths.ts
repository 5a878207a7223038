/**
 * POSIX path arithmetic without a runtime: Gannet runs on Linux gateways, and src/ may not import
 * node:path. Used to resolve the relative file paths of the configuration.
 */

export const isAbsolute = (path: string): boolean => path.startsWith("/");

/** `path` resolved against the directory `base` (itself absolute or relative), normalized. */
export function resolvePath(base: string, path: string): string {
  const joined = isAbsolute(path) ? path : `${base}/${path}`;
  const parts: string[] = [];
  for (const part of joined.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length && parts[parts.length - 1] !== "..") parts.pop();
      else if (!isAbsolute(joined)) parts.push("..");
      continue;
    }
    parts.push(part);
  }
  const text = parts.join("/");
  return isAbsolute(joined) ? `/${text}` : text || ".";
}

export function dirname(path: string): string {
  const i = path.replace(/\/+$/, "").lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : path.slice(0, i);
}
