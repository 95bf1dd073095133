// The `scaletest` command: subcommands mirror `coder exp scaletest` (plus `sim` for the built-in simulator).
// `bin/scaletest.js` calls `main`; only the invoked subcommand's module is loaded.
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { DESCRIPTIONS, isSubcommandName, type SubcommandName } from "./cli/commands.ts";
import { ConfigError, EXIT, getErrorMessage } from "./errors.ts";

/** A subcommand module: adds its command (flags, help, action) to the program. */
export interface SubcommandModule {
  register(program: Command): void;
}

/** Loads one subcommand's module; only the invoked one is ever imported (some pull in heavy dependencies). */
export const LOADERS: Record<SubcommandName, () => Promise<SubcommandModule>> = {
  "create-workspaces": () => import("./cli/create-workspaces.ts"),
  cleanup: () => import("./cli/cleanup.ts"),
  "workspace-traffic": () => import("./cli/workspace-traffic.ts"),
  dashboard: () => import("./cli/dashboard.ts"),
  run: () => import("./cli/run.ts"),
  sim: () => import("./cli/sim.ts"),
  report: () => import("./cli/report.ts"),
  compare: () => import("./cli/compare.ts"),
};


/** The package version (package.json sits one level above both src/ and the compiled dist/). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** The subcommand `argv` invokes (`scaletest NAME …` or `scaletest help NAME`), if it names one. */
function invokedSubcommand(argv: readonly string[]): SubcommandName | undefined {
  const [first, second] = argv;
  if (isSubcommandName(first)) return first;
  if (first === "help" && isSubcommandName(second)) return second;
  return undefined;
}

/**
 * Commander settings every command needs: parse errors throw (so `main` turns them into exit 2) instead of exiting
 * the process; a subcommand's full flag list is long, so after an error it only points at `--help`.
 */
function applyErrorHandling(cmd: Command, isRoot: boolean): void {
  cmd.exitOverride();
  cmd.showHelpAfterError(isRoot ? true : `(run "scaletest ${cmd.name()} --help" for every flag and its allowed values)`);
  for (const sub of cmd.commands) applyErrorHandling(sub, false);
}

/**
 * The program for `argv`: the invoked subcommand fully registered, every other one only by name and description
 * (enough for `--help`, and for commander's "unknown command" suggestions).
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command("scaletest")
    .description("Load-test a Coder deployment (or the built-in simulator).")
    .version(packageVersion(), "-V, --version", "print the version");
  const invoked = invokedSubcommand(argv);
  for (const name of Object.keys(DESCRIPTIONS) as SubcommandName[]) {
    if (name === invoked) (await LOADERS[name]()).register(program);
    else program.command(name).description(DESCRIPTIONS[name]);
  }
  applyErrorHandling(program, true);
  return program;
}

/** Runs the CLI and returns the exit code instead of exiting, so tests can call it in-process. */
export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version output exit 0; commander has already printed any parse error, naming the flag.
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
