// The staged run's "Dashboard Traffic" row: serves the dashboard metrics, drives the slice's users for the scenario duration, writes results, tallies the actions.
import { writeFile } from "node:fs/promises";
import { getErrorMessage } from "../../errors.ts";
import { Harness, concurrent, encodeResultsJson, type OutcomeCounts } from "../../harness/index.ts";
import { createRegistry, JobMetrics } from "../../metrics/registry.ts";
import { startMetricsServer } from "../../metrics/server.ts";
import type { SummaryOutcome } from "../../report/summary.ts";
import type { ScenarioContext, ScenarioOutcome } from "../index.ts";
import { DASHBOARD_TEST_NAME, prepareDashboard, type DashboardPlan } from "./prepare.ts";
import { DashboardTally } from "./tally.ts";

/** Worst outcome first: any cancellation, then failures, then deadlines; all passed otherwise. */
export function summaryOutcome(counts: OutcomeCounts): SummaryOutcome {
  if (counts.canceled > 0) return "canceled";
  if (counts.failed > 0) return "failed";
  if (counts.timed_out > 0) return "timed_out";
  return "passed";
}

/** Runs Dashboard Traffic for the staged run: every targeted user at once (the runner template's concurrency 0). */
export async function runDashboardScenario(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  // The staged run serves the dashboard families for the whole run (final values get scraped during the linger);
  // without it the scenario serves its own. Port 0 (tests) listens on loopback only; a fixed port is scraped from outside the pod.
  const registry = ctx.metrics?.dashboard ?? createRegistry();
  const server = ctx.metrics?.dashboard ? undefined : await startMetricsServer(registry, `${ctx.metricsPort === 0 ? "127.0.0.1" : "0.0.0.0"}:${ctx.metricsPort}`, ctx.log);
  let plan: DashboardPlan | undefined;
  const tally = new DashboardTally();
  try {
    plan = await prepareDashboard({
      client: ctx.client,
      targetUsers: ctx.slice.target,
      intervalMs: ctx.cfg.dashboardInterval,
      jitterMs: ctx.cfg.dashboardJitter,
      durationMs: ctx.load.duration,
      registry,
      tally,
      runDir: ctx.workDir,
      signal: ctx.signal,
    });
    ctx.log(`dashboard: ${plan.runs.length} user(s), interval ${ctx.cfg.dashboardInterval}ms ± ${ctx.cfg.dashboardJitter}ms, screenshots in ${ctx.workDir}`);
    // The staged run counts each user's run in the shared job families, by scenario, as the traffic scenarios do.
    const jobs = ctx.metrics && new JobMetrics(ctx.metrics.runner, { scenario: ctx.name });
    jobs?.zero(DASHBOARD_TEST_NAME);
    const harness = new Harness({
      strategy: concurrent(0),
      events: { runFinished: (run) => jobs?.finished(run.testName, run.outcome ?? "failed", run.durationNs / 1e9) },
    });
    for (const r of plan.runs) harness.addRun(r.testName, r.id, r.runner);
    await harness.run(ctx.signal);
    const results = harness.results();
    await writeFile(ctx.resultsPath, encodeResultsJson(results));
    const dashboard = tally.activity(plan.runs.map((r) => r.runner.stats), ctx.workDir);
    return { outcome: summaryOutcome(harness.outcomes()), results, dashboard };
  } catch (err) {
    return { outcome: ctx.signal.aborted ? "canceled" : "failed", error: getErrorMessage(err) };
  } finally {
    await plan?.dispose().catch((err: unknown) => ctx.log(`dashboard: delete API tokens: ${getErrorMessage(err)}`));
    await server?.close();
  }
}
