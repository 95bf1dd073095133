// Is the runner itself the bottleneck? A pure judgement over one window of runner health, and a sampler that feeds it.
import { getErrorMessage } from "../errors.ts";
import { diff, lagQuantileMs, takeSnapshot, type RunSnapshot, type SnapshotSources } from "../metrics/snapshot.ts";
import type { SaturationFinding } from "./evaluate.ts";

/** Where a runner counts as saturated. */
export const SATURATION_LIMITS = {
  /** Ticks skipped because the event loop was more than an interval late, as a share of the ticks asked for. */
  lateSkipFraction: 0.01,
  /** Ticks skipped for backpressure or a missing echo, as a share: the generator's fault only while coderd is healthy. */
  backpressureSkipFraction: 0.05,
  /** Timer lateness p99 above this fraction of the shortest tick interval. */
  lagFractionOfTick: 0.5,
  /** Bytes written below this share of the target: the generator's fault only while coderd is healthy. */
  achievedFraction: 0.9,
  /** Runner CPU as a share of one core (the traffic runs on one thread). */
  cpuFraction: 0.9,
} as const;

export type SaturationLimits = { [K in keyof typeof SATURATION_LIMITS]: number };

/** Runner health over one window. */
export interface HealthWindow {
  seconds: number;
  /** Ticks skipped in the window, by reason (late, backpressure, echo_backlog). */
  skipped: Readonly<Record<string, number>>;
  /** Ticks the settings ask for in the window; undefined or 0 when no traffic was due. */
  expectedTicks?: number;
  /** Timer lateness p99 in the window (milliseconds); undefined without ticks. */
  lagP99Ms?: number;
  /** The shortest tick interval running (milliseconds). */
  tickIntervalMs?: number;
  bytesWritten: number;
  /** Bytes the settings ask for in the window. */
  targetBytes?: number;
  /** Runner process CPU time in the window (user + system, seconds). */
  cpuSeconds: number;
  /** Whether coderd answered promptly in the window (Prometheus); undefined when unknown. */
  coderdHealthy?: boolean;
}

/** The judgement: `limited` with reasons, and warnings that do not settle it (the bottleneck may be coderd or the network). */
export interface SaturationReport extends SaturationFinding {
  warnings: string[];
}

const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;

/** Judges one window (pure). */
export function assessSaturation(w: HealthWindow, limits: SaturationLimits = SATURATION_LIMITS): SaturationReport {
  const reasons: string[] = [];
  const warnings: string[] = [];
  const expected = w.expectedTicks ?? 0;
  if (expected > 0) {
    const late = w.skipped.late ?? 0;
    if (late / expected > limits.lateSkipFraction) {
      reasons.push(`${late} of ${Math.round(expected)} ticks (${pct(late / expected)}) skipped because the event loop ran more than a tick interval late`);
    }
    const pushed = (w.skipped.backpressure ?? 0) + (w.skipped.echo_backlog ?? 0);
    if (pushed / expected > limits.backpressureSkipFraction) {
      const text = `${pushed} of ${Math.round(expected)} ticks (${pct(pushed / expected)}) skipped for backpressure or a missing echo`;
      if (w.coderdHealthy) reasons.push(`${text} while coderd answered promptly`);
      else warnings.push(`${text} (coderd or the network may be the bottleneck)`);
    }
  }
  if (w.lagP99Ms !== undefined && w.tickIntervalMs && w.lagP99Ms > limits.lagFractionOfTick * w.tickIntervalMs) {
    reasons.push(`traffic timer late by ${w.lagP99Ms.toFixed(1)}ms at p99, above ${pct(limits.lagFractionOfTick)} of the ${w.tickIntervalMs}ms tick interval`);
  }
  if (w.targetBytes && w.targetBytes > 0) {
    const ratio = w.bytesWritten / w.targetBytes;
    if (ratio < limits.achievedFraction) {
      const text = `wrote ${pct(ratio)} of the target bytes`;
      if (w.coderdHealthy) reasons.push(`${text} while coderd answered promptly`);
      else warnings.push(`${text}${w.coderdHealthy === false ? " while coderd was slow" : " (coderd's health unknown)"}`);
    }
  }
  if (w.seconds > 0 && w.cpuSeconds / w.seconds >= limits.cpuFraction) {
    reasons.push(`runner process used ${pct(w.cpuSeconds / w.seconds)} of a CPU core`);
  }
  return { limited: reasons.length > 0, reasons, warnings };
}

