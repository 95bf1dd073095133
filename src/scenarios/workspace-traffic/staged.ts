// A traffic row in the staged run: the scenario's slice and settings become a workspace-traffic config; bytes and round trips are tallied for the summary.
import { JobMetrics, TrafficMetrics, type TrafficLabels } from "../../metrics/registry.ts";
import type { ConnMetrics } from "../../traffic/conn.ts";
import { LatencyRecorder } from "../../traffic/stats.ts";
import type { ScenarioContext, ScenarioOutcome } from "../context.ts";
import { defaultWorkspaceTrafficConfig, type TrafficMode } from "./config.ts";
import { runWorkspaceTrafficPhase } from "./phase.ts";

/** The `scenario` label of the greedy agent's side traffic (it runs inside another scenario, on its own workspace). */
const GREEDY_SCENARIO_LABEL = "Greedy Agent";

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

/** Runs one traffic scenario (or the greedy side job, when ctx.greedy is set) for the staged run. */
export async function runTrafficScenario(ctx: ScenarioContext, scenarioMode: TrafficMode, app: string): Promise<ScenarioOutcome> {
  const mode = ctx.greedy?.mode ?? scenarioMode;
  const cfg = {
    ...defaultWorkspaceTrafficConfig,
    template: ctx.template,
    targetWorkspaces: ctx.slice.target,
    bytesPerTick: ctx.greedy?.bytesPerTick ?? ctx.load.bytesPerTick ?? defaultWorkspaceTrafficConfig.bytesPerTick,
    tickIntervalMs: ctx.greedy?.tickIntervalMs ?? ctx.load.tickIntervalMs ?? defaultWorkspaceTrafficConfig.tickIntervalMs,
    durationMs: ctx.load.durationMs,
    ssh: mode === "ssh",
    app: mode === "app" ? app : "",
    coderBinary: mode === "ssh" ? (ctx.connect?.coderBinary ?? "coder") : undefined,
    resolve: ctx.connect?.resolve,
  };
  // The staged run labels its traffic by scenario (the dashboard splits by it); the standalone command does not.
  const scenario = ctx.greedy ? GREEDY_SCENARIO_LABEL : ctx.name;
  const traffic = new TallyingTrafficMetrics(ctx.metrics.traffic, { scenario });
  const r = await runWorkspaceTrafficPhase({
    client: ctx.client,
    cfg,
    strategy: { concurrency: ctx.jobConcurrency, timeoutMs: cfg.durationMs, jobTimeoutMs: cfg.durationMs + 30_000 },
    scheduler: ctx.metrics.scheduler,
    traffic,
    health: ctx.metrics.health,
    jobs: new JobMetrics(ctx.metrics.runner, { scenario }),
    signal: ctx.signal,
    log: ctx.log,
    resultsPath: ctx.resultsPath,
  });
  const rt = traffic.tallyRoundTrip;
  return {
    outcome: r.outcome,
    results: r.results,
    error: r.results.total_fail > 0 ? `${r.results.total_fail} of ${r.results.total_runs} jobs did not pass` : undefined,
    bytesRead: traffic.tallyRead,
    bytesWritten: traffic.tallyWritten,
    roundTrip: rt.count > 0 ? { samples: rt.count, p50: rt.percentile(50), p95: rt.percentile(95), p99: rt.percentile(99) } : undefined,
    retries: r.retries,
  };
}
