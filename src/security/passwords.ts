/**
 * Password hashes. Gannet writes argon2id PHC strings: with hash-wasm (Deno, tests), or with an
 * argon2id the runtime has built in that the adapter installs (Bun's password API: useNativeArgon2id); the
 * hashes of either verify with the other, and argon2id hashes made by Bun's password API verify here. It
 * also verifies hashes imported from Mosquitto so users keep their passwords: `$7$` (Mosquitto 2:
 * PBKDF2-HMAC-SHA512) and `$6$` (Mosquitto 1.x: SHA-512 of password + salt). Anything that is not argon2id with the
 * current parameters reports `needsRehash`, so the caller re-hashes on the next good login.
 * Passwords never appear in an error message.
 */

/** hash-wasm, imported when first needed: Bun's executable hashes with its runtime's argon2id and never loads it. */
let hashWasm: Promise<typeof import("hash-wasm")> | undefined;
const loadHashWasm = () => hashWasm ??= import("hash-wasm");

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. */
export const ARGON2_PARAMS = { memorySize: 19_456, iterations: 2, parallelism: 1, hashLength: 32 } as const;
const SALT_BYTES = 16;

export interface VerifyResult {
  ok: boolean;
  /** The hash is not argon2id with ARGON2_PARAMS: store a new one (hashPassword) after a good login. */
  needsRehash: boolean;
}

const encoder = new TextEncoder();
const bytesOf = (password: Uint8Array | string) => (typeof password === "string" ? encoder.encode(password) : password);

/**
 * An argon2id the runtime has built in (Bun's password API), installed by the adapter: the same PHC
 * strings (hash-wasm verifies its hashes and the other way round), but its working memory is freed
 * after each hash, where the 19 MiB of hash-wasm's WebAssembly memory stayed resident after the
 * first start's admin password (bench/executable-rss.ts, README "Single executable").
 */
export interface NativeArgon2id {
  hash(password: Uint8Array, params: typeof ARGON2_PARAMS): Promise<string>;
  verify(password: Uint8Array, hash: string): Promise<boolean>;
}
let native: NativeArgon2id | undefined;

/** Hash and verify argon2id with `argon2` from now on (undefined: hash-wasm again). */
export function useNativeArgon2id(argon2: NativeArgon2id | undefined): void {
  native = argon2;
}

/** A new argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with a random salt. */
export function hashPassword(password: string | Uint8Array): Promise<string> {
  if (native) return native.hash(bytesOf(password), ARGON2_PARAMS);
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  return loadHashWasm().then(({ argon2id }) =>
    argon2id({ password: bytesOf(password), salt, ...ARGON2_PARAMS, outputType: "encoded" })
  );
}

/** What kind of hash `hash` is, or undefined when Gannet cannot verify it. */
export function hashScheme(hash: string): "argon2id" | "mosquitto-pbkdf2" | "mosquitto-sha512" | undefined {
  if (hash.startsWith("$argon2id$")) return "argon2id";
  if (/^\$7\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/.test(hash)) return "mosquitto-pbkdf2";
  if (/^\$6\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/.test(hash)) return "mosquitto-sha512";
  return undefined;
}

/** Checks `password` against a stored hash; an unknown or malformed hash never verifies. */
export async function verifyPassword(password: Uint8Array | string, hash: string): Promise<VerifyResult> {
  const secret = bytesOf(password);
  switch (hashScheme(hash)) {
    case "argon2id": {
      let ok = false;
      try {
        ok = native ? await native.verify(secret, hash) : await (await loadHashWasm()).argon2Verify({ password: secret, hash });
      } catch (_e: unknown) {
        ok = false; // malformed PHC string: the error may quote the hash, not worth surfacing
      }
      return { ok, needsRehash: !hasCurrentParams(hash) };
    }
    case "mosquitto-pbkdf2": {
      const [, , iterations, salt, expected] = hash.split("$");
      const ok = await verifyPbkdf2(secret, Number(iterations), salt, expected);
      return { ok, needsRehash: true };
    }
    case "mosquitto-sha512": {
      const [, , salt, expected] = hash.split("$");
      const ok = await verifySha512(secret, salt, expected);
      return { ok, needsRehash: true };
    }
    default:
      return { ok: false, needsRehash: true };
  }
}

function hasCurrentParams(hash: string): boolean {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$([^$]+)$/.exec(hash);
  if (!m) return false;
  const { memorySize, iterations, parallelism, hashLength } = ARGON2_PARAMS;
  return Number(m[1]) === memorySize && Number(m[2]) === iterations && Number(m[3]) === parallelism &&
    decodedLength(m[4]) === hashLength;
}

/** Byte length of unpadded base64 text. */
const decodedLength = (b64: string) => Math.floor(b64.replace(/=+$/, "").length * 3 / 4);

async function verifyPbkdf2(password: Uint8Array, iterations: number, salt64: string, expected64: string) {
  const salt = fromBase64(salt64);
  const expected = fromBase64(expected64);
  if (!salt || !expected || expected.length === 0 || !Number.isSafeInteger(iterations) || iterations < 1) return false;
  const key = await crypto.subtle.importKey("raw", buffer(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-512", salt: buffer(salt), iterations },
    key,
    expected.length * 8,
  );
  return constantTimeEqual(new Uint8Array(bits), expected);
}

async function verifySha512(password: Uint8Array, salt64: string, expected64: string) {
  const salt = fromBase64(salt64);
  const expected = fromBase64(expected64);
  if (!salt || !expected || expected.length !== 64) return false;
  const input = new Uint8Array(password.length + salt.length);
  input.set(password);
  input.set(salt, password.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", input));
  return constantTimeEqual(digest, expected);
}

/** Compares every byte whatever the first difference (length is not secret: it is the hash size). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** A copy in a plain ArrayBuffer (Web Crypto's typings refuse views of a SharedArrayBuffer). */
function buffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}

function fromBase64(text: string): Uint8Array | undefined {
  try {
    const binary = atob(text);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch (_e: unknown) {
    return undefined;
  }
}
