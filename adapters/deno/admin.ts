/** The admin HTTP port on Deno: Deno.serve for the Hono app, the console's files from web/. */
import type { AssetReader, Fetch, Listener } from "../../src/mod.ts";

export function serveHttp(fetch: Fetch, host: string, port: number, tls?: { cert: string; key: string }): Listener {
  const server = Deno.serve(
    { hostname: host, port, onListen: () => {}, ...(tls ? { cert: tls.cert, key: tls.key } : {}) },
    (request, info) => fetch(request, { remoteAddress: info.remoteAddr.hostname }),
  );
  return { port: server.addr.port, stop: () => void server.shutdown() };
}

const webDir = new URL("../../web/dist/", import.meta.url);

export const assets: AssetReader = async (path) => {
  try {
    return await Deno.readFile(new URL(path, webDir));
  } catch (e: unknown) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.IsADirectory) return undefined;
    throw e;
  }
};

/** A file's text, or undefined when it does not exist. */
export function readTextFile(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (e: unknown) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}
