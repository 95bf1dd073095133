// Client-side threshold values: exact ones from the run's summary at its end, bucketed ones from registry readings while it runs.
import { percentile } from "../util/percentile.ts";
import type { RunSummary, ScenarioSummary } from "../report/summary.ts";
import { actionQuantileMs, diff, rttQuantileMs, type JobCounts, type RunSnapshot } from "../metrics/snapshot.ts";
import { CLIENT_STATS, scenarioKey } from "./catalog.ts";

/** Time to running of the created workspaces (create-workspaces results): passed jobs' durations and the counts. */
export interface BuildStats {
  /** Durations of the passed jobs, milliseconds. */
  durationsMs: number[];
  total: number;
  failed: number;
  /** Build succeeded to every agent connected, per workspace that got that far (milliseconds). */
  agentConnectMs?: number[];
}

/** One created workspace, as its job ended (the staged run's create phase, live). */
export interface FinishedBuild {
  ok: boolean;
  durationMs: number;
  /** Build succeeded to every agent connected; undefined when the job did not get that far. */
  agentConnectMs?: number;
}

/** The statistics of the builds finished so far. */
export function buildStatsOf(builds: readonly FinishedBuild[]): BuildStats | undefined {
  if (builds.length === 0) return undefined;
  return {
    durationsMs: builds.filter((b) => b.ok).map((b) => b.durationMs),
    total: builds.length,
    failed: builds.filter((b) => !b.ok).length,
    agentConnectMs: builds.flatMap((b) => (b.agentConnectMs === undefined ? [] : [b.agentConnectMs])),
  };
}

/** build.*, agent_connect.* and the builds' share of error_rate (`jobs`: the other jobs' counts, added to). */
function addBuildValues(values: Map<string, number>, builds: BuildStats | undefined, jobs: JobCounts): JobCounts {
  if (!builds || builds.total === 0) return jobs;
  for (const p of CLIENT_STATS) {
    const v = percentile(builds.durationsMs, Q[p] * 100);
    if (v !== undefined) values.set(`build.${p}`, v);
    const a = percentile(builds.agentConnectMs ?? [], Q[p] * 100);
    if (a !== undefined) values.set(`agent_connect.${p}`, a);
  }
  values.set("build.error_rate", builds.failed / builds.total);
  return { ...jobs, ok: jobs.ok + builds.total - builds.failed, failed: jobs.failed + builds.failed };
}

const Q: Record<(typeof CLIENT_STATS)[number], number> = { p50: 0.5, p95: 0.95, p99: 0.99 };

function setMax(values: Map<string, number>, key: string, v: number): void {
  values.set(key, Math.max(values.get(key) ?? -Infinity, v));
}

/** Failed over finished (canceled and timed-out jobs count as not passed). */
function errorRate(c: JobCounts): number | undefined {
  const finished = c.ok + c.failed + c.canceled + c.timed_out;
  return finished === 0 ? undefined : (finished - c.ok) / finished;
}

function jobsOf(s: ScenarioSummary): JobCounts | undefined {
  if (!s.results) return undefined;
  return { ok: s.results.total_pass, failed: s.results.total_fail, canceled: 0, timed_out: 0 };
}

