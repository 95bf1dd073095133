// The dashboard phase: users and their tokens, one Chromium walk per user under the strategy, results JSON, tokens deleted; the CLI and the staged run both call it.
import { getErrorMessage } from "../../errors.ts";
import { Harness, runPhase } from "../../harness/harness.ts";
import { phaseOutcome, writeResultsJson, type OutcomeCounts, type PhaseOutcome, type Results } from "../../harness/results.ts";
import { strategyFromConfig, type StrategyConfig } from "../../harness/strategies.ts";
import { formatGoDuration } from "../../util/duration.ts";
import type { PhaseReporting } from "../context.ts";
import { prepareDashboard, type DashboardOptions } from "./prepare.ts";
import type { WalkStats } from "./user.ts";

export interface DashboardPhaseOptions extends Omit<DashboardOptions, "signal">, PhaseReporting {
  strategy: StrategyConfig;
  /** Stops setup and the runs. */
  signal: AbortSignal;
  /** Bounds the token deletion at the end (it must run after `signal` aborted); default: 30 s from then. */
  cleanupSignal?: AbortSignal;
  log: (line: string) => void;
}

export interface DashboardPhaseResult {
  results: Results;
  counts: OutcomeCounts;
  outcome: PhaseOutcome;
  /** Each user's walk figures, in run order. */
  stats: WalkStats[];
}

/** Runs the dashboard users for the strategy's timeout (or each run's duration), then deletes their tokens. Setup errors throw. */
export async function runDashboardPhase(o: DashboardPhaseOptions): Promise<DashboardPhaseResult> {
  const plan = await prepareDashboard(o);
  try {
    const harness = new Harness({ strategy: strategyFromConfig(o.strategy), events: o.events?.(plan.runs.length), tee: o.tee });
    for (const r of plan.runs) harness.addRun(r.testName, r.id, r.runner);
    o.log(`Running load test: ${plan.runs.length} dashboard user(s), interval ${formatGoDuration(o.intervalMs)} ± ${formatGoDuration(o.jitterMs)}...`);
    await runPhase(harness, "run", o.signal, o.strategy.timeoutMs);
    const results = harness.results();
    if (o.resultsPath) writeResultsJson(o.resultsPath, results);
    const counts = harness.outcomes();
    return { results, counts, outcome: phaseOutcome(counts), stats: plan.runs.map((r) => r.runner.stats) };
  } finally {
    await plan.dispose(o.cleanupSignal ?? AbortSignal.timeout(30_000)).catch((err: unknown) => o.log(`error: delete dashboard API tokens: ${getErrorMessage(err)}`));
  }
}
