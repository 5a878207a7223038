/** checkTopicLimits (src/core/topic-limits.ts): levels and UTF-8 bytes, decided cheaply. */
import { describe, expect, test } from "bun:test";
import { checkTopicLimits } from "../../src/core/topic-limits.ts";

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
