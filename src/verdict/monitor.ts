// Thresholds while a run goes on (each phase, every interval and at its end, abortOnFail), and the verdict at its end.
import { getErrorMessage } from "../errors.ts";
import { takeSnapshot, type RunSnapshot, type SnapshotSources } from "../metrics/snapshot.ts";
import type { RunSummary } from "../report/summary.ts";
import { liveValues, summaryValues, type BuildStats } from "./client-values.ts";
import { evaluateThresholds, verdictOf, type SaturationFinding, type ThresholdResult, type Verdict } from "./evaluate.ts";
import { coderdValues, type PrometheusTarget } from "./prometheus.ts";
import type { Threshold } from "./threshold.ts";

export interface MonitorOptions {
  thresholds: readonly Threshold[];
  /** The run's registries (RunMetrics.runner / traffic / dashboard). */
  sources: SnapshotSources;
  /** Where coderd thresholds are queried; without it they show no data. */
  prometheus?: PrometheusTarget;
  /** Evaluation interval while a phase runs (default 10 s). */
  intervalMs?: number;
  /** Target bytes per second of each scenario running now (display name → bytes/s), for achieved ratios. */
  targets?: () => Readonly<Record<string, number>>;
  /** The workspaces built so far in the phase (a create phase), for build and agent connect times. */
  builds?: () => BuildStats | undefined;
  /** Called once, with the first abortOnFail threshold that failed after its grace: the run should stop. */
  onAbort?: (failed: ThresholdResult) => void;
  log?: (line: string) => void;
  now?: () => number;
}

/** What a phase ended with, taken as it ended. */
export interface PhaseEnd {
  targets: Readonly<Record<string, number>>;
  builds?: BuildStats;
}

/** Evaluates the thresholds over the current phase: from its start to now. */
export class ThresholdMonitor {
  private phaseStart = 0;
  private phaseName = "";
  private base?: RunSnapshot;
  private timer?: NodeJS.Timeout;
  private running?: Promise<ThresholdResult[]>;
  private readonly now: () => number;
  /** The latest results (for the progress line). */
  latest: ThresholdResult[] = [];
  /** The threshold text that stopped the run, once one did. */
  abortedBy?: string;

  constructor(private readonly o: MonitorOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Starts evaluating a phase: its window begins now. */
  async startPhase(name: string): Promise<void> {
    this.stopTimer();
    this.phaseName = name;
    this.phaseStart = this.now();
    this.base = await takeSnapshot(this.o.sources, this.phaseStart);
    this.latest = [];
    if (this.o.thresholds.length === 0) return;
    this.timer = setInterval(() => void this.evaluate().catch((err) => this.o.log?.(`thresholds: ${getErrorMessage(err)}`)), this.o.intervalMs ?? 10_000);
    this.timer.unref();
  }

  /**
   * Evaluates once more at the phase's end and stops the interval; returns the phase's results. `at`: the
   * ending phase's targets and builds, taken when it ended (the next phase may have started since).
   */
  async endPhase(at?: PhaseEnd): Promise<ThresholdResult[]> {
    this.stopTimer();
    if (this.o.thresholds.length === 0 || !this.base) return [];
    await this.running;
    this.running = this.evaluateOnce(at).finally(() => (this.running = undefined));
    return this.running;
  }

  /** Evaluates now (one evaluation at a time); calls onAbort for an abortOnFail threshold that failed after its grace. */
  evaluate(): Promise<ThresholdResult[]> {
    this.running ??= this.evaluateOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async evaluateOnce(at?: PhaseEnd): Promise<ThresholdResult[]> {
    const base = this.base ?? (await takeSnapshot(this.o.sources, this.phaseStart));
    const t = this.now();
    const snap = await takeSnapshot(this.o.sources, t);
    const values = liveValues(base, snap, at ? at.targets : (this.o.targets?.() ?? {}), at ? at.builds : this.o.builds?.());
    if (this.o.prometheus) {
      const c = await coderdValues(this.o.thresholds, { prometheus: this.o.prometheus, start: this.phaseStart, end: t });
      for (const [k, v] of c.values) values.set(k, v);
      for (const e of c.errors) this.o.log?.(`thresholds: ${e}`);
    }
    this.latest = evaluateThresholds(this.o.thresholds, values);
    if (!this.abortedBy) {
      const elapsed = t - this.phaseStart;
      const failed = this.latest.find((r, i) => r.status === "fail" && r.abortOnFail && elapsed >= this.o.thresholds[i]!.abortGraceMs);
      if (failed) {
        this.abortedBy = failed.threshold;
        this.o.log?.(`thresholds: "${failed.threshold}" failed during ${this.phaseName} (observed ${failed.observedText}); abortOnFail stops the run`);
        this.o.onAbort?.(failed);
      }
    }
    return this.latest;
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops evaluating. */
  stop(): void {
    this.stopTimer();
  }
}

/** The load window of a run: from the first load phase's start to the last one's end (the whole run without one). */
export function loadWindow(summary: RunSummary): { start: number; end: number } {
  const load = summary.phases.filter((p) => p.kind === "load");
  if (load.length === 0) return { start: summary.startedAt, end: summary.endedAt ?? Date.now() };
  return { start: Math.min(...load.map((p) => p.startedAt)), end: Math.max(...load.map((p) => p.endedAt ?? Date.now())) };
}

/**
 * The verdict at the end of a run: client thresholds on the summary's exact figures (and the build times), coderd
 * thresholds over the load window, saturation folded in.
 */
export async function finalVerdict(o: {
  thresholds: readonly Threshold[];
  summary: RunSummary;
  builds?: BuildStats;
  prometheus?: PrometheusTarget;
  saturation?: SaturationFinding;
  abortedBy?: string;
  log?: (line: string) => void;
  signal?: AbortSignal;
}): Promise<Verdict> {
  const values = summaryValues(o.summary, o.builds);
  if (o.prometheus && o.thresholds.some((t) => t.metric.side === "coderd")) {
    const c = await coderdValues(o.thresholds, { prometheus: o.prometheus, ...loadWindow(o.summary), signal: o.signal });
    for (const [k, v] of c.values) values.set(k, v);
    for (const e of c.errors) o.log?.(`thresholds: ${e}`);
  }
  return verdictOf(o.thresholds, evaluateThresholds(o.thresholds, values), o.saturation, o.abortedBy);
}
