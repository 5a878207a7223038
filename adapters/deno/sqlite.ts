/**
 * Durable state on Deno: @libsql/client for a local file (`file:` URL, needs --allow-read
 * --allow-write --allow-env --allow-ffi --allow-sys) and for a libSQL server (libsql://,
 * http(s)://, ws(s)://; needs --allow-net).
 */
import { createClient } from "@libsql/client";
import { libsqlExecutor, SqliteStore, type SqliteStoreOptions } from "../../src/mod.ts";

export interface OpenStoreOptions extends SqliteStoreOptions {
  /** For a libSQL server. */
  authToken?: string;
}

const REMOTE = /^(libsql|https?|wss?):\/\//i;

/** Opens (creating if needed) the database at `urlOrPath`: a file path, a `file:` URL, or a libSQL server URL. */
export function openStore(urlOrPath: string, options: OpenStoreOptions = {}): Promise<SqliteStore> {
  if (REMOTE.test(urlOrPath)) {
    const client = createClient({ url: urlOrPath, authToken: options.authToken });
    return SqliteStore.open(libsqlExecutor(client, "remote", withoutCredentials(urlOrPath)), options);
  }
  const url = urlOrPath.startsWith("file:") ? urlOrPath : `file:${urlOrPath}`;
  const location = urlOrPath.startsWith("file:") ? decodeURIComponent(new URL(urlOrPath).pathname) : urlOrPath;
  // One connection: the store's pragmas (foreign_keys, synchronous, busy_timeout) are per connection.
  return SqliteStore.open(libsqlExecutor(createClient({ url, concurrency: 1 }), "file", location), options);
}

function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = "";
  parsed.password = "";
  parsed.search = "";
  return parsed.toString();
}
