/**
 * A copy of `bytes` that owns its memory. Not `bytes.slice()`: on a Node Buffer (what Bun's
 * sockets hand over) `slice` is a view of the same memory, so a kept payload would keep the whole
 * read chunk alive, and a reused read buffer would change it.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
