/**
 * IPv4/IPv6 addresses and CIDR blocks for address bans. `parseAddressBan` validates what an
 * operator types and returns one canonical spelling (lower-case, RFC 5952 compressed IPv6, host
 * bits cleared, "/32" and "/128" dropped), so `ban lift` finds what `ban add` stored whatever the
 * spelling. `addressMatches` tells whether a client's remote address falls under a stored ban;
 * IPv4-mapped IPv6 addresses (::ffff:10.0.0.1, as dual-stack sockets report them) count as IPv4.
 */

const MAPPED_V4 = 0xffffn << 32n;

interface Parsed {
  version: 4 | 6;
  /** The address as a 32- or 128-bit number. */
  bits: bigint;
}

export interface AddressBlock extends Parsed {
  prefix: number;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let head = text;
  let tail: bigint[] = [];
  // An embedded IPv4 address takes the last two groups (::ffff:10.0.0.1).
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined || lastColon < 0) return undefined;
    tail = [v4 >> 16n, v4 & 0xffffn];
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(":") && !head.endsWith("::")) head = head.slice(0, -1);
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(halves[0]);
  const right = halves.length === 2 ? groups(halves[1]) : [];
  if ([...left, ...right].some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const given = left.length + right.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
  const all = [
    ...left.map((g) => BigInt(parseInt(g, 16))),
    ...Array<bigint>(8 - given).fill(0n),
    ...right.map((g) => BigInt(parseInt(g, 16))),
    ...tail,
  ];
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

function parseAddress(text: string): Parsed | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { version: 4, bits: v4 };
  const v6 = parseIpv6(text.replace(/%.*$/, "")); // zone ids (fe80::1%eth0) do not matter for a ban
  return v6 === undefined ? undefined : { version: 6, bits: v6 };
}

const width = (version: 4 | 6) => (version === 4 ? 32 : 128);
const mask = (version: 4 | 6, prefix: number) => {
  const w = BigInt(width(version));
  return ((1n << w) - 1n) ^ ((1n << (w - BigInt(prefix))) - 1n);
};

/** An address or CIDR block (`10.0.0.0/8`, `2001:db8::/32`, `::1`), or a message saying what is wrong. */
export function parseAddressBlock(text: string): AddressBlock | { problem: string } {
  const [address, prefixText, extra] = text.trim().split("/");
  const parsed = address === undefined ? undefined : parseAddress(address);
  if (!parsed || extra !== undefined) {
    return {
      problem: `${JSON.stringify(text)} is not an IPv4 or IPv6 address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)`,
    };
  }
  let prefix = width(parsed.version);
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > prefix) {
      return { problem: `${JSON.stringify(text)}: the prefix length must be 0 to ${prefix}` };
    }
    prefix = Number(prefixText);
  }
  // An IPv4-mapped block is the IPv4 block: remotes are compared the same way.
  if (parsed.version === 6 && prefix >= 96 && parsed.bits >> 32n === MAPPED_V4 >> 32n) {
    return { version: 4, bits: parsed.bits & 0xffffffffn & mask(4, prefix - 96), prefix: prefix - 96 };
  }
  return { version: parsed.version, bits: parsed.bits & mask(parsed.version, prefix), prefix };
}

function formatIpv6(bits: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((bits >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: the longest run (first if tied) of two or more zero groups becomes "::".
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLength).join(":")}`;
}

/** The canonical spelling of a block: what the store keeps as a ban's value. */
export function formatAddressBlock(block: AddressBlock): string {
  const address = block.version === 4
    ? [24n, 16n, 8n, 0n].map((s) => String((block.bits >> s) & 0xffn)).join(".")
    : formatIpv6(block.bits);
  return block.prefix === width(block.version) ? address : `${address}/${block.prefix}`;
}

/** Validates and canonicalizes an address ban's value. */
export function canonicalAddressBan(text: string): string | { problem: string } {
  const block = parseAddressBlock(text);
  return "problem" in block ? block : formatAddressBlock(block);
}

/** True when the remote address `remote` is inside `block`; false when it is not an IP address. */
export function blockContains(block: AddressBlock, remote: string): boolean {
  let address = parseAddress(remote.trim());
  if (!address) return false;
  if (address.version === 6 && address.bits >> 32n === MAPPED_V4 >> 32n) {
    address = { version: 4, bits: address.bits & 0xffffffffn };
  }
  if (address.version !== block.version) return false;
  return (address.bits & mask(block.version, block.prefix)) === block.bits;
}

/** True when the remote address `remote` is inside `ban` (an address or CIDR block); false when either is invalid. */
export function addressMatches(ban: string, remote: string): boolean {
  const block = parseAddressBlock(ban);
  return !("problem" in block) && blockContains(block, remote);
}
