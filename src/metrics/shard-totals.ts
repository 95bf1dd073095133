// A shard's totals read from its registry (every series summed, whatever its labels), and a sharded phase's
// totals added into the coordinating run's registries under the phase's scenario, as its in-process run would count.
import type { Counter, Histogram, Registry } from "prom-client";
import type { HistogramTotals, ShardTotals } from "../harness/shard-totals.ts";
import { histogramCount } from "../harness/shard-totals.ts";
import { DASHBOARD, LABELS, RUNNER, TRAFFIC } from "./names.ts";
import { FastCounter, FastHistogram, type MetricHost } from "./series.ts";
import { bucketIndex, familySamples } from "./snapshot.ts";

/** A counter's series summed by the value of `key` ("" = all together). */
async function counterTotals(registry: MetricHost, name: string, key?: string): Promise<Record<string, number> | undefined> {
  const values = await familySamples(registry, name);
  if (!values) return undefined;
  const out: Record<string, number> = {};
  for (const s of values) {
    const k = key ? String(s.labels[key] ?? "") : "";
    out[k] = (out[k] ?? 0) + s.value;
  }
  return out;
}

/**
 * A histogram's series summed by the values of `keys` (joined by "\u0000"): bucket counts turned back from
 * cumulative, and the sum. Buckets are matched by their `le`, so the series' order does not matter.
 */
async function histogramTotals(registry: MetricHost, name: string, keys: readonly string[] = []): Promise<Record<string, HistogramTotals> | undefined> {
  const values = await familySamples(registry, name);
  if (!values) return undefined;
  const family = registry.getSingleMetric(name) as { buckets?: readonly number[]; upperBounds?: readonly number[] };
  const bounds = family.buckets ?? family.upperBounds ?? [];
  const cumulative: Record<string, number[]> = {};
  const sums: Record<string, number> = {};
  for (const s of values) {
    const k = keys.map((n) => String(s.labels[n] ?? "")).join("\u0000");
    if (s.metricName?.endsWith("_bucket")) {
      const i = bucketIndex(bounds, s.labels.le!);
      if (i < 0) continue;
      (cumulative[k] ??= new Array(bounds.length + 1).fill(0))[i]! += s.value;
    } else if (s.metricName?.endsWith("_sum")) sums[k] = (sums[k] ?? 0) + s.value;
  }
  const out: Record<string, HistogramTotals> = {};
  for (const [k, c] of Object.entries(cumulative)) out[k] = { counts: c.map((v, i) => v - (i === 0 ? 0 : c[i - 1]!)), sum: sums[k] ?? 0 };
  return out;
}

/** Everything a shard counted, summed over its series: bounded by families and reasons, never by connections. */
export async function readShardTotals(registry: MetricHost): Promise<ShardTotals> {
  const out: ShardTotals = {};
  const read = await counterTotals(registry, TRAFFIC.bytesRead);
  if (read) {
    const one = async (name: string) => (await counterTotals(registry, name))?.[""] ?? 0;
    const hist = async (name: string, bounds: readonly number[]) =>
      (await histogramTotals(registry, name))?.[""] ?? { counts: new Array(bounds.length + 1).fill(0), sum: 0 };
    const bucketsOf = (name: string) => (registry.getSingleMetric(name) as FastHistogram).buckets;
    out.traffic = {
      read: read[""] ?? 0,
      written: await one(TRAFFIC.bytesWritten),
      readErrors: await one(TRAFFIC.readErrors),
      writeErrors: await one(TRAFFIC.writeErrors),
      readLatency: await hist(TRAFFIC.readLatency, bucketsOf(TRAFFIC.readLatency)),
      writeLatency: await hist(TRAFFIC.writeLatency, bucketsOf(TRAFFIC.writeLatency)),
      roundTrip: await hist(TRAFFIC.roundTrip, bucketsOf(TRAFFIC.roundTrip)),
    };
  }
  const skipped = await counterTotals(registry, RUNNER.skippedTicks, LABELS.reason);
  if (skipped) out.skipped = skipped;
  const lag = await histogramTotals(registry, RUNNER.eventLoopLag);
  if (lag?.[""]) out.lag = lag[""];
  const jobs = await histogramTotals(registry, RUNNER.jobDuration, [LABELS.test, LABELS.outcome]);
  if (jobs) {
    out.jobs = {};
    for (const [k, h] of Object.entries(jobs)) {
      const [test, outcome] = k.split("\u0000") as [string, string];
      (out.jobs[test] ??= {})[outcome] = h;
    }
  }
  const durations = await histogramTotals(registry, DASHBOARD.duration, [LABELS.action]);
  if (durations) {
    const errors = (await counterTotals(registry, DASHBOARD.errors, LABELS.action)) ?? {};
    out.dashboard = {};
    for (const [action, duration] of Object.entries(durations)) out.dashboard[action] = { duration, errors: errors[action] ?? 0 };
  }
  return out;
}

/** The run's registries a sharded phase's totals go into (the staged run's RunMetrics has these fields). */
export interface TotalsDestination {
  runner: Registry;
  traffic: Registry;
  dashboard: Registry;
}

