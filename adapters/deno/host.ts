/**
 * The Host port on Deno: Deno's file and terminal APIs, and node:crypto for the certificate
 * check, which Deno has no API of its own for.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { Host } from "../../src/mod.ts";

function keyPairProblem(certPem: string, keyPem: string): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (e: unknown) {
    return `the certificate cannot be parsed (${e instanceof Error ? e.message : String(e)})`;
  }
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem)) ? undefined : "the key does not belong to the certificate";
  } catch (e: unknown) {
    return `the key cannot be parsed (${e instanceof Error ? e.message : String(e)})`;
  }
}

const encoder = new TextEncoder();

/** One line from the terminal with echo off; Ctrl-C exits 130 as a shell would. */
async function readSecret(prompt: string): Promise<string | undefined> {
  if (!Deno.stdin.isTerminal()) return undefined;
  // Echo off before the prompt shows: whatever is typed once it is visible must not be echoed.
  Deno.stdin.setRaw(true);
  Deno.stderr.writeSync(encoder.encode(prompt));
  const buffer = new Uint8Array(64);
  const decoder = new TextDecoder();
  let line = "";
  try {
    for (;;) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) return line;
      for (const ch of decoder.decode(buffer.subarray(0, n), { stream: true })) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") return line;
        if (ch === "\u0003") {
          Deno.stdin.setRaw(false);
          Deno.stderr.writeSync(encoder.encode("\n"));
          Deno.exit(130);
        }
        if (ch === "\u007f" || ch === "\b") line = line.slice(0, -1);
        else line += ch;
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
}

export const host: Host = {
  cwd: () => Deno.cwd(),
  uid: () => Deno.uid() ?? -1,
  stat(path) {
    try {
      const s = Deno.statSync(path);
      return { isDirectory: s.isDirectory, uid: s.uid ?? -1, gid: s.gid ?? -1, mode: (s.mode ?? 0) & 0o7777 };
    } catch (e: unknown) {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return undefined;
      throw e;
    }
  },
  // Tried for real: Deno's node:fs accessSync compares mode bits (root included), so it says no
  // where the kernel says yes. Opening a file for writing changes nothing; a directory gets a
  // temporary file, removed at once.
  access(path, mode) {
    try {
      if (Deno.statSync(path).isDirectory) {
        if (mode === "read") Deno.readDirSync(path)[Symbol.iterator]().next();
        else Deno.removeSync(Deno.makeTempFileSync({ dir: path, prefix: ".gannet-access-" }));
      } else {
        Deno.openSync(path, mode === "read" ? { read: true } : { write: true }).close();
      }
      return undefined;
    } catch (e: unknown) {
      return e instanceof Error ? e.message : String(e);
    }
  },
  chown: (path, uid, gid) => Deno.chownSync(path, uid, gid),
  checkKeyPair: keyPairProblem,
  readSecret,
};
