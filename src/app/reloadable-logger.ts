/**
 * A Logger whose level and format can change at run time (SIGHUP). Child loggers handed out
 * earlier (one per connection) follow the change: each caches its inner logger per generation,
 * so the hot path costs one integer comparison.
 */
import { createLogger, type LogFields, type Logger, type LoggerOptions } from "../ports/logger.ts";

interface State {
  generation: number;
  root: Logger;
}

/**
 * A class, not an object of closures: every connection holds one (two with its client id), and
 * methods on the prototype cost nothing per instance (memory per idle connection, issue 14).
 */
class View implements Logger {
  private generation = -1;
  private inner: Logger;

  constructor(private readonly state: State, private readonly bound: LogFields | undefined) {
    this.inner = state.root;
  }

  private current(): Logger {
    if (this.generation !== this.state.generation) {
      this.inner = this.bound ? this.state.root.child(this.bound) : this.state.root;
      this.generation = this.state.generation;
    }
    return this.inner;
  }

  debug(msg: string, fields?: LogFields): void {
    this.current().debug(msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.current().info(msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.current().warn(msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.current().error(msg, fields);
  }

  child(fields: LogFields): Logger {
    return new View(this.state, this.bound ? { ...this.bound, ...fields } : fields);
  }
}

function view(state: State, bound: LogFields | undefined): Logger {
  return new View(state, bound);
}

export interface ReloadableLogger {
  logger: Logger;
  reconfigure(options: Pick<LoggerOptions, "level" | "format">): void;
}

export function createReloadableLogger(options: LoggerOptions): ReloadableLogger {
  let current = options;
  const state: State = { generation: 0, root: createLogger(options) };
  return {
    logger: view(state, undefined),
    reconfigure(next) {
      current = { ...current, ...next };
      state.root = createLogger(current);
      state.generation++;
    },
  };
}
