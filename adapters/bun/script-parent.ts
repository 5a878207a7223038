/**
 * `npx bun run start`: npm runs `sh -c "bun run start"`, and on SIGTERM npm and that shell exit
 * without passing the signal on, leaving `bun run` and the broker serving (Ctrl-C works: the
 * terminal signals the whole process group). So under a package script (npm_lifecycle_event is
 * set), the broker watches its parent (`bun run`): once the parent's own parent is gone (it was
 * re-parented), the broker stops as on SIGTERM. Linux (/proc); elsewhere this does nothing.
 */
import { readFileSync } from "node:fs";

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

export function stopWhenScriptRunnerIsOrphaned(): void {
  if (!/^start\b/.test(process.env.npm_lifecycle_event ?? "")) return;
  const parent = process.ppid;
  const grandparent = parentOf(parent);
  if (grandparent === undefined || grandparent <= 1) return;
  const timer = setInterval(() => {
    const now = parentOf(parent);
    if (process.ppid === parent && now === grandparent) return;
    clearInterval(timer);
    process.kill(process.pid, "SIGTERM"); // the graceful shutdown, as if npm had passed the signal on
  }, 500);
  timer.unref();
}
