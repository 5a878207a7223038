/**
 * What only some connections need: enhanced authentication, topic aliases from the client, acks
 * waiting for the store, congestion and drop episodes, the refusal log bound, the hooks' view of
 * the client. One object a connection makes on first use (Connection.occasional) instead of eleven
 * fields on every connection (issue 14: memory per idle connection), and the parts in it are made
 * on first use too.
 */
import type { ClientInfo } from "../model/message.ts";
import { LogThrottle } from "../util/log-throttle.ts";
import type { Connection } from "./connection.ts";
import { DropEpisode } from "./drop-episode.ts";
import { OrderedAcks } from "./ordered-acks.ts";
import type { WriteProgress } from "./write-progress.ts";

export class Occasional {
  /** Enhanced authentication (v5): the method CONNECT named and the step the next AUTH is at. */
  authMethod?: string;
  authStep = 0;
  /** Completes CONNECT once enhanced authentication succeeds. */
  pendingConnect?: (authData?: Uint8Array) => void | Promise<void>;
  /** The hooks' view of the client (see Connection.info). */
  info: ClientInfo | null = null;
  /** While congested: is it still reading? (write-progress.ts) */
  progress: WriteProgress | null = null;
  writesWhileCongested = 0;
  private aliases: Map<number, string> | null = null;
  private waitingAcks: OrderedAcks | null = null;
  private notReading: DropEpisode | null = null;
  private queueFull: DropEpisode | null = null;
  private refusalLog: LogThrottle | null = null;

  constructor(private readonly conn: Connection) {}

  /** Inbound topic aliases (v5): alias -> topic, set by the client. */
  get topicAliases(): Map<number, string> {
    return (this.aliases ??= new Map());
  }

  /** Refusals of single packets (denied publishes, refused filters) share this bound on log lines. */
  get refusals(): LogThrottle {
    return (this.refusalLog ??= new LogThrottle(this.conn.ctx.clock));
  }

  /** QoS 0 messages dropped because the client stopped reading what it was sent (Connection.stalled). */
  get notReadingDrops(): DropEpisode {
    return (this.notReading ??= new DropEpisode(
      this.conn,
      "notReading",
      "client not reading: dropping QoS 0 messages until it catches up",
      "client reading again",
    ));
  }

  /** QoS 1/2 messages dropped because its session queue is full (maxQueuedMessages, maxQueuedBytes). */
  get fullQueueDrops(): DropEpisode {
    return (this.queueFull ??= new DropEpisode(
      this.conn,
      "queueFull",
      "session queue full: dropping QoS 1/2 messages for this client",
      "session queue drained",
    ));
  }

  /** Acks waiting for the store, in order (ordered-acks.ts). */
  get acks(): OrderedAcks {
    return (this.waitingAcks ??= new OrderedAcks(this.conn));
  }

  get acksWaiting(): number {
    return this.waitingAcks?.count ?? 0;
  }

  /** The client reads again: a not-reading episode, if one ran, ends. */
  readingAgain(): void {
    this.notReading?.end();
  }

  /** The session queue is empty: a full-queue episode, if one ran, ends. */
  queueDrained(): void {
    this.queueFull?.end();
  }
}
