/** Failures of the store commands, each with its exit code, and reading the files they are given. */
import { type CommandIo, EXIT_CONFIG, EXIT_FAILURE } from "./commands.ts";
import { errorText } from "../util/errors.ts";

/** A failure to report as `gannet: message`, exiting with `code`. */
export class CommandError extends Error {
  constructor(message: string, readonly code: number = EXIT_FAILURE) {
    super(message);
  }
}

/** The text of a file named on the command line; missing or unreadable is a usage error (exit 2). */
export function readFile(io: CommandIo, path: string, flag: string): string {
  let text: string | undefined;
  try {
    text = io.readTextFile(path);
  } catch (e: unknown) {
    throw new CommandError(`${flag} ${path}: cannot read: ${errorText(e)}`, EXIT_CONFIG);
  }
  if (text === undefined) throw new CommandError(`${flag} ${path}: no such file`, EXIT_CONFIG);
  return text;
}
