/**
 * Is a congested client (its send buffer above the high-water mark) still reading, or has it
 * stopped? QoS 0 messages are dropped only once it stopped (issue 14): its socket took nothing for
 * STALL_MS, or its backlog is above STALLED_BACKLOG_PACKETS packets of the largest size the broker
 * accepts. A client in the middle of reading a large packet is congested for a moment but reading.
 * Transports without `sentBytes` are judged by time alone.
 */
import type { Clock } from "../ports/clock.ts";
import type { Transport } from "../ports/transport.ts";

const STALL_MS = 2_000;
const STALLED_BACKLOG_PACKETS = 8;

export class WriteProgress {
  /** When the socket last took bytes (or congestion began), and its count of bytes taken then. */
  private at = 0;
  private sent = 0;

  constructor(private readonly transport: Transport, private readonly clock: Clock) {}

  /** Congestion began: progress is measured from now. */
  start(): void {
    this.at = this.clock.now();
    this.sent = this.transport.sentBytes?.() ?? 0;
  }

  /** Did the socket take bytes within STALL_MS? */
  readingLately(): boolean {
    const now = this.clock.now();
    const sent = this.transport.sentBytes?.();
    if (sent !== undefined && sent !== this.sent) {
      this.sent = sent;
      this.at = now;
    }
    return now - this.at < STALL_MS;
  }

  /** Stopped: nothing taken for STALL_MS, or a backlog of several maximum-size packets. */
  stalled(maxPacketSize: number): boolean {
    if (!this.readingLately()) return true;
    return (this.transport.backlogBytes?.() ?? 0) > STALLED_BACKLOG_PACKETS * maxPacketSize;
  }
}
