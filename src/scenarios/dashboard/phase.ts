// The dashboard phase: users and their tokens, one Chromium walk per user under the strategy, results JSON, tokens deleted; the CLI and the staged run both call it.
import { getErrorMessage } from "../../errors.ts";
import { Harness, runPhase, type HarnessEvents } from "../../harness/harness.ts";
import { phaseOutcome, writeResultsJson, type OutcomeCounts, type PhaseOutcome, type Results } from "../../harness/results.ts";
import { strategyFromConfig, type StrategyConfig } from "../../harness/strategies.ts";
import type { JobMetrics } from "../../metrics/registry.ts";
import { formatGoDuration } from "../../util/duration.ts";
import type { PhaseReporting } from "../context.ts";
import { DASHBOARD_TEST_NAME, prepareDashboard, type DashboardOptions } from "./prepare.ts";
import type { WalkStats } from "./user.ts";

export interface DashboardPhaseOptions extends Omit<DashboardOptions, "signal">, PhaseReporting {
  strategy: StrategyConfig;
  /** Stops setup and the runs. */
  signal: AbortSignal;
  /** Bounds the token deletion at the end (it must run after `signal` aborted); default: 30 s from then. */
  cleanupSignal?: AbortSignal;
  log: (line: string) => void;
  /** Counts each user's run in the shared job families (the staged run, a shard's totals). */
  jobs?: JobMetrics;
  /** Awaited once every user has a token and a runner, right before the first walk starts: a shared start (shards). */
  beforeStart?: (signal: AbortSignal) => Promise<void>;
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
  o.jobs?.zero(DASHBOARD_TEST_NAME);
  const plan = await prepareDashboard(o);
  try {
    const harness = new Harness({ strategy: strategyFromConfig(o.strategy), events: withJobs(o.events?.(plan.runs.length), o.jobs), tee: o.tee });
    for (const r of plan.runs) harness.addRun(r.testName, r.id, r.runner);
    if (o.shard) o.log(`Shard ${o.shard.index}/${o.shard.count}: ${plan.runs.length} dashboard user(s)`);
    // Stopped while holding: the harness below reports every run as canceled, as it would mid-run.
    await o.beforeStart?.(o.signal).catch((err: unknown) => {
      if (!o.signal.aborted) throw err;
    });
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

/** The caller's events, plus each run counted in the job families: running while it runs, then its outcome. */
function withJobs(events: HarnessEvents | undefined, jobs: JobMetrics | undefined): HarnessEvents | undefined {
  if (!jobs) return events;
  return {
    ...events,
    runStarted: (run) => {
      jobs.started(run.testName);
      events?.runStarted?.(run);
    },
    runFinished: (run) => {
      jobs.finished(run.testName, run.outcome ?? "failed", run.durationNs / 1e9);
      events?.runFinished?.(run);
    },
    runNotStarted: (testName, id, outcome) => {
      jobs.notStarted(testName, outcome);
      events?.runNotStarted?.(testName, id, outcome);
    },
  };
}
