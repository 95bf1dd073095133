// The `scaletest` command: subcommands mirror `coder exp scaletest` (plus `sim` for the built-in simulator).
import { Command, CommanderError } from "commander";
import { EXIT } from "./cli/common.ts";
import { ConfigError, getErrorMessage } from "./errors.ts";

export { EXIT };

/** Each subcommand module exports `register(program)`; add new ones to this list. */
const subcommands: Array<() => Promise<{ register: (program: Command) => void }>> = [
  () => import("./cli/create-workspaces.ts"),
  () => import("./cli/cleanup.ts"),
  () => import("./cli/workspace-traffic.ts"),
  () => import("./cli/dashboard.ts"),
  () => import("./cli/run.ts"),
  () => import("./cli/sim.ts"),
  () => import("./cli/report.ts"),
  () => import("./cli/compare.ts"),
];

export async function buildProgram(): Promise<Command> {
  const program = new Command("scaletest")
    .description("Load-test a Coder deployment (or the built-in simulator).")
    .exitOverride()
    .showHelpAfterError();
  for (const load of subcommands) (await load()).register(program);
  return program;
}

/** Runs the CLI and returns the exit code instead of exiting, so tests can call it in-process. */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version output exit 0; any parse error is bad input.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`error: ${getErrorMessage(err)}\n`);
    return EXIT.failed;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("bin/scaletest.js")) {
  process.exitCode = await main(process.argv.slice(2));
}
