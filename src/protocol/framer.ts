/**
 * Splits a byte stream into whole MQTT packets (fixed header + Remaining Length + body).
 * Framing here, before mqtt-packet parses anything, is what lets the broker refuse an oversized
 * packet from its header alone (never buffering it) and see each packet's raw bytes.
 */
import { ProtocolError, ReasonCode } from "./reason-codes.ts";

export class PacketFramer {
  private pending: Uint8Array | null = null;

  constructor(public maxPacketSize: number) {}

  /** Bytes waiting for the rest of their packet (bounded by maxPacketSize). */
  get bufferedBytes(): number {
    return this.pending?.length ?? 0;
  }

  /** Feed bytes; calls `onFrame` for each complete packet. Throws ProtocolError on bad framing. */
  push(bytes: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    let data = bytes;
    if (this.pending) {
      data = new Uint8Array(this.pending.length + bytes.length);
      data.set(this.pending);
      data.set(bytes, this.pending.length);
      this.pending = null;
    }
    let offset = 0;
    while (offset < data.length) {
      const size = this.frameSize(data, offset);
      if (size === 0 || offset + size > data.length) break;
      onFrame(data.subarray(offset, offset + size));
      offset += size;
    }
    // Keep a copy of the tail: the adapter may reuse its read buffer.
    if (offset < data.length) this.pending = data.slice(offset);
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
