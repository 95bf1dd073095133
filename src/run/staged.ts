// The staged scale test: create workspaces → baseline → load scenarios (sequential or concurrent) → Complete|Failed.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { CoderClient } from "../coder/client.ts";
import { scenarioLoad, scenarioValues, type RunnerConfig } from "./config.ts";
import { getErrorMessage } from "../errors.ts";
import type { Annotator } from "../grafana/annotations.ts";
import type { RunSummary, ScenarioSummary, SummaryOutcome } from "../report/summary.ts";
import { failedStatus } from "../state/status.ts";
import { isAbortError, sleep } from "../util/abort.ts";
import { createWorkspacesForRun } from "../scenarios/create-workspaces/phase.ts";
import type { FinishedBuild } from "../verdict/client-values.ts";
import { greedyMode, greedyTraffic } from "./greedy.ts";
import { startRunMetrics, type RunMetrics } from "../metrics/run-metrics.ts";
import { planRun, renderPlan, type PlannedPhase, type PlannedScenario, type RunPlan } from "./plan.ts";
import { RunRecorder, runPaths, type PhaseResult } from "./recorder.ts";
import type { ConnectSettings, ScenarioContext, ScenarioOutcome } from "../scenarios/context.ts";
import { SCENARIOS } from "../scenarios/index.ts";
import { runShardedScenario, runsSharded } from "./sharded.ts";

/** Exit code of a run stopped by SIGTERM (128 + 15), as a shell would report it. */
export const EXIT_TERMINATED = 143;

export interface StagedOptions {
  cfg: RunnerConfig;
  /** Admin client with the runner's token. */
  client: CoderClient;
  /** Aborted on SIGTERM (workspace stop): traffic stops, results are written, the run ends Failed. */
  signal: AbortSignal;
  annotator: Annotator;
  /** Run ledger directory. */
  ledgerDir: string;
  log?: (line: string) => void;
  /** Metrics port per scenario (default from the table; tests pass 0 for a free port). */
  metricsPort?: (scenarioPort: number) => number;
  /** Called with the recorder before the first phase (the demo and tests watch progress through it). */
  onRecorder?: (recorder: RunRecorder) => void;
  /** CODER_BINARY and CODER_SCALETEST_RESOLVE, parsed. */
  connect?: ConnectSettings;
  /** Called once the metrics servers listen (the demo prints their URLs). */
  onMetrics?: (metrics: RunMetrics) => void;
  /** Called when a phase starts (`running`) and ends (the run watch). */
  onPhase?: (name: string, running: boolean) => void;
  /** Each workspace of "Creating workspaces" as its job ends (the run watch's live build thresholds). */
  onBuild?: (b: FinishedBuild) => void;
  /** Exit code of a run stopped through `signal` by its own watch (a failed abortOnFail threshold) rather than by SIGTERM. */
  stopExitCode?: () => number | undefined;
}

/** The options plus what runStaged set up for the phases. */
type Staged = StagedOptions & { metrics: RunMetrics; log: (l: string) => void };

/** How a staged run ended. */
export interface StagedResult {
  exitCode: number;
  summary: RunSummary;
  plan: RunPlan;
}

