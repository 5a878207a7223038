/** The machine port (Host, PathStat) lives in src/ports/runtime.ts; this is a helper over it. */
export type { Host, PathStat } from "../ports/runtime.ts";

/** A user name for `uid` from /etc/passwd ("uid 1234" when it has none). */
export function userName(readTextFile: (path: string) => string | undefined, uid: number): string {
  try {
    for (const line of (readTextFile("/etc/passwd") ?? "").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && Number(id) === uid && id !== "") return name;
    }
  } catch {
    // unreadable /etc/passwd: fall through to the number
  }
  return `uid ${uid}`;
}
