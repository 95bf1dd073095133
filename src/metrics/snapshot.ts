// One reading of the run's registries (cumulative counters and histogram buckets), and what two readings say in between.
import type { Registry } from "prom-client";
import { LAG_BUCKETS } from "./health.ts";
import { DASHBOARD, DEFAULT_BUCKETS, LABELS, RUNNER, TRAFFIC } from "./names.ts";
import { ROUND_TRIP_BUCKETS } from "./registry.ts";
import { FastFamily, FastHistogram, type MetricHost } from "./series.ts";

/** Job outcomes as `coderd_scaletest_jobs_total` counts them. */
export interface JobCounts {
  ok: number;
  failed: number;
  canceled: number;
  timed_out: number;
}

/** One traffic scenario's cumulative counters. */
export interface ScenarioCounters {
  written: number;
  read: number;
  errors: number;
  /** Cumulative round-trip counts per bucket of ROUND_TRIP_BUCKETS, then +Inf. */
  rtt: number[];
}

/** Dashboard Traffic's cumulative counters. */
export interface DashboardCounters {
  /** Cumulative action counts per bucket of DEFAULT_BUCKETS, then +Inf. */
  duration: number[];
  errors: number;
  byAction: Record<string, { count: number; errors: number }>;
}

/** Runner health at the moment of reading. */
export interface RunnerCounters {
  skipped: Record<string, number>;
  /** Open connections by mode (a gauge). */
  open: Record<string, number>;
  rssBytes: number;
  /** Cumulative counts per bucket of LAG_BUCKETS, then +Inf: how late the traffic timer fired. */
  lag: number[];
}

/** Everything the recorder and the live thresholds need from one reading. */
export interface RunSnapshot {
  /** Epoch milliseconds. */
  t: number;
  /** Traffic by scenario (the `scenario` label; "workspace-traffic" when the series carry none). */
  traffic: Record<string, ScenarioCounters>;
  /** Finished jobs by scenario (or test name), by outcome. */
  jobs: Record<string, JobCounts>;
  /** Jobs running now, by scenario (or test name); absent when nothing reports it. */
  running?: Record<string, number>;
  dashboard?: DashboardCounters;
  runner: RunnerCounters;
}

/** The registries of a run (the staged run's RunMetrics has these fields). */
export interface SnapshotSources {
  runner?: Registry;
  traffic?: Registry;
  dashboard?: Registry;
}

/** One sample of a family's `get()`, as prom-client (and the slot-backed families) answer it. */
export type Sample = { value: number; labels: Record<string, string | number>; metricName?: string };

/** A family's samples, or undefined when `registry` has no such family. */
export async function familySamples(registry: Pick<MetricHost, "getSingleMetric"> | undefined, name: string): Promise<Sample[] | undefined> {
  const m = registry?.getSingleMetric(name) as { get(): Promise<{ values?: Sample[] }> } | undefined;
  if (!m) return undefined;
  return (await m.get()).values ?? [];
}

async function samples(registry: Registry | undefined, name: string): Promise<Sample[]> {
  return (await familySamples(registry, name)) ?? [];
}

const STANDALONE = "workspace-traffic";

/** Where a bucket sample's `le` stands among the upper bounds `les` (+Inf after them; -1 for none of them). */
export function bucketIndex(les: readonly number[], le: string | number): number {
  return le === "+Inf" ? les.length : les.indexOf(Number(le));
}

