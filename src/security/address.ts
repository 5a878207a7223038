/**
 * IPv4/IPv6 addresses and CIDR blocks for address bans. Addresses become 128-bit BigInts (IPv4 as
 * IPv4-mapped IPv6, so `::ffff:10.0.0.1` from a dual-stack socket matches a ban on `10.0.0.0/8`).
 */

export interface AddressBlock {
  base: bigint;
  /** Prefix length in the 128-bit space. */
  bits: number;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(Number(part));
  }
  return value;
}

const MAPPED = 0xffffn << 32n;

function parseIpv6(text: string): bigint | undefined {
  let head = text;
  let tail32: bigint | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    tail32 = parseIpv4(text.slice(lastColon + 1));
    if (tail32 === undefined) return undefined;
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(halves[0]);
  const right = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...left, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...right];
  let value = 0n;
  for (const group of all) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  if (tail32 !== undefined) value = (value & ~0xffffffffn) | tail32;
  return value;
}

/** The address as a 128-bit number, or undefined when it is not an IP address. */
export function parseAddress(text: string): bigint | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return MAPPED | v4;
  const v6 = parseIpv6(text.replace(/%.*$/, "")); // drop a zone id (fe80::1%eth0)
  return v6;
}

/** `10.0.0.0/8`, `2001:db8::/32` or a single address; undefined when invalid. */
export function parseBlock(text: string): AddressBlock | undefined {
  const [address, prefix, extra] = text.split("/");
  if (extra !== undefined) return undefined;
  const base = parseAddress(address);
  if (base === undefined) return undefined;
  const isV4 = parseIpv4(address) !== undefined;
  const max = isV4 ? 32 : 128;
  let bits = max;
  if (prefix !== undefined) {
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return undefined;
    bits = Number(prefix);
  }
  const bits128 = isV4 ? bits + 96 : bits;
  const mask = bits128 === 0 ? 0n : ((1n << BigInt(bits128)) - 1n) << BigInt(128 - bits128);
  return { base: base & mask, bits: bits128 };
}

export function blockContains(block: AddressBlock, address: bigint): boolean {
  const shift = BigInt(128 - block.bits);
  return block.bits === 0 || address >> shift === block.base >> shift;
}
