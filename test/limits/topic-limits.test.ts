/** checkTopicLimits and checkFilterLimits (src/core/topic-limits.ts): levels and UTF-8 bytes, decided cheaply. */
import { describe, expect, test } from "bun:test";
import { checkFilterLimits, checkTopicLimits } from "../../src/core/topic-limits.ts";

describe("checkTopicLimits", () => {
  const limits = { maxTopicLevels: 3, maxTopicLength: 12 };

  test("levels: up to the limit pass, one more fails; empty levels count", () => {
    expect(checkTopicLimits("a/b/c", limits)).toBeNull();
    expect(checkTopicLimits("a/b/c/d", limits)).toBe("levels");
    expect(checkTopicLimits("//", limits)).toBeNull();
    expect(checkTopicLimits("///", limits)).toBe("levels");
    expect(checkTopicLimits("/", { maxTopicLevels: 1, maxTopicLength: 10 })).toBe("levels");
  });

  test("length is in UTF-8 bytes, not characters", () => {
    expect(checkTopicLimits("abcdefghijkl", limits)).toBeNull(); // 12 bytes
    expect(checkTopicLimits("abcdefghijklm", limits)).toBe("length");
    expect(checkTopicLimits("ééééé", { maxTopicLevels: 9, maxTopicLength: 10 })).toBeNull(); // 10 bytes
    expect(checkTopicLimits("éééééé", { maxTopicLevels: 9, maxTopicLength: 11 })).toBe("length"); // 12 bytes
    expect(checkTopicLimits("€€€€", { maxTopicLevels: 9, maxTopicLength: 11 })).toBe("length"); // 12 bytes
    expect(checkTopicLimits("😀😀😀", { maxTopicLevels: 9, maxTopicLength: 12 })).toBeNull(); // 3 x 4 bytes
    expect(checkTopicLimits("😀😀😀", { maxTopicLevels: 9, maxTopicLength: 11 })).toBe("length");
  });

  test("length is checked before levels", () => {
    expect(checkTopicLimits("a/b/c/d/e/f/g", limits)).toBe("length");
  });
});

describe("checkFilterLimits", () => {
  const limits = { maxTopicLevels: 3, maxTopicLength: 12 };
  const share = (shareName: string, filter: string) => ({ shareName, filter });

  test("a plain filter is a topic", () => {
    expect(checkFilterLimits("a/+/#", null, limits)).toBeNull();
    expect(checkFilterLimits("a/+/c/#", null, limits)).toBe("levels");
  });

  test("$share/{name}/{filter}: levels and length count on the filter part", () => {
    expect(checkFilterLimits("$share/g/a/b/c", share("g", "a/b/c"), limits)).toBeNull();
    expect(checkFilterLimits("$share/g/a/b/c/d", share("g", "a/b/c/d"), limits)).toBe("levels");
    expect(checkFilterLimits("$share/g/abcdefghijklm", share("g", "abcdefghijklm"), limits)).toBe("length");
  });

  test("the share name may be no longer than maxTopicLength either", () => {
    expect(checkFilterLimits("$share/abcdefghijkl/x", share("abcdefghijkl", "x"), limits)).toBeNull();
    expect(checkFilterLimits("$share/abcdefghijklm/x", share("abcdefghijklm", "x"), limits)).toBe("length");
  });
});
