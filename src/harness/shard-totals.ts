// A shard's traffic totals beside its results line: one bounded line in its log with the sums over all its
// connections (no per-workspace series), so the coordinator's run counts a sharded phase's bytes, round trips,
// skipped ticks, jobs and dashboard actions as it counts an in-process phase's.
import { lastShardLine } from "./shard-results.ts";

/** Starts the totals line a shard writes to stdout; the JSON follows on the same line. */
export const SHARD_TOTALS_PREFIX = "scaletest-shard-totals";

/** One histogram summed over series: per-bucket counts (not cumulative; the last is above every bound) and the sum. */
export interface HistogramTotals {
  counts: number[];
  sum: number;
}

/** Workspace traffic summed over a shard's connections. */
export interface TrafficTotals {
  read: number;
  written: number;
  readErrors: number;
  writeErrors: number;
  readLatency: HistogramTotals;
  writeLatency: HistogramTotals;
  roundTrip: HistogramTotals;
}

/** What one shard (or, merged, one sharded phase) did, by family; a family the shard had not registered is absent. */
export interface ShardTotals {
  traffic?: TrafficTotals;
  /** Skipped ticks by reason. */
  skipped?: Record<string, number>;
  /** The shard's traffic timer lateness. */
  lag?: HistogramTotals;
  /** Finished jobs' durations by test, then outcome (the count is the jobs of that outcome). */
  jobs?: Record<string, Record<string, HistogramTotals>>;
  /** Dashboard actions by action label: durations and errors. */
  dashboard?: Record<string, { duration: HistogramTotals; errors: number }>;
}

/** The shard's totals line: `scaletest-shard-totals <index>/<count> <compact JSON>` and a newline. */
export function formatShardTotalsLine(index: number, count: number, totals: ShardTotals): string {
  return `${SHARD_TOTALS_PREFIX} ${index}/${count} ${JSON.stringify(totals)}\n`;
}

/**
 * The last totals line in a shard's log (a retried pod's earlier attempt may have written one too): the totals, a
 * problem when the line is there but unreadable, or undefined when there is none.
 */
export function parseShardTotalsLog(log: string): { index: number; count: number; totals: ShardTotals } | { problem: string } | undefined {
  const line = lastShardLine(log, SHARD_TOTALS_PREFIX);
  if (line === undefined) return undefined;
  if (line === "malformed") return { problem: "the totals line is malformed (cut off?)" };
  let totals: unknown;
  try {
    totals = JSON.parse(line.json);
  } catch (err) {
    return { problem: `the totals line's JSON does not parse: ${(err as Error).message}` };
  }
  const problem = shapeProblem(totals);
  if (problem) return { problem: `the totals line ${problem}` };
  return { index: line.index, count: line.count, totals: totals as ShardTotals };
}

function isHist(h: unknown): h is HistogramTotals {
  const x = h as HistogramTotals;
  return typeof x === "object" && x !== null && Array.isArray(x.counts) && x.counts.every((n) => typeof n === "number") && typeof x.sum === "number";
}

/** What is wrong with a parsed totals object's shape (a shard from another version), or undefined. */
function shapeProblem(t: unknown): string | undefined {
  if (typeof t !== "object" || t === null) return "is not an object";
  const o = t as ShardTotals;
  if (o.traffic) {
    const tr = o.traffic;
    if (![tr.read, tr.written, tr.readErrors, tr.writeErrors].every((n) => typeof n === "number")) return "has traffic counters that are not numbers";
    if (![tr.readLatency, tr.writeLatency, tr.roundTrip].every(isHist)) return "has a traffic histogram of the wrong shape";
  }
  if (o.lag && !isHist(o.lag)) return "has a lag histogram of the wrong shape";
  for (const byOutcome of Object.values(o.jobs ?? {})) if (!Object.values(byOutcome).every(isHist)) return "has a jobs histogram of the wrong shape";
  for (const a of Object.values(o.dashboard ?? {})) if (!isHist(a.duration) || typeof a.errors !== "number") return "has a dashboard action of the wrong shape";
  return undefined;
}

/** Adds `b` into `a` (same buckets). */
export function addHistogram(a: HistogramTotals | undefined, b: HistogramTotals): HistogramTotals {
  if (!a) return { counts: [...b.counts], sum: b.sum };
  if (a.counts.length !== b.counts.length) throw new Error(`shard totals: histograms with ${a.counts.length} and ${b.counts.length} buckets cannot be added`);
  return { counts: a.counts.map((n, i) => n + b.counts[i]!), sum: a.sum + b.sum };
}

/** The observations of a histogram (the sum of its bucket counts). */
export function histogramCount(h: HistogramTotals): number {
  return h.counts.reduce((n, c) => n + c, 0);
}

/** One phase's totals from its shards' totals: every counter and bucket summed. */
export function mergeShardTotals(shards: readonly ShardTotals[]): ShardTotals {
  const out: ShardTotals = {};
  for (const s of shards) {
    if (s.traffic) {
      const a = out.traffic;
      const b = s.traffic;
      out.traffic = {
        read: (a?.read ?? 0) + b.read,
        written: (a?.written ?? 0) + b.written,
        readErrors: (a?.readErrors ?? 0) + b.readErrors,
        writeErrors: (a?.writeErrors ?? 0) + b.writeErrors,
        readLatency: addHistogram(a?.readLatency, b.readLatency),
        writeLatency: addHistogram(a?.writeLatency, b.writeLatency),
        roundTrip: addHistogram(a?.roundTrip, b.roundTrip),
      };
    }
    if (s.skipped) {
      out.skipped ??= {};
      for (const [reason, n] of Object.entries(s.skipped)) out.skipped[reason] = (out.skipped[reason] ?? 0) + n;
    }
    if (s.lag) out.lag = addHistogram(out.lag, s.lag);
    for (const [test, byOutcome] of Object.entries(s.jobs ?? {})) {
      const t = ((out.jobs ??= {})[test] ??= {});
      for (const [outcome, h] of Object.entries(byOutcome)) t[outcome] = addHistogram(t[outcome], h);
    }
    for (const [action, a] of Object.entries(s.dashboard ?? {})) {
      const d = (out.dashboard ??= {});
      d[action] = { duration: addHistogram(d[action]?.duration, a.duration), errors: (d[action]?.errors ?? 0) + a.errors };
    }
  }
  return out;
}
