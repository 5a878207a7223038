/** PacketFramer (src/protocol/framer.ts): whole packets out of a byte stream cut anywhere. */
import { describe, expect, test } from "bun:test";
import { PacketFramer } from "../../src/protocol/framer.ts";
import { ProtocolError } from "../../src/protocol/reason-codes.ts";
import { rawPublishBytes } from "../helpers/raw.ts";

function frames(framer: PacketFramer, pieces: Uint8Array[]): Buffer[] {
  const out: Buffer[] = [];
  for (const piece of pieces) framer.push(piece, (frame) => out.push(Buffer.from(frame)));
  return out;
}

/** Cut `stream` into pieces of the given sizes (cycled). */
function cut(stream: Buffer, sizes: number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let at = 0, i = 0; at < stream.length; i++) {
    const size = sizes[i % sizes.length];
    pieces.push(stream.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

const packets = [
  Buffer.from([0xc0, 0x00]), // PINGREQ
  rawPublishBytes(Buffer.from("a/b"), Buffer.alloc(200, 1)), // 2-byte Remaining Length
  rawPublishBytes(Buffer.from("c"), Buffer.alloc(20_000, 2)), // 3-byte Remaining Length
  Buffer.from([0xe0, 0x00]), // DISCONNECT
];
const stream = Buffer.concat(packets);

describe("PacketFramer", () => {
  test("the same packets come out however the stream is cut (1 byte, odd sizes, all at once)", () => {
    for (const sizes of [[1], [2, 3, 5, 7], [1, 1, 1, 4096], [stream.length]]) {
      expect(frames(new PacketFramer(1 << 20), cut(stream, sizes))).toEqual(packets);
    }
  });

  test("a 1 MiB packet arriving 256 bytes at a time comes out whole, once", () => {
    const big = rawPublishBytes(Buffer.from("big"), Buffer.alloc((1 << 20) - 12, 7));
    const framer = new PacketFramer(1 << 20);
    const out = frames(framer, cut(big, [256]));
    expect(out.length).toBe(1);
    expect(out[0].equals(big)).toBe(true);
    expect(framer.bufferedBytes).toBe(0);
  });

  test("bytes are copied as they arrive: an adapter reusing its read buffer does not corrupt a waiting packet", () => {
    const framer = new PacketFramer(1 << 20);
    const reused = Buffer.alloc(150);
    const target = packets[1];
    const out: Buffer[] = [];
    for (let at = 0; at < target.length; at += 150) {
      const n = target.copy(reused, 0, at, at + 150);
      framer.push(reused.subarray(0, n), (frame) => out.push(Buffer.from(frame)));
      reused.fill(0xee); // the adapter's next read overwrites it
    }
    expect(out).toEqual([target]);
  });

  test("a header announcing more than maxPacketSize is refused at once, before any of the body", () => {
    const framer = new PacketFramer(1024);
    const header = Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]); // 268,435,455 bytes announced
    expect(() => framer.push(header.subarray(0, 2), () => {})).not.toThrow();
    expect(() => framer.push(header.subarray(2), () => {})).toThrow(ProtocolError);
  });

  test("what waits is only the incomplete packet", () => {
    const framer = new PacketFramer(1 << 20);
    const out = frames(framer, [Buffer.concat([packets[0], packets[1].subarray(0, 50)])]);
    expect(out).toEqual([packets[0]]);
    expect(framer.bufferedBytes).toBe(50);
  });
});
