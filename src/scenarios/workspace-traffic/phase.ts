// The workspace-traffic phase: select targets, one job per target under the strategy, results JSON; the CLI and the staged run both call it.
import type { CoderClient } from "../../coder/client.ts";
import { formatRetries, retryLine, RetryTally, type RetryTotals } from "../../coder/retry.ts";
import { getErrorMessage } from "../../errors.ts";
import { Harness, runPhase } from "../../harness/harness.ts";
import { phaseOutcome, writeResultsJson, type OutcomeCounts, type PhaseOutcome, type Results } from "../../harness/results.ts";
import { strategyFromConfig, type StrategyConfig } from "../../harness/strategies.ts";
import type { RunnerHealth } from "../../metrics/health.ts";
import type { JobMetrics, TrafficMetrics } from "../../metrics/registry.ts";
import type { Scheduler } from "../../traffic/scheduler.ts";
import { inShard, type Shard } from "../../traffic/shard.ts";
import { formatGoDuration } from "../../util/duration.ts";
import type { PhaseReporting } from "../context.ts";
import { trafficMode, WORKSPACE_TRAFFIC_TEST_NAME, type WorkspaceTrafficConfig } from "./config.ts";
import { prepareWorkspaceTraffic } from "./runner.ts";
import { startTrafficWorkers } from "./workers.ts";
import type { Registry } from "prom-client";

/** Upstream's graceful-close allowance after the traffic duration (its job timeout is duration + 30 s, its wait 5 s more). */
export const CLOSE_ALLOWANCE_MS = 35_000;

export interface WorkspaceTrafficPhaseOptions extends PhaseReporting {
  /** Split the jobs over worker threads (by workspace ID, as shards split), the metrics merged into `registry`. */
  workers?: { count: number; perWorkspaceLabels: boolean; registry: Registry };
  client: CoderClient;
  cfg: WorkspaceTrafficConfig;
  strategy: StrategyConfig;
  scheduler: Scheduler;
  traffic: TrafficMetrics;
  health?: RunnerHealth;
  jobs?: JobMetrics;
  signal: AbortSignal;
  /** Progress and warnings (stderr). */
  log: (line: string) => void;
  /** Lines upstream prints to stdout (ownership skips); default: log. */
  out?: (line: string) => void;
  /** Run only this shard's targets, taken out of the whole selection (job IDs keep their index in it). */
  shard?: Shard;
  /** Awaited once every job is ready (targets chosen, worker threads up), right before the first starts: a shared start. */
  beforeStart?: (signal: AbortSignal) => Promise<void>;
}

/** What the phase did. */
export interface WorkspaceTrafficPhaseResult {
  results: Results;
  counts: OutcomeCounts;
  outcome: PhaseOutcome;
  /** Retries of target selection and of every job's dial, by kind and reason (each job's own are in its log). */
  retries: RetryTotals;
}

/** Selects the targets, runs one job per target for the traffic duration, writes the results. Selection errors throw. */
export async function runWorkspaceTrafficPhase(o: WorkspaceTrafficPhaseOptions): Promise<WorkspaceTrafficPhaseResult> {
  const { cfg } = o;
  o.jobs?.zero(WORKSPACE_TRAFFIC_TEST_NAME);
  const tally = new RetryTally();
  const plan = await prepareWorkspaceTraffic(
    o.client,
    { cfg, scheduler: o.scheduler, traffic: o.traffic, health: o.health, jobs: o.jobs, retries: tally.record },
    // Selection's retries have no job to belong to: they go to the log and the phase's totals.
    { signal: o.signal, onSelectionRetry: (e) => (tally.record(e), o.log(`target selection: ${retryLine(e)}`)) },
  );
  for (const l of plan.stdout) (o.out ?? o.log)(l);
  for (const l of plan.stderr) o.log(l);
  // The shard's part of the whole selection, so the union over shards is exactly what one process would run.
  const runs = o.shard ? plan.runs.filter((r) => inShard(r.runner.target.workspace.id, o.shard)) : plan.runs;
  if (o.shard) o.log(`Shard ${o.shard.index}/${o.shard.count}: ${runs.length} of ${plan.runs.length} selected workspace(s)`);
  const harness = new Harness({ strategy: strategyFromConfig(o.strategy), events: o.events?.(runs.length), tee: o.tee });
  const w = o.workers;
  const pool =
    w && w.count > 1 && runs.length > 1
      ? await startTrafficWorkers(runs.map((r) => ({ ...r, target: r.runner.target })), {
          count: w.count, cfg, url: o.client.url, token: o.client.token ?? "", perWorkspaceLabels: w.perWorkspaceLabels, registry: w.registry, health: o.health, jobs: o.jobs, testName: WORKSPACE_TRAFFIC_TEST_NAME, connection: o.client.connection, shardCount: o.shard?.count, onRetry: tally.record,
        })
      : undefined;
  for (const r of pool?.runs ?? runs) harness.addRun(r.testName, r.id, r.runner);
  try {
    // Stopped while holding: the harness below reports every job as canceled, as it would mid-run.
    await o.beforeStart?.(o.signal).catch((err: unknown) => {
      if (!o.signal.aborted) throw err;
    });
  } catch (err) {
    await pool?.close();
    throw err;
  }
  o.log(`Running load test: ${trafficMode(cfg)} traffic to ${runs.length} workspace(s) for ${formatGoDuration(cfg.durationMs)}${pool ? ` on ${pool.count} worker threads` : ""}...`);
  try {
    // The traffic lasts the duration; the phase deadline leaves room for the graceful close.
    await runPhase(harness, "run", o.signal, o.strategy.timeoutMs > 0 ? o.strategy.timeoutMs + CLOSE_ALLOWANCE_MS : 0);
  } catch (err) {
    o.log(`harness: ${getErrorMessage(err)}`);
  } finally {
    await pool?.close();
  }
  const results = harness.results();
  if (o.resultsPath) writeResultsJson(o.resultsPath, results);
  const counts = harness.outcomes();
  if (tally.totals.total > 0) o.log(`Retries: ${formatRetries(tally.totals)}`);
  return { results, counts, outcome: phaseOutcome(counts), retries: tally.totals };
}
