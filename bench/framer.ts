/**
 * Cuts an MQTT byte stream into packets without decoding them, for the benchmarks' raw clients and
 * servers (mqtt.js would cost more CPU per message than the broker under test).
 */

/**
 * Calls `onPacket(type, bytes, bodyStart, end)` for every complete packet in the stream
 * (`bytes.subarray(start, end)` spans it from its fixed header), keeping a partial packet for the
 * next chunk.
 */
export function framer(onPacket: (type: number, buf: Uint8Array, body: number, end: number, start: number) => void) {
  let rest: Uint8Array | null = null;
  return (chunk: Uint8Array) => {
    let buf = chunk;
    if (rest) {
      buf = new Uint8Array(rest.length + chunk.length);
      buf.set(rest);
      buf.set(chunk, rest.length);
      rest = null;
    }
    let i = 0;
    while (i < buf.length) {
      let len = 0;
      let mul = 1;
      let j = i + 1;
      let complete = false;
      while (j < buf.length && j < i + 5) {
        const b = buf[j++];
        len += (b & 127) * mul;
        mul *= 128;
        if ((b & 128) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || j + len > buf.length) break;
      onPacket(buf[i] >> 4, buf, j, j + len, i);
      i = j + len;
    }
    if (i < buf.length) rest = buf.slice(i);
  };
}