/** What the run asks of the generator right now. */
export interface LoadTarget {
  ticksPerSecond: number;
  bytesPerSecond: number;
  /** The shortest tick interval of the connections due now (milliseconds). */
  tickIntervalMs: number;
  /**
   * Part of the load runs in shard pods, whose totals reach the registries only at the phase's end: its windows
   * are not judged one by one (they would see nothing written), only in the run's totals.
   */
  blind?: boolean;
}

/**
 * A phase boundary: what was due up to it (the window closing there is judged against that) and what is due after
 * it (the window opening there). Taken when the boundary happens, not when the sample gets to run.
 */
export interface Boundary {
  before: LoadTarget | undefined;
  after: LoadTarget | undefined;
}

export interface SamplerOptions {
  /** The run's registries (RunMetrics.runner and .traffic). */
  sources: SnapshotSources;
  /** Window length (default 5 s). */
  intervalMs?: number;
  /**
   * Shortest window judged on its own, and the least time under load the run's judgement needs (default 1 s):
   * rates over a sliver (a phase stopped by a signal right after it started, a dial burst) say nothing.
   * Shorter windows still count in the run's totals.
   */
  minWindowMs?: number;
  /** What is due now; undefined between load phases (windows without load are not judged). */
  target: () => LoadTarget | undefined;
  /** Whether coderd answered promptly over [start, end] (e.g. from Prometheus); undefined when unknown. */
  coderdHealthy?: (start: number, end: number) => Promise<boolean | undefined>;
  /** Each judged window, as it ends (live warnings). */
  onWindow?: (report: SaturationReport, window: HealthWindow) => void;
  limits?: SaturationLimits;
  log?: (line: string) => void;
}

/** Samples runner health every interval, judges each window under load, and keeps totals for the run. */
export class SaturationSampler {
  private timer?: NodeJS.Timeout;
  private last?: { snap: RunSnapshot; cpu: NodeJS.CpuUsage; target?: LoadTarget };
  private totals: HealthWindow & { lag: number[] } = { seconds: 0, skipped: {}, expectedTicks: 0, bytesWritten: 0, targetBytes: 0, cpuSeconds: 0, lag: [] };
  private minInterval = Infinity;
  private readonly minWindowMs: number;
  /** Windows under load added to the totals (judged or not). */
  private added = 0;
  private healthySeen?: boolean;
  private sampling?: Promise<void>;
  /** Samples run one after another, in the order asked. */
  private queue: Promise<void> = Promise.resolve();
  /** Windows judged under load, and how many of them were limited. */
  windows = 0;
  limitedWindows = 0;

  constructor(private readonly o: SamplerOptions) {
    this.minWindowMs = o.minWindowMs ?? 1000;
  }

  /** Starts sampling (the first window begins now). */
  async start(): Promise<void> {
    // Queued, so a boundary asked for while the first snapshot is taken closes a window after it.
    const first = this.queue.then(async () => {
      const snap = await takeSnapshot(this.o.sources);
      this.last = { snap, cpu: process.cpuUsage(), target: this.o.target() };
    });
    this.queue = first.catch(() => undefined);
    await first;
    this.timer = setInterval(() => void this.sample(), this.o.intervalMs ?? 5000);
    this.timer.unref();
  }

