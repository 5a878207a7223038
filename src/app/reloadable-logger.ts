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

function view(state: State, bound: LogFields | undefined): Logger {
  let generation = -1;
  let inner: Logger = state.root;
  const current = (): Logger => {
    if (generation !== state.generation) {
      inner = bound ? state.root.child(bound) : state.root;
      generation = state.generation;
    }
    return inner;
  };
  return {
    debug: (msg, fields) => current().debug(msg, fields),
    info: (msg, fields) => current().info(msg, fields),
    warn: (msg, fields) => current().warn(msg, fields),
    error: (msg, fields) => current().error(msg, fields),
    child: (fields) => view(state, bound ? { ...bound, ...fields } : fields),
  };
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
