/**
 * Reads fields of a framed packet from its raw bytes (after the fixed header): for the checks
 * mqtt-packet cannot make on decoded values (UTF-8 validity, property identifiers).
 */
export class RawReader {
  offset: number;
  constructor(private readonly frame: Uint8Array) {
    let i = 1;
    while (frame[i] & 0x80) i++;
    this.offset = i + 1;
  }
  peek(): number {
    return this.frame[this.offset];
  }
  skip(n: number): this {
    this.offset += n;
    return this;
  }
  u16(): number {
    const v = (this.frame[this.offset] << 8) | this.frame[this.offset + 1];
    this.offset += 2;
    return v;
  }
  bytes(): Uint8Array {
    const length = this.u16();
    const out = this.frame.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }
  varint(): number {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 4; i++) {
      const byte = this.frame[this.offset++];
      value += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) break;
      multiplier *= 128;
    }
    return value;
  }
  skipProperties(): this {
    return this.skip(this.varint());
  }
  get done(): boolean {
    return this.offset >= this.frame.length;
  }
}
