/**
 * Bun's own argon2id (Bun.password) for src/security/passwords.ts: the same PHC strings as
 * hash-wasm's, without 19 MiB of WebAssembly memory that stays resident after the first hash (the
 * first start's admin password, a login): bench/executable-rss.ts.
 */
import type { NativeArgon2id } from "../../src/mod.ts";

export const bunArgon2id: NativeArgon2id = {
  hash: (password, params) => {
    // Bun.password always makes 1 lane and 32-byte hashes: other parameters would be rehashed at every login.
    if (params.parallelism !== 1 || params.hashLength !== 32) {
      throw new Error(`Bun.password cannot hash argon2id with ${params.parallelism} lanes and ${params.hashLength}-byte hashes`);
    }
    return Bun.password.hash(password, { algorithm: "argon2id", memoryCost: params.memorySize, timeCost: params.iterations });
  },
  verify: (password, hash) => Bun.password.verify(password, hash),
};
