/**
 * The log of one connection: each line carries the connection's fields (client id once known,
 * remote address, listener), read from the connection when the line is written. A child logger
 * kept per connection held four objects and a string for lines that an idle connection never
 * writes (issue 14: memory per idle connection); this one is made when a line is logged.
 */
import type { LogFields, Logger } from "../ports/logger.ts";

export interface LogSource {
  /** The broker's logger (it follows SIGHUP changes of level and format). */
  readonly ctx: { readonly logger: Logger };
  logFields(): LogFields;
}

export class ConnectionLogger implements Logger {
  constructor(private readonly source: LogSource) {}

  debug(msg: string, fields?: LogFields): void {
    this.source.ctx.logger.debug(msg, this.with(fields));
  }

  info(msg: string, fields?: LogFields): void {
    this.source.ctx.logger.info(msg, this.with(fields));
  }

  warn(msg: string, fields?: LogFields): void {
    this.source.ctx.logger.warn(msg, this.with(fields));
  }

  error(msg: string, fields?: LogFields): void {
    this.source.ctx.logger.error(msg, this.with(fields));
  }

  child(fields: LogFields): Logger {
    return this.source.ctx.logger.child(this.with(fields));
  }

  /** The connection's fields first, as a child logger's bound fields would be. */
  private with(fields?: LogFields): LogFields {
    const own = this.source.logFields();
    return fields ? { ...own, ...fields } : own;
  }
}
