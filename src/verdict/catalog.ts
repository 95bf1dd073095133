// The metric names a threshold may use: what the run measures itself (client side) and what coderd exports (Prometheus).
/** How a metric's value is written and compared: durations in milliseconds, ratios as 0..1. */
export type MetricUnit = "duration" | "ratio" | "count" | "bytes" | "cores";

/** Where a value comes from: the run's own measurements, or coderd's metrics in Prometheus. */
export type MetricSide = "client" | "coderd";

/** One name a threshold can test, e.g. `ssh.round_trip.p95`. */
export interface ThresholdMetric {
  name: string;
  side: MetricSide;
  unit: MetricUnit;
  /** Which way is better (the comparison flags a move the other way as a regression). */
  better: "lower" | "higher";
  /** Label names allowed in `{...}` (coderd metrics only; `route` is coderd's `path` label). */
  labels: readonly string[];
  /** The scenario (display name) a client metric belongs to (checked against the run's load scenarios). */
  scenario?: string;
  /** A latency or throughput figure: not trusted when the generator itself was saturated. */
  generatorSensitive: boolean;
  description: string;
}

/** Threshold prefix of each scenario. */
export const SCENARIO_KEYS: Readonly<Record<string, string>> = {
  ssh: "SSH Traffic",
  web_terminal: "Web Terminal Traffic",
  app: "App Traffic",
  dashboard: "Dashboard Traffic",
};

/** The prefix of a scenario's metrics (`ssh` for "SSH Traffic"). */
export function scenarioKey(name: string): string | undefined {
  return Object.entries(SCENARIO_KEYS).find(([, v]) => v === name)?.[0];
}

/** Percentiles the run keeps for its own latencies (the summary's p50/p95/p99). */
export const CLIENT_STATS = ["p50", "p95", "p99"] as const;
/** Percentiles PromQL's histogram_quantile answers for coderd's histograms. */
export const CODERD_STATS = ["p50", "p90", "p95", "p99"] as const;

function metric(m: Omit<ThresholdMetric, "labels" | "generatorSensitive"> & Partial<Pick<ThresholdMetric, "labels" | "generatorSensitive">>): ThresholdMetric {
  return { labels: [], generatorSensitive: false, ...m };
}

function build(): ThresholdMetric[] {
  const out: ThresholdMetric[] = [];
  for (const [key, scenario] of Object.entries(SCENARIO_KEYS)) {
    if (scenario === "Dashboard Traffic") continue;
    for (const p of CLIENT_STATS) {
      out.push(metric({ name: `${key}.round_trip.${p}`, side: "client", unit: "duration", better: "lower", scenario, generatorSensitive: true, description: `${scenario}: write-to-echo round trip, ${p}` }));
    }
    out.push(metric({ name: `${key}.error_rate`, side: "client", unit: "ratio", better: "lower", scenario, description: `${scenario}: failed jobs / finished jobs` }));
    out.push(metric({ name: `${key}.bytes.achieved_ratio`, side: "client", unit: "ratio", better: "higher", scenario, generatorSensitive: true, description: `${scenario}: bytes written / bytes the settings ask for` }));
  }
  for (const p of CLIENT_STATS) {
    out.push(metric({ name: `dashboard.action.${p}`, side: "client", unit: "duration", better: "lower", scenario: "Dashboard Traffic", generatorSensitive: true, description: `Dashboard Traffic: click-then-wait action duration, ${p}` }));
  }
  out.push(metric({ name: "dashboard.error_rate", side: "client", unit: "ratio", better: "lower", scenario: "Dashboard Traffic", description: "Dashboard Traffic: failed actions / actions" }));
  for (const p of CLIENT_STATS) {
    out.push(metric({ name: `round_trip.${p}`, side: "client", unit: "duration", better: "lower", generatorSensitive: true, description: `the highest round-trip ${p} among the traffic scenarios` }));
  }
  out.push(metric({ name: "error_rate", side: "client", unit: "ratio", better: "lower", description: "failed jobs / finished jobs over the whole run (workspace creation included)" }));
  out.push(metric({ name: "bytes.achieved_ratio", side: "client", unit: "ratio", better: "higher", generatorSensitive: true, description: "bytes written / bytes the settings ask for, all traffic scenarios" }));
  for (const p of CLIENT_STATS) {
    out.push(metric({ name: `build.${p}`, side: "client", unit: "duration", better: "lower", description: `time to running (user, workspace, build, agents) of the created workspaces, ${p}` }));
  }
  out.push(metric({ name: "build.error_rate", side: "client", unit: "ratio", better: "lower", description: "workspaces that failed to build / workspaces asked for" }));
  for (const p of CLIENT_STATS) {
    out.push(metric({ name: `agent_connect.${p}`, side: "client", unit: "duration", better: "lower", description: `build succeeded to every agent connected, per created workspace (coderd's timestamps), ${p}` }));
  }

  const api = ["route", "method"] as const;
  for (const p of CODERD_STATS) {
    out.push(metric({ name: `coderd.api_latency.${p}`, side: "coderd", unit: "duration", better: "lower", labels: api, description: `coderd API request latency ${p} (coderd_api_request_latencies_seconds)` }));
    out.push(metric({ name: `coderd.db_query.${p}`, side: "coderd", unit: "duration", better: "lower", labels: ["query"], description: `coderd database query latency ${p} (coderd_db_query_latencies_seconds)` }));
    out.push(metric({ name: `coderd.provisioner_job.${p}`, side: "coderd", unit: "duration", better: "lower", labels: ["status"], description: `provisioner job duration ${p} (coderd_provisionerd_job_timings_seconds)` }));
  }
  out.push(metric({ name: "coderd.api_5xx_rate", side: "coderd", unit: "ratio", better: "lower", labels: api, description: "coderd API responses with a 5xx status / all responses (coderd_api_requests_processed_total)" }));
  out.push(metric({ name: "coderd.provisioner_queue", side: "coderd", unit: "count", better: "lower", description: "most workspaces whose latest build was pending at once, as coderd reports it (coderd_api_workspace_latest_build)" }));
  out.push(metric({ name: "coderd.cpu", side: "coderd", unit: "cores", better: "lower", description: "CPU cores of the busiest coderd replica, averaged over the window (process_cpu_seconds_total)" }));
  out.push(metric({ name: "coderd.memory", side: "coderd", unit: "bytes", better: "lower", description: "highest resident memory of any coderd replica (process_resident_memory_bytes)" }));
  return out;
}

/** Every metric a threshold may name. */
export const THRESHOLD_METRICS: readonly ThresholdMetric[] = build();

const BY_NAME = new Map(THRESHOLD_METRICS.map((m) => [m.name, m]));

/** The metric called `name`, or undefined. */
export function findMetric(name: string): ThresholdMetric | undefined {
  return BY_NAME.get(name);
}

/** The allowed names, closest first when `near` is given (for "did you mean" messages). */
export function metricNames(near?: string): string[] {
  const names = THRESHOLD_METRICS.map((m) => m.name);
  if (!near) return names;
  return names
    .map((n) => ({ n, d: editDistance(near, n) }))
    .sort((a, b) => a.d - b.d || a.n.localeCompare(b.n))
    .map((x) => x.n);
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}