/** Runs the whole staged test (not the dry-run; see dryRun.ts). Never throws for a failed phase. */
export async function runStaged(o: StagedOptions): Promise<StagedResult> {
  const { cfg, signal, annotator } = o;
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const paths = runPaths(cfg.runDir);
  mkdirSync(paths.results, { recursive: true });
  mkdirSync(paths.state, { recursive: true });
  const plan = planRun(cfg);
  log(renderPlan(plan).trimEnd());

  const port = o.metricsPort ?? ((p: number) => p);
  const dashboardPlanned = plan.phases.some((p) => p.scenarios.some((s) => s.name === "Dashboard Traffic"));
  const metrics = await startRunMetrics({
    runId: cfg.runId,
    runnerPort: port(cfg.runnerMetricsPort),
    trafficPort: port(cfg.trafficMetricsPort),
    dashboardPort: dashboardPlanned ? port(cfg.dashboardMetricsPort) : undefined,
    log,
  });
  o.onMetrics?.(metrics);
  const staged: Staged = { ...o, metrics, log };
  const onPhase = (name: string, running: boolean) => (metrics.setPhase(name, running), o.onPhase?.(name, running));
  const recorder = new RunRecorder(paths.state, annotator, { log, onPhase });
  o.onRecorder?.(recorder);
  const startedAt = Date.now();
  const span = annotator.start(undefined, `Start scaletest: ${cfg.comment || "No comment provided"}`);
  recorder.status("Running");

  let failed = false;
  try {
    for (const phase of plan.phases) {
      if (signal.aborted) break;
      const result = await recorder.phase(phase.name, phase.kind, () => runPhaseBody(staged, phase, plan));
      if (result.outcome !== "passed") failed = true;
      // Without workspaces there is nothing to load; stop as upstream's set -e does.
      if (phase.kind === "create" && result.outcome !== "passed") break;
    }
    if (!signal.aborted && cfg.metricsLinger > 0) {
      log(`waiting ${Math.round(cfg.metricsLinger / 1000)}s for Prometheus to scrape the final values`);
      await sleep(cfg.metricsLinger, signal).catch(() => undefined);
    }
  } finally {
    await metrics.close();
  }

  const exitCode = signal.aborted ? (o.stopExitCode?.() ?? EXIT_TERMINATED) : failed ? 1 : 0;
  const status = exitCode === 0 ? "Complete" : failedStatus(exitCode);
  recorder.status(status);
  void annotator.end(span, { error: exitCode !== 0 });
  const summary: RunSummary = {
    runId: cfg.runId,
    status,
    startedAt,
    endedAt: Date.now(),
    phases: recorder.phases,
    resultsDir: paths.results,
  };
  return { exitCode, summary, plan };
}

async function runPhaseBody(o: Staged, phase: PlannedPhase, plan: RunPlan): Promise<PhaseResult> {
  const { cfg, signal, log } = o;
  const paths = runPaths(cfg.runDir);
  switch (phase.kind) {
    case "create": {
      const greedy = phase.name !== "Creating workspaces";
      const r = await createWorkspacesForRun({
        client: o.client,
        template: greedy ? cfg.greedyAgentTemplate : cfg.workspaceTemplate,
        count: greedy ? 1 : cfg.numWorkspaces,
        concurrency: greedy ? 1 : cfg.createConcurrency,
        ledgerDir: o.ledgerDir,
        runId: cfg.runId,
        resultsPath: join(paths.results, greedy ? "create-workspaces-greedy-agent.json" : "create-workspaces.json"),
        signal,
        log,
        onBuild: greedy ? undefined : o.onBuild,
      });
      // Build and agent connect figures are the workload's, not the greedy agent's.
      return greedy ? { outcome: r.outcome, error: r.error } : r;
    }
    case "wait":
      try {
        await sleep(phase.durationMs ?? 0, signal);
        return { outcome: "passed" };
      } catch (err) {
        if (isAbortError(err)) return { outcome: "canceled", error: "stopped during the baseline wait" };
        throw err;
      }
    case "load": {
      const phaseStart = phase.offsetMs ?? 0;
      const concurrent = plan.mode === "concurrent";
      const scenarios = await Promise.all(
        phase.scenarios.map(async (s) => {
          const delay = s.offsetMs - phaseStart;
          if (delay > 0) {
            try {
              await sleep(delay, signal);
            } catch {
              return { name: s.name, outcome: "canceled", error: "stopped before it started" } satisfies ScenarioSummary;
            }
          }
          return runScenario(o, s, concurrent);
        }),
      );
      const bad = scenarios.filter((s) => s.outcome !== "passed");
      const outcome: SummaryOutcome = bad.length === 0 ? "passed" : signal.aborted ? "canceled" : "failed";
      return { outcome, error: bad.length > 0 ? `${bad.map((s) => s.name).join(", ")} did not pass` : undefined, scenarios };
    }
  }
}

