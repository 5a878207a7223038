/** Password hashing: argon2id round trips, Bun.password compatibility, Mosquitto $7$ and $6$ hashes. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ARGON2_PARAMS,
  constantTimeEqual,
  hashPassword,
  hashScheme,
  useNativeArgon2id,
  verifyPassword,
} from "../../src/security/passwords.ts";
import { bunArgon2id } from "../../adapters/bun/argon2.ts";

/** Hashes made by the real mosquitto_passwd (`-H sha512-pbkdf2`, the default, or `-H sha512`). */
function mosquittoHash(password: string, algorithm: "sha512-pbkdf2" | "sha512" = "sha512-pbkdf2"): string {
  const dir = mkdtempSync(join(tmpdir(), "gannet-passwd-"));
  try {
    const file = join(dir, "passwd");
    const result = spawnSync("mosquitto_passwd", ["-H", algorithm, "-c", "-b", file, "user", password]);
    if (result.status !== 0) throw new Error(`mosquitto_passwd failed: ${result.stderr}`);
    return readFileSync(file, "utf8").trim().split(":").slice(1).join(":");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("argon2id", () => {
  test("hashPassword makes a PHC string with the OWASP parameters and a fresh salt", async () => {
    const a = await hashPassword("correct horse");
    const b = await hashPassword("correct horse");
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
    expect(ARGON2_PARAMS.memorySize).toBe(19_456);
  });

  test("verify: right password ok, wrong password not, current parameters need no rehash", async () => {
    const hash = await hashPassword("correct horse");
    expect(await verifyPassword("correct horse", hash)).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword(new TextEncoder().encode("correct horse"), hash)).toEqual({
      ok: true,
      needsRehash: false,
    });
    expect(await verifyPassword("correct horsE", hash)).toEqual({ ok: false, needsRehash: false });
    expect(await verifyPassword("", hash)).toEqual({ ok: false, needsRehash: false });
  });

  test("binary passwords (MQTT passwords are bytes) round trip", async () => {
    const password = new Uint8Array([0, 255, 1, 254, 0x80]);
    const hash = await hashPassword(password);
    expect((await verifyPassword(password, hash)).ok).toBe(true);
    expect((await verifyPassword(new Uint8Array([0, 255, 1, 254]), hash)).ok).toBe(false);
  });

  test("Bun.password argon2id hashes verify, and need a rehash (other parameters)", async () => {
    const hash = await Bun.password.hash("from bun", { algorithm: "argon2id" });
    expect(await verifyPassword("from bun", hash)).toEqual({ ok: true, needsRehash: true });
    expect((await verifyPassword("not from bun", hash)).ok).toBe(false);
    const same = await Bun.password.hash("p", { algorithm: "argon2id", memoryCost: 19_456, timeCost: 2 });
    expect(await verifyPassword("p", same)).toEqual({ ok: true, needsRehash: false });
  });

  test("Bun.password verifies Gannet's hashes", async () => {
    const hash = await hashPassword("both ways");
    expect(await Bun.password.verify("both ways", hash)).toBe(true);
  });
});

describe("argon2id through the runtime (the Bun adapter installs Bun.password)", () => {
  let fromHashWasm = "";
  beforeAll(async () => {
    fromHashWasm = await hashPassword("made by hash-wasm");
    useNativeArgon2id(bunArgon2id);
  });
  afterAll(() => useNativeArgon2id(undefined));

  test("hashPassword makes a PHC string with the current parameters: no rehash at the next login", async () => {
    const hash = await hashPassword("correct horse");
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22,}\$[A-Za-z0-9+/]{43}$/);
    expect(hash).not.toBe(await hashPassword("correct horse"));
    expect(await verifyPassword("correct horse", hash)).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword("correct horsE", hash)).toEqual({ ok: false, needsRehash: false });
  });

  test("binary passwords round trip", async () => {
    const password = new Uint8Array([0, 255, 1, 254, 0x80]);
    const hash = await hashPassword(password);
    expect((await verifyPassword(password, hash)).ok).toBe(true);
    expect((await verifyPassword(new Uint8Array([0, 255, 1, 254]), hash)).ok).toBe(false);
  });

  test("hashes made by hash-wasm verify, and its hashes verify with hash-wasm", async () => {
    expect(await verifyPassword("made by hash-wasm", fromHashWasm)).toEqual({ ok: true, needsRehash: false });
    expect((await verifyPassword("not made by hash-wasm", fromHashWasm)).ok).toBe(false);
    const hash = await hashPassword("made by Bun");
    useNativeArgon2id(undefined);
    try {
      expect(await verifyPassword("made by Bun", hash)).toEqual({ ok: true, needsRehash: false });
    } finally {
      useNativeArgon2id(bunArgon2id);
    }
  });

  test("a malformed argon2id hash never verifies", async () => {
    for (const hash of ["$argon2id$", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$", "$argon2id$v=19$m=x,t=2,p=1$c2FsdHNhbHQ$aGFzaA"]) {
      expect((await verifyPassword("x", hash)).ok).toBe(false);
    }
  });

  test("parameters Bun.password cannot make are refused, not silently changed", () => {
    expect(() => bunArgon2id.hash(new Uint8Array([1]), { ...ARGON2_PARAMS, parallelism: 2 } as unknown as typeof ARGON2_PARAMS))
      .toThrow("2 lanes");
  });
});

describe("Mosquitto hashes", () => {
  test("$7$ (mosquitto_passwd, PBKDF2-SHA512) verifies and needs a rehash", async () => {
    const hash = mosquittoHash("m0squ1tto pw");
    expect(hash).toMatch(/^\$7\$101\$/);
    expect(hashScheme(hash)).toBe("mosquitto-pbkdf2");
    expect(await verifyPassword("m0squ1tto pw", hash)).toEqual({ ok: true, needsRehash: true });
    expect((await verifyPassword("m0squ1tto pW", hash)).ok).toBe(false);
  });

  test("$6$ (mosquitto_passwd -H sha512, Mosquitto 1.x) verifies and needs a rehash", async () => {
    const hash = mosquittoHash("old style", "sha512");
    expect(hash).toMatch(/^\$6\$/);
    expect(await verifyPassword("old style", hash)).toEqual({ ok: true, needsRehash: true });
    expect((await verifyPassword("old styl", hash)).ok).toBe(false);
  });

  test("UTF-8 passwords match Mosquitto's bytes", async () => {
    const hash = mosquittoHash("pässwörd ✓");
    expect((await verifyPassword("pässwörd ✓", hash)).ok).toBe(true);
  });
});

describe("malformed and unknown hashes never verify", () => {
  for (
    const hash of [
      "",
      "plain text password",
      "$7$101$!!!$abc",
      "$7$0$c2FsdA==$aGFzaA==",
      "$6$c2FsdA==$aGFzaA==",
      "$argon2id$v=19$m=19456,t=2,p=1$bad",
      "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
      "$2b$10$abcdefghijklmnopqrstuv",
    ]
  ) {
    test(JSON.stringify(hash), async () => {
      expect(await verifyPassword("plain text password", hash)).toEqual({ ok: false, needsRehash: true });
    });
  }
});

test("constantTimeEqual", () => {
  expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
  expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
  expect(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 2]))).toBe(false);
});
