// The run's time series: registry readings every few seconds in bounded memory, written as timeseries.json in the run dir.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { getErrorMessage } from "../errors.ts";
import { LAG_BUCKETS } from "../metrics/health.ts";
import { DEFAULT_BUCKETS } from "../metrics/names.ts";
import { ROUND_TRIP_BUCKETS } from "../metrics/registry.ts";
import { actionQuantileMs, diff, rttQuantileMs, takeSnapshot, type RunSnapshot, type SnapshotSources } from "../metrics/snapshot.ts";

/** One reading: cumulative counters (so any two points give exact deltas), and the target bytes/s due then. */
export interface TimePoint extends RunSnapshot {
  /** Target bytes per second of each scenario running at this moment. */
  target?: Record<string, number>;
}

/** What timeseries.json holds. */
export interface TimeSeriesFile {
  version: 1;
  /** The sampling interval asked for (milliseconds); `stride` readings of it lie between two kept points. */
  intervalMs: number;
  capacity: number;
  stride: number;
  /** Bucket bounds (seconds) of the cumulative arrays: round trip, dashboard actions, timer lateness. */
  buckets: { roundTrip: number[]; dashboard: number[]; lag: number[] };
  points: TimePoint[];
}

export interface RecorderOptions {
  sources: SnapshotSources;
  /** Sampling interval (default 5 s). */
  intervalMs?: number;
  /** Most points kept (default 720: an hour at 5 s before the first halving). */
  capacity?: number;
  /** Target bytes/s per running scenario now (from the plan). */
  targets?: () => Readonly<Record<string, number>> | undefined;
  log?: (line: string) => void;
  now?: () => number;
}

/**
 * Samples the registries every interval. At `capacity` points every other point is dropped and only every second
 * reading is kept from then on: memory stays bounded and, since the points are cumulative, deltas stay exact.
 */
export class TimeSeriesRecorder {
  private readonly points: TimePoint[] = [];
  private readonly capacity: number;
  private readonly intervalMs: number;
  private stride = 1;
  private readings = 0;
  private timer?: NodeJS.Timeout;
  private sampling?: Promise<void>;

  constructor(private readonly o: RecorderOptions) {
    this.capacity = Math.max(4, o.capacity ?? 720);
    this.intervalMs = o.intervalMs ?? 5000;
  }

  /** Takes the first reading now and one every interval after. */
  async start(): Promise<void> {
    await this.sample(true);
    this.timer = setInterval(() => void this.sample(false), this.intervalMs);
    this.timer.unref();
  }

  /** Takes a reading; kept when `force` or on the stride. */
  sample(force = true): Promise<void> {
    this.sampling ??= this.read(force)
      .catch((err) => this.o.log?.(`time series: ${getErrorMessage(err)}`))
      .finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  private async read(force: boolean): Promise<void> {
    this.readings++;
    if (!force && this.readings % this.stride !== 0) return;
    const snap = await takeSnapshot(this.o.sources, (this.o.now ?? Date.now)());
    const target = this.o.targets?.();
    this.points.push(target && Object.keys(target).length > 0 ? { ...snap, target: { ...target } } : snap);
    if (this.points.length >= this.capacity) this.halve();
  }

  /** Keeps every other point (always the first and the newest) and doubles the stride. */
  private halve(): void {
    const kept = this.points.filter((_, i) => i % 2 === 0 || i === this.points.length - 1);
    this.points.length = 0;
    this.points.push(...kept);
    this.stride *= 2;
  }

  /** Takes the last reading and stops. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.sampling;
    await this.sample(true);
  }

  /** The file's contents so far. */
  toJSON(): TimeSeriesFile {
    return {
      version: 1,
      intervalMs: this.intervalMs,
      capacity: this.capacity,
      stride: this.stride,
      buckets: { roundTrip: ROUND_TRIP_BUCKETS, dashboard: DEFAULT_BUCKETS, lag: LAG_BUCKETS },
      points: [...this.points],
    };
  }

  /** Writes timeseries.json into the run directory; returns its path. */
  write(runDir: string): string {
    const path = join(runDir, "timeseries.json");
    writeFileSync(path, `${JSON.stringify(this.toJSON())}\n`);
    return path;
  }
}

/** One scenario between two kept points: rates and round-trip percentiles over that interval. */
export interface ScenarioRow {
  /** End of the interval (epoch ms). */
  t: number;
  scenario: string;
  bytesPerSecond: number;
  targetBytesPerSecond?: number;
  p50?: number;
  p95?: number;
  p99?: number;
  /** Read and write errors in the interval. */
  errors: number;
}

/** Run-wide figures between two kept points. */
export interface RunRow {
  t: number;
  jobsOk: number;
  jobsFailed: number;
  dashboardActions: number;
  dashboardErrors: number;
  dashboardP95?: number;
  openConnections: number;
  skippedTicks: number;
}

/** Per-interval rows from the cumulative points, for plots and comparisons. */
export function deriveRows(ts: Pick<TimeSeriesFile, "points">): { scenarios: ScenarioRow[]; run: RunRow[] } {
  const scenarios: ScenarioRow[] = [];
  const run: RunRow[] = [];
  for (let i = 1; i < ts.points.length; i++) {
    const a = ts.points[i - 1]!;
    const b = ts.points[i]!;
    const seconds = (b.t - a.t) / 1000;
    if (seconds <= 0) continue;
    for (const [name, now] of Object.entries(b.traffic)) {
      const before = a.traffic[name];
      const rtt = diff(now.rtt, before?.rtt);
      const target = a.target?.[name] ?? b.target?.[name];
      scenarios.push({
        t: b.t,
        scenario: name,
        bytesPerSecond: (now.written - (before?.written ?? 0)) / seconds,
        ...(target !== undefined ? { targetBytesPerSecond: target } : {}),
        p50: rttQuantileMs(0.5, rtt),
        p95: rttQuantileMs(0.95, rtt),
        p99: rttQuantileMs(0.99, rtt),
        errors: now.errors - (before?.errors ?? 0),
      });
    }
    const sum = (p: TimePoint, k: "ok" | "failed") => Object.values(p.jobs).reduce((n, j) => n + j[k], 0);
    const dd = b.dashboard ? diff(b.dashboard.duration, a.dashboard?.duration) : undefined;
    run.push({
      t: b.t,
      jobsOk: sum(b, "ok") - sum(a, "ok"),
      jobsFailed: sum(b, "failed") - sum(a, "failed"),
      dashboardActions: dd ? dd[dd.length - 1]! : 0,
      dashboardErrors: (b.dashboard?.errors ?? 0) - (a.dashboard?.errors ?? 0),
      dashboardP95: dd ? actionQuantileMs(0.95, dd) : undefined,
      openConnections: Object.values(b.runner.open).reduce((n, v) => n + v, 0),
      skippedTicks: Object.values(b.runner.skipped).reduce((n, v) => n + v, 0) - Object.values(a.runner.skipped).reduce((n, v) => n + v, 0),
    });
  }
  return { scenarios, run };
}
