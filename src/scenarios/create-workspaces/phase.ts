// The "Creating workspaces" phase: create-workspaces with the runner's settings, results JSON into the run directory.
import { writeFileSync } from "node:fs";
import type { CoderClient } from "../../coder/client.ts";
import { runPhase } from "../../harness/harness.ts";
import { encodeResultsJson } from "../../harness/results.ts";
import { createWorkspacesHarness, defaultCreateWorkspacesConfig, prepareCreateWorkspaces } from "./runner.ts";
import { Ledger } from "../../state/ledger.ts";
import type { PhaseResult } from "../../run/recorder.ts";

const HOURS_5 = 5 * 3600_000;

export interface CreatePhaseOptions {
  client: CoderClient;
  template: string;
  count: number;
  concurrency: number;
  /** Run ledger directory (intents are written before each create). */
  ledgerDir: string;
  runId: string;
  resultsPath: string;
  signal: AbortSignal;
  log: (line: string) => void;
}

/** Creates `count` users and workspaces (upstream: --retry 5 --timeout 5h --job-timeout 5h --no-cleanup). */
export async function createWorkspacesPhase(o: CreatePhaseOptions): Promise<PhaseResult> {
  const cfg = {
    ...defaultCreateWorkspacesConfig(),
    count: o.count,
    template: o.template,
    retry: 5,
    noCleanup: true,
    strategy: { concurrency: o.concurrency, timeoutMs: HOURS_5, jobTimeoutMs: HOURS_5 },
  };
  const me = await o.client.me({ signal: o.signal });
  const prepared = await prepareCreateWorkspaces(o.client, me, cfg, { signal: o.signal });
  const ledger = await Ledger.open(o.ledgerDir, { url: o.client.url, run: o.runId });
  try {
    const { harness } = createWorkspacesHarness({ admin: o.client, prepared, cfg, ledger });
    await runPhase(harness, "run", o.signal, cfg.strategy.timeoutMs);
    const results = harness.results();
    writeFileSync(o.resultsPath, encodeResultsJson(results));
    o.log(`created ${results.total_pass}/${results.total_runs} workspaces from ${o.template} (${results.elapsed})`);
    const counts = harness.outcomes();
    const outcome = o.signal.aborted ? "canceled" : results.total_fail > 0 ? "failed" : "passed";
    return {
      outcome,
      error: results.total_fail > 0 ? `${results.total_fail} of ${results.total_runs} workspaces failed (${counts.canceled} canceled, ${counts.timed_out} timed out)` : undefined,
    };
  } finally {
    await ledger.close();
  }
}