/** Runs one scenario (and its greedy side traffic); a throw becomes a failed scenario, never a failed run loop. */
async function runScenario(o: Staged, s: PlannedScenario, concurrent: boolean): Promise<ScenarioSummary> {
  const { cfg, signal, annotator, log } = o;
  const paths = runPaths(cfg.runDir);
  const row = SCENARIOS[s.name];
  const handle = concurrent ? annotator.start("scenario", `Load scenario: ${s.name}`) : undefined;
  const workDir = join(cfg.runDir, s.name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/-$/, ""));
  mkdirSync(workDir, { recursive: true });
  const ctx: ScenarioContext = {
    name: s.name,
    settings: scenarioValues(cfg, row),
    load: scenarioLoad(cfg, s.name),
    jobConcurrency: cfg.jobConcurrency,
    client: o.client,
    slice: { start: s.start, end: s.end, count: s.count, target: s.range },
    template: cfg.workspaceTemplate,
    resultsPath: join(paths.results, s.resultsFile),
    workDir,
    greedyWorkspace: cfg.greedyAgent ? { template: cfg.greedyAgentTemplate, ...greedyTraffic(cfg) } : undefined,
    metrics: o.metrics,
    connect: o.connect,
    signal,
    log: (l) => log(`[${s.name}] ${l}`),
  };
  const greedy = s.greedy ? runGreedy(o, s, ctx) : undefined;
  // Runner shards > 1: the phase runs as shard pods through the coordinator; the greedy side job stays here.
  const out = await guard(() => (runsSharded(cfg, row) ? runShardedScenario({ cfg, row, ctx, ledgerDir: o.ledgerDir }) : row.run(ctx)), signal);
  const greedyOut = await greedy;
  if (handle) void annotator.end(handle, { error: out.outcome !== "passed" });
  return {
    name: s.name,
    ...out,
    resultsPath: out.results ? ctx.resultsPath : undefined,
    greedy: greedyOut ? { outcome: greedyOut.outcome, error: greedyOut.error } : undefined,
  };
}

/** Upstream's greedy side job: wait a third of the scenario, then bulk traffic to the greedy workspace for a third. */
async function runGreedy(o: Staged, s: PlannedScenario, parent: ScenarioContext): Promise<ScenarioOutcome> {
  const { log } = o;
  const g = s.greedy!;
  try {
    await sleep(g.offsetMs - s.offsetMs, o.signal);
  } catch {
    return { outcome: "canceled", error: "stopped before greedy traffic started" };
  }
  const traffic = greedyTraffic(o.cfg);
  const mode = greedyMode(s.name);
  const row = mode === "ssh" ? SCENARIOS["SSH Traffic"] : SCENARIOS["Web Terminal Traffic"];
  const handle = o.annotator.start("greedy_agent", `${s.name}: Greedy agent traffic`);
  const out = await guard(
    () =>
      row.run({
        ...parent,
        name: row.name,
        settings: scenarioValues(o.cfg, row),
        load: { durationMs: g.durationMs, percentage: 100, bytesPerTick: traffic.bytesPerTick, tickIntervalMs: traffic.tickIntervalMs },
        slice: { start: 0, end: 1, count: 1, target: "0:1" },
        template: o.cfg.greedyAgentTemplate,
        greedy: { bytesPerTick: traffic.bytesPerTick, tickIntervalMs: traffic.tickIntervalMs, mode },
        resultsPath: parent.resultsPath.replace(/\.json$/, "-greedy-agent.json"),
        // The greedy job shares the scenario's metrics port; the scenario glue serves both from one registry.
        log: (l) => log(`[${s.name} greedy] ${l}`),
      }),
    o.signal,
  );
  void o.annotator.end(handle, { error: out.outcome !== "passed" });
  return out;
}

async function guard(fn: () => Promise<ScenarioOutcome>, signal: AbortSignal): Promise<ScenarioOutcome> {
  try {
    return await fn();
  } catch (err) {
    return { outcome: signal.aborted || isAbortError(err) ? "canceled" : "failed", error: getErrorMessage(err) };
  }
}
