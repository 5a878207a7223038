/**
 * Messages dropped for one client in one episode (it stopped reading, its session queue is full):
 * each drop is counted ($SYS publish/messages/dropped), the first gets a warning, and the end of
 * the episode an info line with how many went. One line per message would flood the log.
 */
import type { Connection } from "./connection.ts";
import { countDrop, type DropReason } from "./context.ts";

export class DropEpisode {
  private dropped = 0;

  constructor(
    private readonly conn: Connection,
    private readonly reason: DropReason,
    private readonly started: string,
    private readonly ended: string,
  ) {}

  drop(fields: Record<string, unknown> = {}): void {
    const { ctx, logger, clientId } = this.conn;
    countDrop(ctx.counters, this.reason);
    if (this.dropped++ === 0) ctx.connectionLog.warn(logger, this.started, { clientId, ...fields });
  }

  end(): void {
    if (this.dropped === 0) return;
    const { ctx, logger, clientId } = this.conn;
    ctx.connectionLog.info(logger, this.ended, { clientId, dropped: this.dropped });
    this.dropped = 0;
  }
}