/** Adds non-cumulative counts and a sum into a fast histogram's series. */
function addFast(h: FastHistogram, values: readonly string[], t: HistogramTotals): void {
  if (t.counts.length !== h.buckets.length + 1) throw new Error(`${h.name}: shard totals have ${t.counts.length} buckets, this runner ${h.buckets.length + 1}`);
  const s = h.slot(values);
  t.counts.forEach((n, k) => (s.array[s.offset + k]! += n));
  s.array[s.offset + h.buckets.length + 1]! += t.sum;
}

function addFastCounter(c: FastCounter, values: readonly string[], n: number): void {
  const s = c.slot(values);
  s.array[s.offset]! += n;
}

/** The histogram entry prom-client keeps for one label set (fields of its Histogram, v15). */
interface PromHistogramEntry {
  labels: Record<string, string | number>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/**
 * Adds bucket counts and a sum into a prom-client histogram's series. prom-client only observes single values, which
 * would lose the sum; its per-series entry is read the way defaultLabelsOf reads its default labels.
 */
function addPromHistogram(h: Histogram<string>, labels: Record<string, string>, t: HistogramTotals): void {
  const internal = h as unknown as { hashMap: Record<string, PromHistogramEntry>; upperBounds: number[] };
  const bounds = internal.upperBounds;
  if (t.counts.length !== bounds.length + 1) throw new Error(`shard totals have ${t.counts.length} buckets, this runner's histogram ${bounds.length + 1}`);
  const same = (e: PromHistogramEntry) => Object.keys(labels).length === Object.keys(e.labels).length && Object.entries(labels).every(([k, v]) => String(e.labels[k]) === v);
  let entry = Object.values(internal.hashMap).find(same);
  if (!entry) {
    h.zero(labels);
    entry = Object.values(internal.hashMap).find(same)!;
  }
  bounds.forEach((b, k) => (entry.bucketValues[b] = (entry.bucketValues[b] ?? 0) + t.counts[k]!));
  entry.count += histogramCount(t);
  entry.sum += t.sum;
}

/**
 * Adds one sharded phase's totals into the run's registries under `scenario`: traffic without per-workspace labels
 * (they stay empty), skipped ticks and lag into the runner's health, jobs under their test and outcome. The
 * families must already be registered (the scenario's own constructors do it), so their label sets are the run's.
 */
export function addShardTotals(dest: TotalsDestination, scenario: string, t: ShardTotals): void {
  if (t.traffic) {
    const values = (f: { labelNames: readonly string[] }) => f.labelNames.map((n) => (n === LABELS.scenario ? scenario : ""));
    const fam = <F>(name: string): F => {
      const f = dest.traffic.getSingleMetric(name) as F | undefined;
      if (!f) throw new Error(`shard totals: ${name} is not registered on the run's traffic registry`);
      return f;
    };
    const counters: Array<[string, number]> = [
      [TRAFFIC.bytesRead, t.traffic.read],
      [TRAFFIC.bytesWritten, t.traffic.written],
      [TRAFFIC.readErrors, t.traffic.readErrors],
      [TRAFFIC.writeErrors, t.traffic.writeErrors],
    ];
    for (const [name, n] of counters) {
      const c = fam<FastCounter>(name);
      addFastCounter(c, values(c), n);
    }
    const hists: Array<[string, HistogramTotals]> = [
      [TRAFFIC.readLatency, t.traffic.readLatency],
      [TRAFFIC.writeLatency, t.traffic.writeLatency],
      [TRAFFIC.roundTrip, t.traffic.roundTrip],
    ];
    for (const [name, h] of hists) {
      const f = fam<FastHistogram>(name);
      addFast(f, values(f), h);
    }
  }
  const skipped = dest.runner.getSingleMetric(RUNNER.skippedTicks) as FastCounter | undefined;
  if (skipped) for (const [reason, n] of Object.entries(t.skipped ?? {})) addFastCounter(skipped, [reason], n);
  const lag = dest.runner.getSingleMetric(RUNNER.eventLoopLag) as FastHistogram | undefined;
  if (lag && t.lag) addFast(lag, [], t.lag);
  const jobs = dest.runner.getSingleMetric(RUNNER.jobs) as Counter<string> | undefined;
  const jobDuration = dest.runner.getSingleMetric(RUNNER.jobDuration) as Histogram<string> | undefined;
  for (const [test, byOutcome] of Object.entries(t.jobs ?? {})) {
    for (const [outcome, h] of Object.entries(byOutcome)) {
      const labels = { [LABELS.test]: test, [LABELS.outcome]: outcome, [LABELS.scenario]: scenario };
      jobs?.inc(labels, histogramCount(h));
      if (jobDuration) addPromHistogram(jobDuration, labels, h);
    }
  }
  const duration = dest.dashboard.getSingleMetric(DASHBOARD.duration) as Histogram<string> | undefined;
  const errors = dest.dashboard.getSingleMetric(DASHBOARD.errors) as Counter<string> | undefined;
  for (const [action, a] of Object.entries(t.dashboard ?? {})) {
    if (duration) addPromHistogram(duration, { [LABELS.action]: action }, a.duration);
    errors?.inc({ [LABELS.action]: action }, a.errors);
  }
}
