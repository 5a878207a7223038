/**
 * Builds the single executables (linux-x64 and linux-arm64) with `bun build --compile`.
 * Not yet: the executable, embedded migrations and console assets arrive with issue 4
 * ("Configuration, CLI, service and the single executable"). Until then run from source:
 *   npx bun run start        (Bun)
 *   npx deno task start      (Deno)
 */
console.error("compile.ts: not yet implemented (issue 4); run from source with `npx bun run start`.");
process.exit(1);
