// Everything that watches a staged run while it goes: time series, saturation, live thresholds (abortOnFail), the progress line;
// and, at its end, the verdict, the "Recent scale tests" row and report.html.
import { join } from "node:path";
import type { CoderClient } from "../coder/client.ts";
import { getErrorMessage } from "../errors.ts";
import { hasVerdict, verdictLines, type Verdict } from "../verdict/evaluate.ts";
import { finalVerdict, loadWindow, ThresholdMonitor } from "../verdict/monitor.ts";
import type { PrometheusTarget } from "../verdict/prometheus.ts";
import { SaturationSampler, type LoadTarget } from "../verdict/saturation.ts";
import type { Threshold } from "../verdict/threshold.ts";
import { writeReport, writeRunReport } from "./html.ts";
import { LiveProgress, type PhaseNow } from "./live-progress.ts";
import { buildStats, runData } from "./run-data.ts";
import { buildStatsOf, type FinishedBuild } from "../verdict/client-values.ts";
import { buildScaleTestRow } from "./scale-row.ts";
import type { SnapshotSources } from "../metrics/snapshot.ts";
import type { PhaseSummary, RunSummary } from "./summary.ts";
import { TimeSeriesRecorder } from "./timeseries.ts";

/** What one scenario of a phase asks of the generator (from the run's plan). */
export interface PlannedLoad {
  name: string;
  connections: number;
  durationMs: number;
  /** All its connections together; undefined for Dashboard Traffic. */
  bytesPerSecond?: number;
  /** Tick interval of its connections (milliseconds); undefined for Dashboard Traffic. */
  tickIntervalMs?: number;
  /** Driven by shard pods (Runner shards > 1): the run's registries get its totals only at its end, not live. */
  sharded?: boolean;
}

/** The plan as the watch needs it: each phase's kind, planned length and load. */
export interface WatchPlan {
  phases: ReadonlyArray<{ name: string; kind: PhaseSummary["kind"]; durationMs?: number; scenarios: readonly PlannedLoad[] }>;
}

export interface RunWatchOptions {
  runDir: string;
  /** The run's registries (runner, traffic, dashboard). */
  sources: SnapshotSources;
  plan: WatchPlan;
  thresholds: readonly Threshold[];
  prometheus?: PrometheusTarget;
  /** Where the progress line goes (stderr); none: no progress line. */
  progress?: NodeJS.WritableStream & { isTTY?: boolean };
  log: (line: string) => void;
  /** An abortOnFail threshold failed: stop the run (its cleanup follows the strategy). */
  onAbort?: (threshold: string) => void;
  /** Intervals in milliseconds (tests make them short). */
  intervals?: { timeseries?: number; saturation?: number; thresholds?: number; progress?: number; saturationMinWindow?: number };
}

/** The watch over one staged run. Feed it phase starts and ends; call finish() with the summary at the end. */
export class RunWatch {
  private readonly recorder: TimeSeriesRecorder;
  private readonly sampler: SaturationSampler;
  private readonly monitor: ThresholdMonitor;
  private readonly progress?: LiveProgress;
  private current?: PhaseNow & { loads: readonly PlannedLoad[] };
  private lastSaturation?: string;
  /** Workspaces built in the current phase (a create phase), as their jobs ended. */
  private builds: FinishedBuild[] = [];
  /** Phase events and starts run one after another, in order. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: RunWatchOptions) {
    const targets = () => this.targets();
    this.recorder = new TimeSeriesRecorder({ sources: o.sources, intervalMs: o.intervals?.timeseries ?? 5000, targets, log: o.log });
    this.sampler = new SaturationSampler({
      sources: o.sources,
      intervalMs: o.intervals?.saturation ?? 5000,
      minWindowMs: o.intervals?.saturationMinWindow,
      target: () => this.loadTarget(),
      log: o.log,
      onWindow: (r, w) => {
        this.lastSaturation = r.limited ? r.reasons[0] : undefined;
        if (r.limited) o.log(`saturation: the runner fell behind in the last ${w.seconds.toFixed(0)}s: ${r.reasons.join("; ")}`);
      },
    });
    this.monitor = new ThresholdMonitor({
      thresholds: o.thresholds,
      sources: o.sources,
      prometheus: o.prometheus,
      intervalMs: o.intervals?.thresholds ?? 10_000,
      targets,
      builds: () => buildStatsOf(this.builds),
      log: o.log,
      onAbort: (r) => o.onAbort?.(r.threshold),
    });
    if (o.progress) {
      this.progress = new LiveProgress({
        stream: o.progress,
        sources: o.sources,
        phase: () => this.current,
        thresholds: () => this.monitor.latest,
        saturation: () => this.lastSaturation,
        intervalMs: o.intervals?.progress,
      });
    }
    this.enqueue(async () => {
      await this.recorder.start();
      await this.sampler.start();
      this.progress?.start();
    });
  }

  private enqueue(step: () => Promise<unknown>): void {
    this.chain = this.chain.then(step).catch((err) => this.o.log(`run watch: ${getErrorMessage(err)}`));
  }

  /** Target bytes per second of each scenario running now (display name → bytes/s). */
  private targets(): Record<string, number> {
    return Object.fromEntries((this.current?.loads ?? []).filter((l) => l.bytesPerSecond).map((l) => [l.name, l.bytesPerSecond!]));
  }

