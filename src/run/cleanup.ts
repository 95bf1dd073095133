// The cleanup phase for an event: decides by the strategy matrix, then deletes scaletest workspaces and users.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CoderClient } from "../coder/client.ts";
import type { RunnerConfig } from "./config.ts";
import { resultsToText } from "../harness/results.ts";
import { cleanupScaletest, defaultCleanupConfig, type CleanupReport, type CleanupScope } from "../scenarios/cleanup/phase.ts";
import { getErrorMessage } from "../errors.ts";
import { outstanding, readLedger } from "../state/ledger.ts";
import { shouldCleanup, type CleanupEvent } from "./cleanup-policy.ts";
import { PHASE_NAMES } from "./plan.ts";
import { runPaths, type RunRecorder } from "./recorder.ts";
import { cleanupShardJobs } from "../k8s/cleanup.ts";
import { kubeFromConfig } from "./sharded.ts";

export interface CleanupEventOptions {
  cfg: RunnerConfig;
  client: CoderClient;
  recorder: RunRecorder;
  ledgerDir: string;
  /** Forces the cleanup regardless of the strategy (SIGTERM, manual). */
  force?: boolean;
  signal: AbortSignal;
  log: (line: string) => void;
}

/** What a cleanup event did. */
export interface CleanupEventResult {
  /** False when the strategy said not to clean up for this event. */
  ran: boolean;
  ok: boolean;
}

/**
 * Runs phase "Cleanup (<event>)" when the strategy says so (or `force`): workspaces first, then users, found by
 * the scaletest name rules and the run ledger (a crashed run's leftovers too). Output goes to results/cleanup-<event>.txt.
 */
export async function cleanupForEvent(event: CleanupEvent, o: CleanupEventOptions): Promise<CleanupEventResult> {
  const { cfg } = o;
  if (!o.force && !shouldCleanup(cfg.cleanupStrategy, event, cfg.cleanupPrepare)) {
    o.log(`cleanup (${event}): nothing to do with strategy "${cfg.cleanupStrategy}"${event === "prepare" ? " and cleanup before scaletest off" : ""}`);
    return { ran: false, ok: true };
  }
  let ok = false;
  await o.recorder.phase(PHASE_NAMES.cleanup(event), "cleanup", async () => {
    const lines: string[] = [];
    const say = (l: string) => {
      lines.push(l);
      o.log(`[cleanup] ${l}`);
    };
    // On its own the runner deletes only what run ledgers record; the manual event is the operator's sweep.
    const scope: CleanupScope = event === "manual" ? { kind: "sweep", includeOthersWorkspaces: false } : { kind: "ledger" };
    // Shard Jobs first: their pods are traffic against the workspaces about to be deleted.
    const jobs = await cleanupShardJobs({ stateDir: o.ledgerDir, connect: () => kubeFromConfig(cfg), log: say });
    if (jobs.left.length > 0) {
      say("shard Jobs not deleted (the next cleanup finds them through the run ledger):");
      for (const j of jobs.left) say(`  ${j}`);
    }
    let report: CleanupReport;
    try {
      report = await cleanupScaletest(
        o.client,
        { ...defaultCleanupConfig(), strategy: { concurrency: cfg.cleanupConcurrency, timeoutMs: cfg.cleanupTimeout, jobTimeoutMs: 2 * 3600_000 } },
        { signal: o.signal, stateDir: o.ledgerDir, progress: say, scope },
      );
    } catch (err) {
      // Stopped (or failed) before the plan was made: what the ledger still records is what is left.
      await sayLeftovers(o, say);
      throw err;
    }
    if (report.notDeleted.length > 0) {
      say(`not deleted (the next cleanup finds ${report.notDeleted.length === 1 ? "it" : "them"} through the run ledger):`);
      for (const what of report.notDeleted) say(`  ${what}`);
    }
    let text = `${lines.join("\n")}\n\nWorkspaces:${resultsToText(report.workspaces.results)}`;
    if (report.users) text += `\nUsers:${resultsToText(report.users.results)}`;
    const resultsDir = runPaths(cfg.runDir).results;
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, `cleanup-${event}.txt`), text);
    const jobsLeft = jobs.left.filter((j) => !j.includes("its run is still running")).length;
    ok = report.ok && jobsLeft === 0;
    const failedWs = report.workspaces.results.total_fail;
    const failedUsers = report.users?.results.total_fail ?? 0;
    return ok
      ? { outcome: "passed" }
      : { outcome: o.signal.aborted ? "canceled" : "failed", error: `${failedWs} workspace(s), ${failedUsers} user(s) and ${jobsLeft} shard Job(s) could not be deleted` };
  });
  return { ran: true, ok };
}

/** Logs what the run ledgers still record on this deployment (used when a cleanup could not even make its plan). */
async function sayLeftovers(o: CleanupEventOptions, say: (line: string) => void): Promise<void> {
  try {
    const left = outstanding(await readLedger(o.ledgerDir), o.client.url);
    const names = [...left.workspaces.map((w) => `workspace ${w.owner}/${w.name} (run ${w.run})`), ...left.users.map((u) => `user ${u.username} (run ${u.run})`)];
    if (names.length === 0) return;
    say(`not deleted; the run ledger still records (the next cleanup finds them):`);
    for (const n of names) say(`  ${n}`);
  } catch (err) {
    say(`could not read the run ledger: ${getErrorMessage(err)}`);
  }
}
