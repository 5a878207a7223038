/**
 * Bound on repetitive log lines (a client publishing thousands of denied messages a second, or a
 * flood of sockets refused at the door, must not flood the journal): the first `burst` lines of
 * each window are written, the rest are counted and the count rides on the next line written
 * (`suppressed`). Connections have one each for their refusals; the broker has one for
 * connection-level lines (refused, timed out, protocol violations); the hook runner one for hooks
 * that throw. Other errors are never throttled.
 */
import type { Clock } from "../ports/clock.ts";
import type { LogFields, Logger } from "../ports/logger.ts";

export class LogThrottle {
  private windowStart = -Infinity;
  private written = 0;
  private suppressed = 0;

  constructor(private readonly clock: Clock, private readonly burst = 20, private readonly windowMs = 10_000) {}

  info(logger: Logger, msg: string, fields: LogFields): void {
    this.write(logger, "info", msg, fields);
  }

  warn(logger: Logger, msg: string, fields: LogFields): void {
    this.write(logger, "warn", msg, fields);
  }

  error(logger: Logger, msg: string, fields: LogFields): void {
    this.write(logger, "error", msg, fields);
  }

  private write(logger: Logger, level: "info" | "warn" | "error", msg: string, fields: LogFields): void {
    const now = this.clock.now();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.written = 0;
    }
    if (++this.written > this.burst) {
      this.suppressed++;
      return;
    }
    if (this.suppressed > 0) {
      logger[level](msg, { ...fields, suppressed: this.suppressed });
      this.suppressed = 0;
    } else {
      logger[level](msg, fields);
    }
  }
}
