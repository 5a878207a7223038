/** Placeholder until the passwords module lands from the store branch: argon2id only. */
import { argon2id, argon2Verify } from "hash-wasm";

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return await argon2id({ password, salt, parallelism: 1, iterations: 2, memorySize: 19456, hashLength: 32, outputType: "encoded" });
}

export async function verifyPassword(password: Uint8Array | string, hash: string): Promise<{ ok: boolean; needsRehash: boolean }> {
  if (!hash.startsWith("$argon2id$")) return { ok: false, needsRehash: false };
  return { ok: await argon2Verify({ password, hash }), needsRehash: false };
}
