/**
 * Ordered acknowledgements: "store first, then ack". A packet that acknowledges stored state
 * (PUBACK, PUBREC, PUBCOMP, SUBACK) or a write-ahead outbound PUBLISH leaves only once the store
 * commit it depends on resolved, and after everything already waiting, so acks keep the order
 * of the packets they answer [v5 MQTT-4.6.0-2]. If the store fails, a v5 client gets the same ack
 * with a failure reason code; a client that cannot be told (3.1.1, or an outbound PUBLISH) is
 * disconnected so the exchange restarts after reconnecting.
 */
import type { Logger } from "../ports/logger.ts";
import type { Packet } from "../protocol/codec.ts";
import { ReasonCode } from "../protocol/reason-codes.ts";
import { StoreFullError } from "../store/errors.ts";
import { causeText, errorText } from "../util/errors.ts";

export interface AckSink {
  readonly version: number;
  readonly logger: Logger;
  send(packet: Packet): void;
  writeBytes(bytes: Uint8Array): void;
  readonly closed: boolean;
  disconnect(reasonCode: number, reasonString?: string): void;
  /** The number of waiting acks changed (reading pauses while too many wait). */
  acksWaitingChanged(): void;
}

export class OrderedAcks {
  /** Acks waiting for a store commit, chained so they leave in order. */
  private tail: Promise<void> | null = null;
  private waiting = 0;

  constructor(private readonly sink: AckSink) {}

  /** How many acks wait for the store now. */
  get count(): number {
    return this.waiting;
  }

  /**
   * Send `ack` (a packet or encoded bytes) once `durable` resolves, after anything already
   * waiting; `refusal` builds the v5 negative ack used when the store fails.
   */
  send(ack: Packet | Uint8Array, durable: Promise<void> | null, refusal?: (reasonCode: number) => Packet): void {
    const { sink } = this;
    const out = () => {
      if (ack instanceof Uint8Array) {
        if (!sink.closed) sink.writeBytes(ack);
      } else sink.send(ack);
    };
    if (!durable && this.waiting === 0) return out();
    this.waiting++;
    sink.acksWaitingChanged();
    const previous = this.tail ?? Promise.resolve();
    this.tail = previous
      .then(() => durable ?? undefined)
      .then(
        () => out(),
        (e: unknown) => this.storeFailed(e, refusal),
      )
      .finally(() => {
        if (--this.waiting === 0) this.tail = null;
        sink.acksWaitingChanged();
      });
  }

  private storeFailed(e: unknown, refusal?: (reasonCode: number) => Packet): void {
    const { sink } = this;
    const full = e instanceof StoreFullError;
    sink.logger.error("store write failed: message not acknowledged", { error: errorText(e), cause: causeText(e) });
    if (sink.version === 5 && refusal) sink.send(refusal(full ? ReasonCode.QuotaExceeded : ReasonCode.UnspecifiedError));
    else sink.disconnect(ReasonCode.UnspecifiedError, "store failure");
  }
}
