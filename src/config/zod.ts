/**
 * The configuration schema's zod: `zod/mini`, not the full `zod`. The full API gives every schema
 * object some forty methods of its own and loads about 2.5 MiB more code; in the executable the
 * configuration schema cost about 3 MiB of idle RSS that way (bench/executable-rss.ts). Issues,
 * checks and JSON Schema come from the same zod core, so messages and `gannet config schema` are
 * unchanged. The admin API keeps the full `zod` (loaded with the admin app, on the first request).
 */
import { config, globalRegistry, type ZodMiniType } from "zod/mini";
import en from "zod/v4/locales/en.js";

// The full `zod` installs these English messages when loaded; zod/mini leaves them to the caller.
// Imported by every schema module (for `described`), so this runs before any parse.
config(en());

// Each module imports `* as z from "zod/mini"` itself: a namespace object re-exported from here
// would make the bundler keep all of zod/mini, its locales included.

/** The schema with a description for JSON Schema and the commented example (`.describe()` in full zod). */
export function described<T extends ZodMiniType>(schema: T, description: string): T {
  globalRegistry.add(schema, { description });
  return schema;
}
