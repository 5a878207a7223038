/**
 * Splits a byte stream into whole MQTT packets (fixed header + Remaining Length + body).
 * Framing here, before mqtt-packet parses anything, is what lets the broker refuse an oversized
 * packet from its header alone (never buffering it) and see each packet's raw bytes.
 */
import { copyBytes } from "../util/bytes.ts";
import { ProtocolError, ReasonCode } from "./reason-codes.ts";

export class PacketFramer {
  /**
   * Bytes of a packet not complete yet, kept as the pieces they came in and joined once the
   * packet is whole: joining on every read made a 1 MiB packet arriving 256 bytes at a time cost
   * about a second of CPU (quadratic), which a few slow senders could use to keep a core busy.
   * Null between packets: an idle connection's framer holds no array (issue 14).
   */
  private pieces: Uint8Array[] | null = null;
  private pendingBytes = 0;
  /** Size of the packet being collected, once its fixed header is complete (else 0). */
  private needed = 0;

  constructor(public maxPacketSize: number) {}

  /** Bytes waiting for the rest of their packet (bounded by maxPacketSize). */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /** Feed bytes; calls `onFrame` for each complete packet. Throws ProtocolError on bad framing. */
  push(bytes: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    if (this.pendingBytes === 0) return this.scan(bytes, onFrame);
    this.pieces!.push(copyBytes(bytes)); // the adapter may reuse its read buffer
    this.pendingBytes += bytes.length;
    // Until the header is complete (a few bytes) or the packet is whole, there is nothing to cut.
    if (this.needed !== 0 && this.pendingBytes < this.needed) return;
    const data = new Uint8Array(this.pendingBytes);
    let at = 0;
    for (const piece of this.pieces!) {
      data.set(piece, at);
      at += piece.length;
    }
    this.pieces = null;
    this.pendingBytes = 0;
    this.needed = 0;
    this.scan(data, onFrame);
  }

  /** Cut whole packets off `data`; keep (a copy of) an incomplete tail for the next push. */
  private scan(data: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    let offset = 0;
    while (offset < data.length) {
      const size = this.frameSize(data, offset);
      if (size === 0 || offset + size > data.length) {
        this.pieces = [copyBytes(data.subarray(offset))];
        this.pendingBytes = data.length - offset;
        this.needed = size;
        return;
      }
      onFrame(data.subarray(offset, offset + size));
      offset += size;
    }
  }

  /** Size of the packet starting at `offset`, or 0 when its header is not complete yet. */
  private frameSize(data: Uint8Array, offset: number): number {
    let remaining = 0;
    let multiplier = 1;
    for (let i = 1; i <= 4; i++) {
      if (offset + i >= data.length) return 0;
      const byte = data[offset + i];
      remaining += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        const size = 1 + i + remaining;
        if (size > this.maxPacketSize) {
          throw new ProtocolError(
            ReasonCode.PacketTooLarge,
            `packet of ${size} bytes exceeds the maximum packet size ${this.maxPacketSize}`,
          );
        }
        return size;
      }
      multiplier *= 128;
    }
    throw new ProtocolError(ReasonCode.MalformedPacket, "malformed Remaining Length (more than 4 bytes)");
  }
}
