// The staged run's traffic rows (SSH, Web Terminal, App): workspace-traffic on the scenario's slice, with per-scenario tallies.
import { writeFile } from "node:fs/promises";
import { getErrorMessage } from "../errors.ts";
import { Harness, runPhase } from "../harness/harness.ts";
import { encodeResultsJson } from "../harness/results.ts";
import { strategyFromConfig } from "../harness/strategies.ts";
import { JobMetrics, TrafficMetrics, type TrafficLabels } from "../metrics/registry.ts";
import type { SummaryOutcome } from "../report/summary.ts";
import { defaultWorkspaceTrafficConfig, prepareWorkspaceTraffic, WORKSPACE_TRAFFIC_TEST_NAME, type TrafficMode } from "../scenarios/workspace-traffic.ts";
import type { ConnMetrics } from "../traffic/conn.ts";
import { LatencyRecorder } from "../traffic/stats.ts";
import type { ScenarioContext, ScenarioOutcome } from "./scenarios.ts";

/** The `scenario` label of the greedy agent's side traffic (it runs inside another scenario, on its own workspace). */
const GREEDY_SCENARIO_LABEL = "Greedy Agent";

/** Upstream's graceful-close allowance after the traffic duration (job timeout = duration + 30 s, plus 5 s). */
const CLOSE_ALLOWANCE_MS = 35_000;

/** The traffic families on the shared registry, plus this scenario's own byte and round-trip tallies for the summary. */
class TallyingTrafficMetrics extends TrafficMetrics {
  // Named apart from the base class's (TS-private, so same JS property namespace) counters.
  tallyRead = 0;
  tallyWritten = 0;
  /** Round trips in milliseconds. */
  readonly tallyRoundTrip = new LatencyRecorder();

  override connMetrics(labels: TrafficLabels): ConnMetrics {
    const inner = super.connMetrics(labels);
    // The handle is a class instance: delegate each call (a spread would copy no methods).
    return {
      readError: () => inner.readError(),
      writeError: () => inner.writeError(),
      observeReadLatency: (s) => inner.observeReadLatency(s),
      observeWriteLatency: (s) => inner.observeWriteLatency(s),
      addRead: (n) => {
        this.tallyRead += n;
        inner.addRead(n);
      },
      addWritten: (n) => {
        this.tallyWritten += n;
        inner.addWritten(n);
      },
      observeRoundTrip: (s) => {
        this.tallyRoundTrip.record(s * 1000);
        inner.observeRoundTrip(s);
      },
    };
  }
}

/** Worst outcome first, as the harness counted them. */
function outcomeOf(counts: { failed: number; canceled: number; timed_out: number }): SummaryOutcome {
  if (counts.canceled > 0) return "canceled";
  if (counts.failed > 0) return "failed";
  if (counts.timed_out > 0) return "timed_out";
  return "passed";
}

/** A table row's `run` for one traffic mode (the greedy job passes `overrides.mode`). */
export function trafficScenario(mode: TrafficMode): (ctx: ScenarioContext) => Promise<ScenarioOutcome> {
  return async (ctx) => {
    const shared = ctx.metrics;
    if (!shared) throw new Error("traffic scenarios need the run's shared metrics (scheduler, registries)");
    const m = ctx.overrides?.mode ?? mode;
    const cfg = {
      ...defaultWorkspaceTrafficConfig,
      template: ctx.template,
      targetWorkspaces: ctx.slice.target,
      bytesPerTick: ctx.overrides?.bytesPerTick ?? ctx.load.bytesPerTick ?? defaultWorkspaceTrafficConfig.bytesPerTick,
      tickIntervalMs: ctx.overrides?.tickIntervalMs ?? ctx.load.tickInterval ?? defaultWorkspaceTrafficConfig.tickIntervalMs,
      durationMs: ctx.load.duration,
      ssh: m === "ssh",
      app: m === "app" ? ctx.cfg.appMode : "",
      coderBinary: m === "ssh" ? (ctx.connect?.coderBinary ?? "coder") : undefined,
      resolve: ctx.connect?.resolve,
    };
    // The staged run labels its traffic by scenario (the dashboard splits by it); the standalone command does not.
    const scenario = ctx.overrides ? GREEDY_SCENARIO_LABEL : ctx.name;
    const traffic = new TallyingTrafficMetrics(shared.traffic, { scenario });
    const jobs = new JobMetrics(shared.runner, { scenario });
    jobs.zero(WORKSPACE_TRAFFIC_TEST_NAME);
    const plan = await prepareWorkspaceTraffic(
      ctx.client,
      { cfg, scheduler: shared.scheduler, traffic, health: shared.health, jobs },
      { signal: ctx.signal },
    );
    for (const l of [...plan.stdout, ...plan.stderr]) ctx.log(l);
    ctx.log(`${m} traffic to ${plan.runs.length} workspace(s) (${ctx.slice.target}) for ${Math.round(cfg.durationMs / 1000)}s`);
    const harness = new Harness({
      strategy: strategyFromConfig({ concurrency: ctx.cfg.jobConcurrency, timeoutMs: cfg.durationMs, jobTimeoutMs: cfg.durationMs + 30_000 }),
    });
    for (const r of plan.runs) harness.addRun(r.testName, r.id, r.runner);
    try {
      await runPhase(harness, "run", ctx.signal, cfg.durationMs + CLOSE_ALLOWANCE_MS);
    } catch (err) {
      ctx.log(`harness: ${getErrorMessage(err)}`);
    }
    const results = harness.results();
    await writeFile(ctx.resultsPath, encodeResultsJson(results));
    const counts = harness.outcomes();
    const rt = traffic.tallyRoundTrip;
    return {
      outcome: outcomeOf(counts),
      results,
      error: results.total_fail > 0 ? `${results.total_fail} of ${results.total_runs} jobs did not pass` : undefined,
      bytesRead: traffic.tallyRead,
      bytesWritten: traffic.tallyWritten,
      roundTrip: rt.count > 0 ? { samples: rt.count, p50: rt.percentile(50), p95: rt.percentile(95), p99: rt.percentile(99) } : undefined,
    };
  };
}
