// `scaletest cleanup`: delete scaletest workspaces, then scaletest users, including what the run ledger recorded.
import type { Command } from "commander";
import { DESCRIPTIONS } from "./commands.ts";
import { ConfigError, getErrorMessage } from "../errors.ts";
import { CoderConnectionError } from "../coder/errors.ts";
import { resultsToText } from "../harness/results.ts";
import { Progress } from "../report/progress.ts";
import { cleanupScaletest, defaultCleanupConfig, validateCleanupConfig, type CleanupConfig } from "../scenarios/cleanup/phase.ts";
import { CLEANUP_STRATEGY_FLAGS, FlagReader, GLOBAL_FLAGS, defineCommand, readCleanupStrategy, type FlagSpec } from "./flags.ts";
import { EXIT } from "../errors.ts";
import { interrupts } from "../util/signals.ts";
import { openDeployment, readGlobals } from "./deployment.ts";

const FLAGS: readonly FlagSpec[] = [
  { flags: "-t, --template <name>", env: "CODER_SCALETEST_CLEANUP_TEMPLATE", kind: "string", description: "only workspaces of this template (users are not narrowed)" },
  {
    flags: "--include-others-workspaces",
    env: "CODER_SCALETEST_CLEANUP_INCLUDE_OTHERS_WORKSPACES",
    kind: "bool",
    description: 'also delete "scaletest-" workspaces whose owner is not a scaletest user and that no run ledger records (e.g. alice/scaletest-mine)',
  },
];
const GROUPS = [FLAGS, CLEANUP_STRATEGY_FLAGS, GLOBAL_FLAGS];

const HELP_AFTER = `
Deletes the users whose username starts with "scaletest-" and whose email ends with "@scaletest.local" and their
"scaletest-" workspaces, as upstream; also every such resource a run ledger (--state-dir) recorded, even if its
create response never arrived. A "scaletest-" workspace of anyone else (alice/scaletest-mine, a host-login
workspace) is deleted only when a run ledger records it, or with --include-others-workspaces. What a run that is
still alive recorded is left to it. Nothing without the prefix is ever deleted. The plan (what will be deleted,
grouped by run, and what is left alone and why) is printed before the first delete. Running it again is a no-op.
--cleanup-timeout applies to each stage. Results are printed as text to stderr.

Without a deployment (no --url, no CODER_URL, no url file in the config dir) there is nothing to clean up: the
built-in simulator that create-workspaces and run start ends with them. The command says so and exits 2.

Exit codes: 0 everything deleted; 1 a deletion failed; 2 bad input (nothing was deleted).`;

export function register(program: Command): void {
  defineCommand(program, {
    name: "cleanup",
    description: DESCRIPTIONS.cleanup,
    helpAfter: HELP_AFTER,
    groups: GROUPS,
    action: cleanupCommand,
  });
}

/** Why there is no simulator fallback here. */
const NOTHING_TO_CLEAN = "without a deployment there is nothing to clean up (the built-in simulator of create-workspaces and run ends with them)";

async function cleanupCommand(cmd: Command): Promise<number> {
  const stderr = process.stderr;
  const r = new FlagReader(cmd, GROUPS);
  const cfg: CleanupConfig = { ...defaultCleanupConfig(), template: r.string("template"), strategy: readCleanupStrategy(r) };
  const includeOthersWorkspaces = r.bool("include-others-workspaces");
  const globals = readGlobals(r);
  r.done();
  r.done(validateCleanupConfig(cfg));
  const sig = interrupts(stderr);
  sig.enterCleanup();
  try {
    const { client } = await openDeployment(globals, { without: { hint: NOTHING_TO_CLEAN }, signal: sig.cleanup });
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
      scope: { kind: "sweep", includeOthersWorkspaces },
      progress: (line) => stderr.write(`${line}\n`),
      onStage: (stage, jobs) => {
        progress?.stop();
        progress = jobs > 0 ? new Progress({ stream: stderr, label: `cleanup ${stage}`, total: jobs }) : undefined;
      },
      events: {
        runStarted: (run) => progress?.events.runStarted?.(run),
        runFinished: (run) => progress?.events.runFinished?.(run),
        runNotStarted: (testName, id, outcome) => progress?.events.runNotStarted?.(testName, id, outcome),
      },
    });
    progress?.stop();
    const notDeleted = () => {
      if (report.notDeleted.length === 0) return;
      stderr.write(`not deleted (run \`scaletest cleanup\` again to retry):\n${report.notDeleted.map((w) => `  ${w}\n`).join("")}`);
    };
    stderr.write(resultsToText(report.workspaces.results));
    if (report.workspaces.results.total_fail > 0) {
      notDeleted();
      stderr.write("failed to delete scaletest workspaces\n");
      return EXIT.failed;
    }
    if (report.users) stderr.write(resultsToText(report.users.results));
    if (!report.ok) {
      notDeleted();
      stderr.write("failed to delete scaletest users\n");
      return EXIT.failed;
    }
    stderr.write(`Deleted ${report.workspaces.results.total_pass} workspace(s) and ${report.users?.results.total_pass ?? 0} user(s).\n`);
    return EXIT.ok;
  } finally {
    sig.dispose();
  }
}