/** Exact values at the end of a run: round trips and action times from the run's own recorders, jobs from its results. */
export function summaryValues(summary: RunSummary, builds?: BuildStats): Map<string, number> {
  const values = new Map<string, number>();
  let jobsAll: JobCounts = { ok: 0, failed: 0, canceled: 0, timed_out: 0 };
  let written = 0;
  let target = 0;
  for (const s of summary.phases.flatMap((p) => p.scenarios)) {
    const key = scenarioKey(s.name);
    if (!key) continue;
    const jobs = jobsOf(s);
    if (jobs) {
      jobsAll = { ok: jobsAll.ok + jobs.ok, failed: jobsAll.failed + jobs.failed, canceled: 0, timed_out: 0 };
      const rate = errorRate(jobs);
      if (rate !== undefined && key !== "dashboard") values.set(`${key}.error_rate`, rate);
    } else if (s.outcome !== "passed" && key !== "dashboard") {
      values.set(`${key}.error_rate`, 1);
    }
    if (s.roundTrip && s.roundTrip.samples > 0) {
      for (const p of CLIENT_STATS) {
        values.set(`${key}.round_trip.${p}`, s.roundTrip[p]);
        setMax(values, `round_trip.${p}`, s.roundTrip[p]);
      }
    }
    if (s.target?.bytesPerSecond && s.bytesWritten !== undefined) {
      const want = (s.target.bytesPerSecond * s.target.durationMs) / 1000;
      if (want > 0) {
        values.set(`${key}.bytes.achieved_ratio`, s.bytesWritten / want);
        written += s.bytesWritten;
        target += want;
      }
    }
    if (s.dashboard) {
      if (s.dashboard.actions > 0) for (const p of CLIENT_STATS) values.set(`dashboard.action.${p}`, s.dashboard[p]);
      if (s.dashboard.actions > 0) values.set("dashboard.error_rate", s.dashboard.errors / s.dashboard.actions);
    }
  }
  if (target > 0) values.set("bytes.achieved_ratio", written / target);
  jobsAll = addBuildValues(values, builds, jobsAll);
  // The results files do not carry agent connect times: the create phase's summary does.
  const connect = summary.phases.find((p) => p.kind === "create" && p.agentConnect && p.agentConnect.samples > 0)?.agentConnect;
  if (connect && !values.has("agent_connect.p50")) for (const p of CLIENT_STATS) values.set(`agent_connect.${p}`, connect[p]);
  const all = errorRate(jobsAll);
  if (all !== undefined) values.set("error_rate", all);
  return values;
}

/**
 * Values between two readings while the run goes on: round trips and action times from histogram buckets (as
 * Prometheus computes them), bytes against the target rate of each scenario running, errors from finished jobs,
 * and (during a create phase) build and agent connect times of the workspaces created so far, exact.
 */
export function liveValues(
  from: RunSnapshot,
  to: RunSnapshot,
  targetBytesPerSecond: Readonly<Record<string, number>> = {},
  builds?: BuildStats,
): Map<string, number> {
  const values = new Map<string, number>();
  const seconds = (to.t - from.t) / 1000;
  let written = 0;
  let target = 0;
  for (const [name, now] of Object.entries(to.traffic)) {
    const key = scenarioKey(name);
    if (!key) continue;
    const before = from.traffic[name];
    const rtt = diff(now.rtt, before?.rtt);
    for (const p of CLIENT_STATS) {
      const v = rttQuantileMs(Q[p], rtt);
      if (v === undefined) continue;
      values.set(`${key}.round_trip.${p}`, v);
      setMax(values, `round_trip.${p}`, v);
    }
    const bps = targetBytesPerSecond[name];
    if (bps && seconds > 0) {
      const w = now.written - (before?.written ?? 0);
      values.set(`${key}.bytes.achieved_ratio`, w / (bps * seconds));
      written += w;
      target += bps * seconds;
    }
  }
  if (target > 0) values.set("bytes.achieved_ratio", written / target);
  let all: JobCounts = { ok: 0, failed: 0, canceled: 0, timed_out: 0 };
  for (const [name, now] of Object.entries(to.jobs)) {
    const before = from.jobs[name];
    const d: JobCounts = {
      ok: now.ok - (before?.ok ?? 0),
      failed: now.failed - (before?.failed ?? 0),
      canceled: now.canceled - (before?.canceled ?? 0),
      timed_out: now.timed_out - (before?.timed_out ?? 0),
    };
    for (const k of Object.keys(all) as Array<keyof JobCounts>) all[k] += d[k];
    const key = scenarioKey(name);
    const rate = errorRate(d);
    if (key && key !== "dashboard" && rate !== undefined) values.set(`${key}.error_rate`, rate);
  }
  all = addBuildValues(values, builds, all);
  const rate = errorRate(all);
  if (rate !== undefined) values.set("error_rate", rate);
  if (to.dashboard) {
    const d = diff(to.dashboard.duration, from.dashboard?.duration);
    for (const p of CLIENT_STATS) {
      const v = actionQuantileMs(Q[p], d);
      if (v !== undefined) values.set(`dashboard.action.${p}`, v);
    }
    const actions = d[d.length - 1]!;
    if (actions > 0) values.set("dashboard.error_rate", (to.dashboard.errors - (from.dashboard?.errors ?? 0)) / actions);
  }
  return values;
}