  /** What the generator owes while a load phase runs (undefined otherwise: no saturation judgement). */
  private loadTarget(): LoadTarget | undefined {
    const loads = (this.current?.kind === "load" ? this.current.loads : []).filter((l) => l.bytesPerSecond && l.tickIntervalMs);
    if (loads.length === 0) return undefined;
    return {
      ticksPerSecond: loads.reduce((n, l) => n + (l.connections * 1000) / l.tickIntervalMs!, 0),
      bytesPerSecond: loads.reduce((n, l) => n + l.bytesPerSecond!, 0),
      tickIntervalMs: Math.min(...loads.map((l) => l.tickIntervalMs!)),
      blind: loads.some((l) => l.sharded),
    };
  }

  /** A phase started (`running`) or ended: the RunRecorder's onPhase. */
  phase(name: string, running: boolean): void {
    if (!running) {
      const ending = this.current;
      // Taken now: the next phase may start before these steps run (the staged run starts a baseline wait at once).
      const due = this.loadTarget();
      const at = { targets: this.targets(), builds: buildStatsOf(this.builds) };
      // The window up to the phase's end is judged against its load (a sharded phase's totals land right at the end).
      void this.sampler.sample({ before: due, after: undefined });
      this.enqueue(async () => {
        const results = await this.monitor.endPhase(at);
        for (const r of results.filter((x) => x.status === "fail")) this.o.log(`threshold failed during ${name}: ${r.threshold} (observed ${r.observedText})`);
        await this.recorder.sample();
        if (this.current === ending) this.current = undefined;
      });
      return;
    }
    const planned = this.o.plan.phases.find((p) => p.name === name);
    const startedAt = Date.now();
    this.current = {
      name,
      kind: planned?.kind ?? (name.startsWith("Cleanup") ? "cleanup" : "load"),
      endsAt: planned?.durationMs !== undefined ? startedAt + planned.durationMs : undefined,
      loads: planned?.scenarios ?? [],
      targets: Object.fromEntries((planned?.scenarios ?? []).filter((l) => l.bytesPerSecond).map((l) => [l.name, l.bytesPerSecond!])),
    };
    const kind = this.current.kind;
    this.builds = [];
    this.progress?.phaseStarted(name);
    // A window opens at a load phase's start, so a phase shorter than one window is still judged.
    const due = this.loadTarget();
    if (due) void this.sampler.sample({ before: undefined, after: due });
    this.enqueue(async () => {
      await this.recorder.sample();
      // Thresholds are watched while workspaces are built (build, agent connect, coderd) and while load runs.
      if (kind === "load" || kind === "create") await this.monitor.startPhase(name);
    });
  }

  /** A workspace of the create phase finished (its job ended): the staged run's onBuild. */
  build(b: FinishedBuild): void {
    this.builds.push(b);
  }

  /** The threshold that stopped the run, if one did. */
  get abortedBy(): string | undefined {
    return this.monitor.abortedBy;
  }

  /**
   * Stops watching; writes timeseries.json; puts each scenario's target, the saturation, the verdict and the
   * "Recent scale tests" row on `summary`. Returns the verdict.
   */
  async finish(summary: RunSummary, o: { client?: Pick<CoderClient, "buildInfo">; signal?: AbortSignal } = {}): Promise<Verdict> {
    await this.chain;
    this.monitor.stop();
    await this.progress?.stop();
    await this.sampler.stop();
    await this.recorder.stop();
    try {
      this.recorder.write(this.o.runDir);
    } catch (err) {
      this.o.log(`time series: not written: ${getErrorMessage(err)}`);
    }
    for (const p of summary.phases) {
      const planned = this.o.plan.phases.find((x) => x.name === p.name);
      for (const s of p.scenarios) {
        const l = planned?.scenarios.find((x) => x.name === s.name);
        if (l && !s.target) s.target = { bytesPerSecond: l.bytesPerSecond, durationMs: l.durationMs, connections: l.connections };
      }
    }
    summary.reportPath = join(this.o.runDir, "report.html");
    const overall = this.sampler.overall();
    summary.saturation = overall;
    const data = runData(this.o.runDir, summary);
    summary.verdict = await finalVerdict({
      thresholds: this.o.thresholds,
      summary,
      builds: buildStats(data.builds),
      prometheus: this.o.prometheus,
      saturation: overall,
      abortedBy: this.monitor.abortedBy,
      log: this.o.log,
      signal: o.signal,
    });
    summary.scaleTestRow = await buildScaleTestRow(data, { client: o.client, prometheus: this.o.prometheus, window: loadWindow(summary), log: this.o.log, signal: o.signal });
    if (hasVerdict(summary.verdict)) this.o.log(verdictLines(summary.verdict)[0]!);
    return summary.verdict;
  }

  /**
   * Writes report.html; a failure is logged, never fatal. From `summary` when given (the run's own, also when it
   * threw before writing summary.json), else from the run dir's summary.json.
   */
  async report(summary?: RunSummary): Promise<string | undefined> {
    try {
      return summary ? await writeRunReport(runData(this.o.runDir, summary)) : await writeReport(this.o.runDir);
    } catch (err) {
      this.o.log(`report: not written: ${getErrorMessage(err)}`);
      return undefined;
    }
  }
}
