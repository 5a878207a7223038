/** Address and CIDR validation for address bans. */
import { expect, test } from "bun:test";
import { addressMatches, canonicalAddressBan } from "../../src/security/address.ts";

test("valid addresses and blocks get one canonical spelling", () => {
  const cases: Array<[string, string]> = [
    ["10.0.0.1", "10.0.0.1"],
    ["10.0.0.1/32", "10.0.0.1"],
    ["10.1.2.3/8", "10.0.0.0/8"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["192.168.1.0/24", "192.168.1.0/24"],
    ["::1", "::1"],
    ["::", "::"],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:1:2:3:4:5:6/32", "2001:db8::/32"],
    ["::ffff:10.0.0.1", "10.0.0.1"],
    ["::ffff:10.0.0.0/104", "10.0.0.0/8"],
    ["fe80::1%eth0", "fe80::1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"],
    ["::/0", "::/0"],
  ];
  for (const [input, canonical] of cases) expect([input, canonicalAddressBan(input)]).toEqual([input, canonical]);
});

test("invalid addresses are refused with a reason", () => {
  for (
    const bad of [
      "",
      "10.0.0",
      "10.0.0.256",
      "10.0.0.01",
      "10.0.0.1/33",
      "10.0.0.1/",
      "10.0.0.1/8/8",
      "::1/129",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "12345::",
      "g::1",
      "example.com",
      "1:2:3:4:5:6:7",
      "10.0.0.1/-1",
    ]
  ) {
    const result = canonicalAddressBan(bad);
    expect([bad, typeof result]).toEqual([bad, "object"]);
  }
});

test("addressMatches: exact, CIDR, IPv6 and IPv4-mapped remotes", () => {
  expect(addressMatches("10.0.0.0/8", "10.20.30.40")).toBe(true);
  expect(addressMatches("10.0.0.0/8", "11.0.0.1")).toBe(false);
  expect(addressMatches("10.0.0.1", "10.0.0.1")).toBe(true);
  expect(addressMatches("10.0.0.1", "10.0.0.2")).toBe(false);
  expect(addressMatches("10.0.0.0/8", "::ffff:10.1.1.1")).toBe(true);
  expect(addressMatches("2001:db8::/32", "2001:db8:ffff::1")).toBe(true);
  expect(addressMatches("2001:db8::/32", "2001:db9::1")).toBe(false);
  expect(addressMatches("0.0.0.0/0", "1.2.3.4")).toBe(true);
  expect(addressMatches("::ffff:10.0.0.1", "10.0.0.1")).toBe(true);
  expect(addressMatches("::ffff:10.0.0.1", "::ffff:10.0.0.1")).toBe(true);
  expect(addressMatches("10.0.0.0/8", "2001:db8::1")).toBe(false);
  expect(addressMatches("not an address", "10.0.0.1")).toBe(false);
  expect(addressMatches("10.0.0.0/8", "garbage")).toBe(false);
});
