/** Logger port: leveled, structured, one line per event (journald-friendly). */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. clientId). */
  child(fields: LogFields): Logger;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level: LogLevel;
  format: "json" | "text";
  /** Where a finished line goes (the adapter passes stdout or stderr writers). */
  write: (line: string, level: LogLevel) => void;
  now?: () => number;
}

function formatText(time: string, level: LogLevel, msg: string, fields: LogFields): string {
  let line = `${time} ${level.toUpperCase().padEnd(5)} ${msg}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = typeof value === "string" ? value : JSON.stringify(value);
    line += ` ${key}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`;
  }
  return line;
}

/** The last timestamp formatted: lines written in the same millisecond (a burst of connects) share it. */
let lastTime = NaN;
let lastTimeText = "";
function timeText(ms: number): string {
  if (ms !== lastTime) {
    lastTime = ms;
    lastTimeText = new Date(ms).toISOString();
  }
  return lastTimeText;
}

/** Prototype methods, not closures: a child per connection costs one small object (issue 14). */
class LineLogger implements Logger {
  private readonly min: number;
  private readonly now: () => number;

  constructor(private readonly options: LoggerOptions, private readonly bound: LogFields) {
    this.min = rank[options.level];
    this.now = options.now ?? Date.now;
  }

  private emit(level: LogLevel, msg: string, fields?: LogFields): void {
    if (rank[level] < this.min) return;
    const time = timeText(this.now());
    // One object per JSON line, not a merged copy of the fields and then the line (CPU per connect, issue 14).
    const line = this.options.format === "json"
      ? JSON.stringify(fields ? { time, level, msg, ...this.bound, ...fields } : { time, level, msg, ...this.bound })
      : formatText(time, level, msg, fields ? { ...this.bound, ...fields } : this.bound);
    this.options.write(line, level);
  }

  debug(msg: string, fields?: LogFields): void {
    this.emit("debug", msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.emit("info", msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.emit("warn", msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.emit("error", msg, fields);
  }

  child(fields: LogFields): Logger {
    return new LineLogger(this.options, { ...this.bound, ...fields });
  }
}

export function createLogger(options: LoggerOptions, bound: LogFields = {}): Logger {
  return new LineLogger(options, bound);
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
