/** The most recent log lines, in memory, for the console's log page (a live tail with a level filter). */
export type LogLevelName = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevelName, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface LogEntry {
  /** Increasing; a client asks for lines after the last id it saw. */
  id: number;
  at: number;
  level: LogLevelName;
  line: string;
}

export class LogRing {
  private readonly entries: LogEntry[] = [];
  private nextId = 1;
  private readonly listeners = new Set<(entry: LogEntry) => void>();
  private readonly secrets: string[] = [];

  constructor(private readonly size = 2000) {}

  /** Never show `secret` (the first admin's random password, logged once for the operator's terminal). */
  hide(secret: string): void {
    this.secrets.push(secret);
    for (const entry of this.entries) entry.line = entry.line.replaceAll(secret, "[hidden]");
  }

  push(level: LogLevelName, line: string, at: number): void {
    for (const secret of this.secrets) line = line.replaceAll(secret, "[hidden]");
    const entry = { id: this.nextId++, at, level, line: line.length > 4096 ? line.slice(0, 4096) + "…" : line };
    this.entries.push(entry);
    if (this.entries.length > this.size) this.entries.shift();
    for (const listener of this.listeners) listener(entry);
  }

  /** Lines at `level` or above, after id `after`, the newest `limit` of them, oldest first. */
  list(query: { level?: LogLevelName; after?: number; limit?: number } = {}): LogEntry[] {
    const min = RANK[query.level ?? "debug"];
    const matching = this.entries.filter((e) => RANK[e.level] >= min && e.id > (query.after ?? 0));
    return matching.slice(-(query.limit ?? 500));
  }

  /** Calls `listener` for each new line until the returned function is called. */
  subscribe(listener: (entry: LogEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export const atLeast = (level: LogLevelName, min: LogLevelName) => RANK[level] >= RANK[min];
