// Dashboard Traffic in the staged run: the slice's users walk the dashboard for the scenario's duration; actions tallied for the summary.
import { JobMetrics } from "../../metrics/registry.ts";
import type { ScenarioContext, ScenarioOutcome } from "../context.ts";
import { runDashboardPhase } from "./phase.ts";
import { DASHBOARD_TEST_NAME } from "./prepare.ts";
import { DashboardTally } from "./tally.ts";

/** The settings Dashboard Traffic reads (its rows of the settings table). */
export interface DashboardSettings {
  dashboardIntervalMs: number;
  dashboardJitterMs: number;
}

/** Every targeted user at once (the runner template's concurrency 0), each walking until the scenario's duration ends. */
export async function runDashboardScenario(ctx: ScenarioContext, s: DashboardSettings): Promise<ScenarioOutcome> {
  const tally = new DashboardTally();
  // Each user's run counts in the shared job families, by scenario, as the traffic scenarios' do.
  const jobs = new JobMetrics(ctx.metrics.runner, { scenario: ctx.name });
  jobs.zero(DASHBOARD_TEST_NAME);
  try {
    const r = await runDashboardPhase({
      client: ctx.client,
      targetUsers: ctx.slice.target,
      intervalMs: s.dashboardIntervalMs,
      jitterMs: s.dashboardJitterMs,
      durationMs: ctx.load.durationMs,
      registry: ctx.metrics.dashboard,
      tally,
      runDir: ctx.workDir,
      strategy: { concurrency: 0, timeoutMs: 0, jobTimeoutMs: 0 },
      events: () => ({
        runStarted: (run) => jobs.started(run.testName),
        runFinished: (run) => jobs.finished(run.testName, run.outcome ?? "failed", run.durationNs / 1e9),
        runNotStarted: (testName, _id, outcome) => jobs.notStarted(testName, outcome),
      }),
      signal: ctx.signal,
      log: ctx.log,
      resultsPath: ctx.resultsPath,
    });
    ctx.log(`dashboard: ${r.stats.length} user(s), screenshots in ${ctx.workDir}`);
    return { outcome: r.outcome, results: r.results, dashboard: tally.activity(r.stats, ctx.workDir) };
  } catch (err) {
    return { outcome: ctx.signal.aborted ? "canceled" : "failed", error: err instanceof Error ? err.message : String(err) };
  }
}
