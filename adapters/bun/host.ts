/** The Host port on Bun: files, owners and the terminal through Bun's node:fs, node:crypto and process.stdin. */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { accessSync, chownSync, constants, statSync } from "node:fs";
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

/** One line from the terminal with echo off; Ctrl-C exits 130 as a shell would. */
function readSecret(prompt: string): Promise<string | undefined> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return Promise.resolve(undefined);
  // Echo off before the prompt shows: whatever is typed once it is visible must not be echoed.
  stdin.setRawMode(true);
  process.stderr.write(prompt);
  return new Promise((resolve) => {
    let line = "";
    const finish = (value: string | undefined) => {
      stdin.setRawMode(false);
      stdin.off("data", onData);
      stdin.pause();
      process.stderr.write("\n");
      resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") return finish(line);
        if (ch === "\u0003") {
          stdin.setRawMode(false);
          process.stderr.write("\n");
          process.exit(130);
        }
        if (ch === "\u007f" || ch === "\b") line = line.slice(0, -1);
        else line += ch;
      }
    };
    stdin.on("data", onData);
    stdin.resume();
  });
}

export const host: Host = {
  cwd: () => process.cwd(),
  uid: () => process.getuid?.() ?? -1,
  stat(path) {
    try {
      const s = statSync(path);
      return { isDirectory: s.isDirectory(), uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 };
    } catch (e: unknown) {
      if ((e as { code?: string }).code === "ENOENT" || (e as { code?: string }).code === "ENOTDIR") return undefined;
      throw e;
    }
  },
  access(path, mode) {
    try {
      accessSync(path, mode === "read" ? constants.R_OK : constants.W_OK);
      return undefined;
    } catch (e: unknown) {
      return e instanceof Error ? e.message : String(e);
    }
  },
  chown: (path, uid, gid) => chownSync(path, uid, gid),
  checkKeyPair: keyPairProblem,
  readSecret,
};