/** Reads the counters the report and thresholds use; never throws for a family that is not registered. */
export async function takeSnapshot(src: SnapshotSources, now: number = Date.now()): Promise<RunSnapshot> {
  const traffic: Record<string, ScenarioCounters> = {};
  const byKey = (scenario: unknown) => {
    const key = String(scenario ?? "") || STANDALONE;
    return (traffic[key] ??= { written: 0, read: 0, errors: 0, rtt: new Array(ROUND_TRIP_BUCKETS.length + 1).fill(0) });
  };
  const scen = (labels: Sample["labels"]) => byKey(labels[LABELS.scenario]);
  // The traffic families hold a series per workspace: read from their slots, not through thousands of samples
  // (building those blocked the loop past a tick interval at 1000 connections, once per progress line).
  const fast = (name: string) => {
    const m = src.traffic?.getSingleMetric(name);
    return m instanceof FastFamily ? m : undefined;
  };
  // Every series of a family has the family's label names: find the scenario's place once per family.
  const scenarioOf = (f: FastFamily) => {
    const at = f.labelNames.indexOf(LABELS.scenario);
    return (i: number) => byKey(at < 0 ? undefined : f.series[i]!.labels.values[at]);
  };
  const counter = async (name: string, add: (c: ScenarioCounters, v: number) => void) => {
    const f = fast(name);
    if (!f) {
      for (const s of await samples(src.traffic, name)) add(scen(s.labels), s.value);
      return;
    }
    const scenOf = scenarioOf(f);
    for (let i = 0; i < f.series.length; i++) add(scenOf(i), f.series[i]!.total(0));
  };
  await counter(TRAFFIC.bytesWritten, (c, v) => (c.written += v));
  await counter(TRAFFIC.bytesRead, (c, v) => (c.read += v));
  await counter(TRAFFIC.readErrors, (c, v) => (c.errors += v));
  await counter(TRAFFIC.writeErrors, (c, v) => (c.errors += v));
  const rtt = fast(TRAFFIC.roundTrip);
  if (rtt instanceof FastHistogram) {
    const at = [...rtt.buckets, "+Inf" as const].map((le) => bucketIndex(ROUND_TRIP_BUCKETS, le));
    const scenOf = scenarioOf(rtt);
    for (let i = 0; i < rtt.series.length; i++) {
      const c = scenOf(i);
      let acc = 0;
      for (let k = 0; k < at.length; k++) {
        acc += rtt.series[i]!.total(k);
        if (at[k]! >= 0) c.rtt[at[k]!]! += acc;
      }
    }
  } else {
    for (const s of await samples(src.traffic, TRAFFIC.roundTrip)) {
      if (!s.metricName?.endsWith("_bucket")) continue;
      const i = bucketIndex(ROUND_TRIP_BUCKETS, s.labels.le!);
      if (i >= 0) scen(s.labels).rtt[i]! += s.value;
    }
  }

  const jobs: Record<string, JobCounts> = {};
  for (const s of await samples(src.runner, RUNNER.jobs)) {
    const key = String(s.labels[LABELS.scenario] ?? "") || String(s.labels[LABELS.test] ?? "");
    const c = (jobs[key] ??= { ok: 0, failed: 0, canceled: 0, timed_out: 0 });
    const outcome = String(s.labels[LABELS.outcome]) as keyof JobCounts;
    if (outcome in c) c[outcome] += s.value;
  }
  let running: Record<string, number> | undefined;
  for (const s of await samples(src.runner, RUNNER.jobsRunning)) {
    const key = String(s.labels[LABELS.scenario] ?? "") || String(s.labels[LABELS.test] ?? "");
    (running ??= {})[key] = (running[key] ?? 0) + s.value;
  }

  let dashboard: DashboardCounters | undefined;
  if (src.dashboard?.getSingleMetric(DASHBOARD.duration)) {
    const d: DashboardCounters = { duration: new Array(DEFAULT_BUCKETS.length + 1).fill(0), errors: 0, byAction: {} };
    const action = (labels: Sample["labels"]) => (d.byAction[String(labels[LABELS.action] ?? "")] ??= { count: 0, errors: 0 });
    for (const s of await samples(src.dashboard, DASHBOARD.duration)) {
      if (s.metricName?.endsWith("_count")) action(s.labels).count += s.value;
      if (!s.metricName?.endsWith("_bucket")) continue;
      const i = bucketIndex(DEFAULT_BUCKETS, s.labels.le!);
      if (i >= 0) d.duration[i]! += s.value;
    }
    for (const s of await samples(src.dashboard, DASHBOARD.errors)) {
      action(s.labels).errors += s.value;
      d.errors += s.value;
    }
    dashboard = d;
  }

  const runner: RunnerCounters = { skipped: {}, open: {}, rssBytes: 0, lag: new Array(LAG_BUCKETS.length + 1).fill(0) };
  for (const s of await samples(src.runner, RUNNER.eventLoopLag)) {
    if (!s.metricName?.endsWith("_bucket")) continue;
    const i = bucketIndex(LAG_BUCKETS, s.labels.le!);
    if (i >= 0) runner.lag[i]! += s.value;
  }
  for (const s of await samples(src.runner, RUNNER.skippedTicks)) runner.skipped[String(s.labels[LABELS.reason])] = s.value;
  for (const s of await samples(src.runner, RUNNER.openConnections)) runner.open[String(s.labels[LABELS.mode])] = s.value;
  for (const s of await samples(src.runner, RUNNER.residentMemory)) if (s.labels.process === "runner") runner.rssBytes = s.value;
  return { t: now, traffic, jobs, ...(running ? { running } : {}), ...(dashboard ? { dashboard } : {}), runner };
}

/** Element-wise `b - a` of two cumulative arrays (a missing `a` counts as zeros). */
export function diff(b: readonly number[], a: readonly number[] | undefined): number[] {
  return b.map((v, i) => Math.max(0, v - (a?.[i] ?? 0)));
}

/**
 * The q-quantile (0..1) of a histogram from its cumulative bucket counts, interpolated inside the bucket as
 * Prometheus' histogram_quantile does; in the unit of `les`. Undefined without observations.
 */
export function bucketQuantile(q: number, les: readonly number[], cumulative: readonly number[]): number | undefined {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < cumulative.length; i++) {
    if (cumulative[i]! >= rank) {
      if (i >= les.length) return les[les.length - 1];
      const lower = i === 0 ? 0 : les[i - 1]!;
      const below = i === 0 ? 0 : cumulative[i - 1]!;
      const inBucket = cumulative[i]! - below;
      return inBucket <= 0 ? les[i] : lower + (les[i]! - lower) * ((rank - below) / inBucket);
    }
  }
  return les[les.length - 1];
}

/** Round-trip quantile in milliseconds from cumulative bucket counts (ROUND_TRIP_BUCKETS). */
export function rttQuantileMs(q: number, cumulative: readonly number[]): number | undefined {
  const s = bucketQuantile(q, ROUND_TRIP_BUCKETS, cumulative);
  return s === undefined ? undefined : s * 1000;
}

/** Dashboard action quantile in milliseconds from cumulative bucket counts (DEFAULT_BUCKETS). */
export function actionQuantileMs(q: number, cumulative: readonly number[]): number | undefined {
  const s = bucketQuantile(q, DEFAULT_BUCKETS, cumulative);
  return s === undefined ? undefined : s * 1000;
}

/** Timer lateness quantile in milliseconds from cumulative bucket counts (LAG_BUCKETS). */
export function lagQuantileMs(q: number, cumulative: readonly number[]): number | undefined {
  const s = bucketQuantile(q, LAG_BUCKETS, cumulative);
  return s === undefined ? undefined : s * 1000;
}
