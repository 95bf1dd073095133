// The cleanup phase for an event: decides by the strategy matrix, then deletes scaletest workspaces and users.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CoderClient } from "../coder/client.ts";
import type { RunnerConfig } from "./config.ts";
import { resultsToText } from "../harness/results.ts";
import { cleanupScaletest, defaultCleanupConfig } from "../scenarios/cleanup/phase.ts";
import { shouldCleanup, type CleanupEvent } from "./cleanup-policy.ts";
import { PHASE_NAMES } from "./plan.ts";
import { runPaths, type RunRecorder } from "./recorder.ts";

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
    const report = await cleanupScaletest(
      o.client,
      { ...defaultCleanupConfig(), strategy: { concurrency: cfg.cleanupConcurrency, timeoutMs: cfg.cleanupTimeout, jobTimeoutMs: 2 * 3600_000 } },
      { signal: o.signal, stateDir: o.ledgerDir, progress: say },
    );
    let text = `${lines.join("\n")}\n\nWorkspaces:${resultsToText(report.workspaces.results)}`;
    if (report.users) text += `\nUsers:${resultsToText(report.users.results)}`;
    const resultsDir = runPaths(cfg.runDir).results;
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, `cleanup-${event}.txt`), text);
    ok = report.ok;
    const failedWs = report.workspaces.results.total_fail;
    const failedUsers = report.users?.results.total_fail ?? 0;
    return report.ok
      ? { outcome: "passed" }
      : { outcome: o.signal.aborted ? "canceled" : "failed", error: `${failedWs} workspace(s) and ${failedUsers} user(s) could not be deleted` };
  });
  return { ran: true, ok };
}
