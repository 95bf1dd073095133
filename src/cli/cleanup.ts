// `scaletest cleanup`: delete scaletest workspaces, then scaletest users, including what the run ledger recorded.
import { Command } from "commander";
import { ConfigError, getErrorMessage } from "../errors.ts";
import { CoderConnectionError } from "../coder/errors.ts";
import { resultsToText } from "../harness/results.ts";
import { Progress } from "../report/progress.ts";
import { cleanupScaletest, defaultCleanupConfig, validateCleanupConfig, type CleanupConfig } from "../scenarios/cleanup.ts";
import {
  CLEANUP_STRATEGY_FLAGS,
  FlagReader,
  GLOBAL_FLAGS,
  addFlags,
  connectAsOwner,
  interrupts,
  readCleanupStrategy,
  readGlobals,
  type FlagSpec,
} from "./common.ts";

const FLAGS: readonly FlagSpec[] = [
  { flags: "-t, --template <name>", env: "CODER_SCALETEST_CLEANUP_TEMPLATE", kind: "string", description: "only workspaces of this template (users are not narrowed)" },
];
const ALL_FLAGS = [...FLAGS, ...CLEANUP_STRATEGY_FLAGS, ...GLOBAL_FLAGS];

const HELP_AFTER = `
Deletes workspaces whose name starts with "scaletest-", then users whose username starts with "scaletest-"
and whose email ends with "@scaletest.local"; also every such resource the run ledger (--state-dir) recorded,
even if its create response never arrived. Nothing without the prefix is ever deleted. Running it again is a no-op.
--cleanup-timeout applies to each stage. Results are printed as text to stderr.

Exit codes: 0 everything deleted; 1 a deletion failed; 2 bad input (nothing was deleted).`;

export function register(program: Command): void {
  const cmd = new Command("cleanup")
    .description("Delete scaletest workspaces, then scaletest users (as coder exp scaletest cleanup).")
    .addHelpText("after", HELP_AFTER);
  for (const group of [FLAGS, CLEANUP_STRATEGY_FLAGS, GLOBAL_FLAGS]) addFlags(cmd, group);
  cmd.action(async () => {
    process.exitCode = await cleanupCommand(cmd);
  });
  program.addCommand(cmd);
}

async function cleanupCommand(cmd: Command): Promise<number> {
  const stderr = process.stderr;
  const r = new FlagReader(cmd, ALL_FLAGS);
  const cfg: CleanupConfig = { ...defaultCleanupConfig(), template: r.string("template"), strategy: readCleanupStrategy(r) };
  const globals = readGlobals(r);
  r.done();
  r.done(validateCleanupConfig(cfg));
  const sig = interrupts(stderr);
  sig.enterCleanup();
  try {
    const { client } = await connectAsOwner(globals, { signal: sig.cleanup });
    if (cfg.template) {
      try {
        await client.resolveTemplate(cfg.template, { signal: sig.cleanup });
      } catch (err) {
        if (err instanceof CoderConnectionError || sig.cleanup.aborted) throw err;
        throw new ConfigError([{ path: "--template", message: getErrorMessage(err) }]);
      }
    }
    let progress: Progress | undefined;
    const report = await cleanupScaletest(client, cfg, {
      signal: sig.cleanup,
      stateDir: globals.stateDir,
      progress: (line) => stderr.write(`${line}\n`),
      onStage: (stage, jobs) => {
        progress?.stop();
        progress = jobs > 0 ? new Progress({ stream: stderr, label: `cleanup ${stage}`, total: jobs }) : undefined;
      },
      events: {
        runStarted: (run) => progress?.events.runStarted?.(run),
        runFinished: (run) => progress?.events.runFinished?.(run),
      },
    });
    progress?.stop();
    stderr.write(resultsToText(report.workspaces.results));
    if (report.workspaces.results.total_fail > 0) {
      stderr.write("failed to delete scaletest workspaces\n");
      return 1;
    }
    if (report.users) stderr.write(resultsToText(report.users.results));
    if (!report.ok) {
      stderr.write("failed to delete scaletest users\n");
      return 1;
    }
    stderr.write(`Deleted ${report.workspaces.results.total_pass} workspace(s) and ${report.users?.results.total_pass ?? 0} user(s).\n`);
    return 0;
  } finally {
    sig.dispose();
  }
}
