/**
 * The admin HTTP port on Bun: Bun.serve for the Hono app, and the console's files read from inside
 * the executable (`bun build --compile --asset=web/dist` keeps them as Bun.embeddedFiles named
 * dist/...) or, when running from source, from web/dist (built by scripts/build-web.ts).
 */
import type { AssetReader, Fetch, Listener } from "../../src/mod.ts";

export function serveHttp(fetch: Fetch, host: string, port: number, tls?: { cert: string; key: string }): Listener {
  const server = Bun.serve({
    hostname: host,
    port,
    tls,
    fetch: (request, bun) => fetch(request, { remoteAddress: bun.requestIP(request)?.address }),
  });
  return { port: server.port ?? port, stop: () => void server.stop(true) };
}

const embedded = new Map<string, Blob>();
for (const blob of Bun.embeddedFiles) {
  const name = (blob as Blob & { name?: string }).name;
  if (name?.startsWith("dist/")) embedded.set(name.slice("dist/".length), blob); // --asset=web/dist names them dist/...
}

const webDir = new URL("../../web/dist/", import.meta.url);

export const assets: AssetReader = async (path) => {
  if (embedded.size > 0) {
    const blob = embedded.get(path);
    return blob ? new Uint8Array(await blob.arrayBuffer()) : undefined;
  }
  try {
    return new Uint8Array(await Bun.file(new URL(path, webDir)).arrayBuffer());
  } catch (e: unknown) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT" || code === "EISDIR") return undefined;
    throw e;
  }
};