  /**
   * Closes the current window now. The interval's calls (no `boundary`) fold into one already under way; a phase
   * boundary always gets its own sample, after any under way, judged by what was due on each side of it.
   */
  sample(boundary?: Boundary): Promise<void> {
    if (!boundary && this.sampling) return this.sampling;
    const run = this.queue.then(() => this.sampleOnce(boundary)).catch((err) => this.o.log?.(`saturation: ${getErrorMessage(err)}`));
    this.queue = run;
    this.sampling = run;
    void run.finally(() => {
      if (this.sampling === run) this.sampling = undefined;
    });
    return run;
  }

  private async sampleOnce(boundary?: Boundary): Promise<void> {
    const prev = this.last;
    if (!prev) return;
    const snap = await takeSnapshot(this.o.sources);
    const cpu = process.cpuUsage();
    const target = boundary ? boundary.before : this.o.target();
    this.last = { snap, cpu, target: boundary ? boundary.after : target };
    // A window is judged when load was due at both of its ends (a phase boundary inside it would skew the target).
    const due = prev.target && target ? prev.target : undefined;
    if (!due) return;
    const seconds = (snap.t - prev.snap.t) / 1000;
    const lag = diff(snap.runner.lag, prev.snap.runner.lag);
    const skipped: Record<string, number> = {};
    for (const [reason, n] of Object.entries(snap.runner.skipped)) skipped[reason] = n - (prev.snap.runner.skipped[reason] ?? 0);
    const written = Object.entries(snap.traffic).reduce((n, [k, s]) => n + s.written - (prev.snap.traffic[k]?.written ?? 0), 0);
    const healthy = this.o.coderdHealthy ? await this.o.coderdHealthy(prev.snap.t, snap.t).catch(() => undefined) : undefined;
    const w: HealthWindow = {
      seconds,
      skipped,
      expectedTicks: due.ticksPerSecond * seconds,
      lagP99Ms: lagQuantileMs(0.99, lag),
      tickIntervalMs: due.tickIntervalMs,
      bytesWritten: written,
      targetBytes: due.bytesPerSecond * seconds,
      cpuSeconds: (cpu.user + cpu.system - prev.cpu.user - prev.cpu.system) / 1e6,
      coderdHealthy: healthy,
    };
    this.add(w, lag);
    if (seconds * 1000 < this.minWindowMs) return;
    this.windows++;
    if (due.blind || target?.blind) return;
    const report = assessSaturation(w, this.o.limits);
    if (report.limited) this.limitedWindows++;
    this.o.onWindow?.(report, w);
  }

  private add(w: HealthWindow, lag: number[]): void {
    const t = this.totals;
    t.seconds += w.seconds;
    for (const [k, n] of Object.entries(w.skipped)) (t.skipped as Record<string, number>)[k] = (t.skipped[k] ?? 0) + n;
    t.expectedTicks! += w.expectedTicks ?? 0;
    t.bytesWritten += w.bytesWritten;
    t.targetBytes! += w.targetBytes ?? 0;
    t.cpuSeconds += w.cpuSeconds;
    t.lag = lag.map((v, i) => v + (t.lag[i] ?? 0));
    this.minInterval = Math.min(this.minInterval, w.tickIntervalMs ?? Infinity);
    // Healthy over the run only if every window said so; unknown if any window did not know.
    const first = this.added++ === 0;
    this.healthySeen = w.coderdHealthy === undefined ? undefined : first ? w.coderdHealthy : this.healthySeen && w.coderdHealthy;
  }

  /** The run as a whole: one judgement over the totals of every window under load. */
  overall(): SaturationReport & { windows: number; limitedWindows: number } {
    const t = this.totals;
    const report =
      this.added === 0 || t.seconds * 1000 < this.minWindowMs
        ? { limited: false, reasons: [], warnings: [] }
        : assessSaturation(
            { ...t, lagP99Ms: lagQuantileMs(0.99, t.lag), tickIntervalMs: Number.isFinite(this.minInterval) ? this.minInterval : undefined, coderdHealthy: this.healthySeen },
            this.o.limits,
          );
    return { ...report, windows: this.windows, limitedWindows: this.limitedWindows };
  }

  /** Closes the last window and stops sampling. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.sample({ before: this.o.target(), after: undefined });
    this.last = undefined;
  }
}
