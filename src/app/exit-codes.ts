/**
 * Exit codes and the problem report, apart from commands.ts: the broker's start needs only these,
 * and commands.ts brings the `yaml` package (loaded on demand: src/app/config-source.ts).
 */
import type { CommandIo } from "../ports/runtime.ts";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

/** Problems, one per line, then a summary line; returns the configuration exit code. */
export function reportProblems(io: CommandIo, problems: readonly string[], summary: string): number {
  io.print("stderr", problems.map((p) => `gannet: ${p}\n`).join("") + `gannet: ${summary}\n`);
  return EXIT_CONFIG;
}
