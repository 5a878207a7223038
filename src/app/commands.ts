/** `gannet config check|print|schema|example`: each prints, then returns the exit code. */
import type { CliResult } from "../config/cli.ts";
import { exampleYaml, jsonSchema, printableConfig } from "../config/describe.ts";
import { loadConfig } from "../config/load.ts";
import { readConfigFile, resolveConfig } from "./config-source.ts";
import { checkedAsNote, checkFiles } from "./config-check.ts";
import type { CommandIo } from "../ports/runtime.ts";
export type { CommandIo } from "../ports/runtime.ts";


import { EXIT_OK, reportProblems } from "./exit-codes.ts";
export { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, reportProblems } from "./exit-codes.ts";

const count = (n: number) => `${n} problem${n === 1 ? "" : "s"}`;

export async function runConfigCommand(
  io: CommandIo,
  command: Extract<CliResult, { kind: "config-check" | "config-print" | "config-schema" | "config-example" }>,
): Promise<number> {
  switch (command.kind) {
    case "config-schema":
      io.print("stdout", JSON.stringify(jsonSchema(), null, 2) + "\n");
      return EXIT_OK;
    case "config-example":
      io.print("stdout", exampleYaml());
      return EXIT_OK;
    case "config-check": {
      const file = readConfigFile(io, command.file);
      if (!file.ok) return reportProblems(io, file.problems, `${command.file} is invalid`);
      const result = loadConfig({ file: file.file, cwd: io.cwd() });
      if (!result.ok) {
        return reportProblems(io, result.problems, `${command.file} is invalid (${count(result.problems.length)})`);
      }
      const { problems, notes } = checkFiles(io, result.config, command.file, result.writtenPersistencePath);
      const note = checkedAsNote(io, result.config);
      if (problems.length) {
        return reportProblems(
          io,
          [...problems, ...notes, ...(note ? [note] : [])].map((p, i) => (i < problems.length ? p : `note: ${p}`)),
          `${command.file} would not start (${count(problems.length)})`,
        );
      }
      for (const n of notes) io.print("stderr", `gannet: note: ${n}\n`);
      io.print("stdout", `${command.file}: ok${note ? ` (${note})` : ""}\n`);
      return EXIT_OK;
    }
    case "config-print": {
      const result = await resolveConfig(io, io.env, command.options);
      if (!result.ok) {
        return reportProblems(io, result.problems, `invalid configuration (${count(result.problems.length)})`);
      }
      io.print("stdout", `# effective configuration (${result.file ?? "built-in defaults"}; secrets masked)\n`);
      io.print("stdout", printableConfig(result.config));
      return EXIT_OK;
    }
  }
}
