// The staged run's sharded phase (Runner shards > 1): a scenario's phase runs as an Indexed Job of shard pods through
// the coordinator instead of in this process; its merged results land where the in-process phase writes them.
import { writeResultsJson } from "../harness/results.ts";
import { getErrorMessage } from "../errors.ts";
import { runShardedPhase } from "../k8s/coordinator.ts";
import { runnerPodShape } from "../k8s/coordinator.ts";
import type { RunnerPodShape } from "../k8s/job.ts";
import { connectKube, type KubeApi } from "../k8s/kube.ts";
import { addHistogram, histogramCount, type HistogramTotals, type ShardTotals } from "../harness/shard-totals.ts";
import { JobMetrics, TrafficMetrics } from "../metrics/registry.ts";
import { addShardTotals } from "../metrics/shard-totals.ts";
import { actionQuantileMs, rttQuantileMs } from "../metrics/snapshot.ts";
import { dashboardMetrics } from "../scenarios/dashboard/metrics.ts";
import { Ledger } from "../state/ledger.ts";
import { formatGoDuration } from "../util/duration.ts";
import type { ScenarioContext, ScenarioOutcome, ScenarioRow } from "../scenarios/context.ts";
import type { RunnerConfig } from "./config.ts";

/** The runner pod's container (template/main.tf) whose image and resources the shards take. */
export const RUNNER_CONTAINER = "dev";

/** Metrics port names the template declares (the PodMonitor scrapes shard pods by the same names). */
export const PORT_NAMES = { traffic: "prom-traffic", dashboard: "prom-dash" } as const;

/** The Kubernetes client from the run's config: KUBECONFIG (a laptop) or the pod's service account. */
export function kubeFromConfig(cfg: Pick<RunnerConfig, "kubeconfig">): Promise<KubeApi> {
  return connectKube({ KUBECONFIG: cfg.kubeconfig || undefined, KUBERNETES_SERVICE_HOST: process.env.KUBERNETES_SERVICE_HOST });
}

/** Whether this scenario runs through the coordinator in this run. */
export function runsSharded(cfg: Pick<RunnerConfig, "runnerShards">, row: ScenarioRow): boolean {
  return cfg.runnerShards > 1 && row.shardCommand !== undefined;
}

export interface ShardedScenarioOptions {
  cfg: RunnerConfig;
  row: ScenarioRow;
  ctx: ScenarioContext;
  ledgerDir: string;
  /** Tests pass the stand-in's client; the run connects from its config. */
  kube?: KubeApi;
  /** Between Job status reads (tests shorten it). */
  pollMs?: number;
}

/** Runs one scenario's phase as shard pods. A failure to reach Kubernetes is a failed scenario, never a throw. */
export async function runShardedScenario(o: ShardedScenarioOptions): Promise<ScenarioOutcome> {
  const { cfg, row, ctx } = o;
  const command = row.shardCommand!(ctx);
  let kube: KubeApi;
  let pod: RunnerPodShape;
  try {
    kube = o.kube ?? (await kubeFromConfig(cfg));
    pod = await shardPodShape(cfg, kube, row.metricsPort);
  } catch (err) {
    return { outcome: "failed", error: `shards: ${getErrorMessage(err)}` };
  }
  const namespace = cfg.podNamespace || cfg.namespace;
  const port = row.metricsPort === "traffic" ? cfg.trafficMetricsPort : cfg.dashboardMetricsPort;
  const args = [
    ...command.args,
    // Port 0 (tests) picks a free port per shard; it cannot be reached from outside, so it stays on loopback.
    "--scaletest-prometheus-address", port === 0 ? "127.0.0.1:0" : `0.0.0.0:${port}`,
    "--scaletest-prometheus-wait", formatGoDuration(cfg.metricsLinger),
  ];
  // Plain settings only: the token and headers reach the pods through the shard secret.
  // The run and scenario become the shards' run_id and scenario labels, so the dashboard's filters find their series.
  const env: Record<string, string> = { CODER_URL: ctx.client.url.href.replace(/\/$/, ""), SCALETEST_RUN_ID: cfg.runId, SCALETEST_SCENARIO: ctx.name };
  if (cfg.resolve) env.CODER_SCALETEST_RESOLVE = cfg.resolve;
  const ledger = await Ledger.open(o.ledgerDir, { url: ctx.client.url, run: cfg.runId });
  try {
    const r = await runShardedPhase({
      kube,
      namespace,
      runId: cfg.runId,
      phase: ctx.name,
      shards: cfg.runnerShards,
      args,
      pod,
      secretName: cfg.shardSecret,
      env,
      prelude: command.prelude,
      workMs: command.workMs + cfg.metricsLinger,
      startLeadMs: cfg.shardStartLead,
      pollMs: o.pollMs,
      record: (rec) => ledger.append(rec),
      signal: ctx.signal,
      log: ctx.log,
    });
    if (r.results) writeResultsJson(ctx.resultsPath, r.results);
    for (const s of r.shards) {
      ctx.log(`shard ${s.index}: ${s.results ? `${s.results.total_pass}/${s.results.total_runs} passed` : (s.problem ?? "no results")}${s.attempts > 1 ? ` (${s.attempts} attempts)` : ""}`);
      if (s.totalsProblem) ctx.log(`shard ${s.index}: ${s.totalsProblem}`);
    }
    let counted: Omit<ScenarioOutcome, "outcome"> = {};
    if (r.totals) {
      try {
        counted = countShardTotals(ctx, row.metricsPort, r.totals);
      } catch (err) {
        ctx.log(`shards: the totals were not counted: ${getErrorMessage(err)}`);
      }
    }
    return { ...counted, outcome: r.outcome, results: r.results, error: r.error };
  } finally {
    await ledger.close();
  }
}

/**
 * Counts a sharded phase's totals in the run's registries under its scenario (as its in-process run would have, without
 * per-workspace series), so the time series, report and saturation see them; returns the figures the summary shows.
 * Round-trip and action percentiles come from the summed histogram buckets (the shards' exact samples stay in them).
 */
export function countShardTotals(ctx: Pick<ScenarioContext, "name" | "metrics" | "workDir">, port: "traffic" | "dashboard", t: ShardTotals): Omit<ScenarioOutcome, "outcome"> {
  // The same families (and label sets) the scenario's in-process run registers.
  new JobMetrics(ctx.metrics.runner, { scenario: ctx.name });
  if (port === "traffic") new TrafficMetrics(ctx.metrics.traffic, { scenario: ctx.name });
  else dashboardMetrics(ctx.metrics.dashboard);
  addShardTotals(ctx.metrics, ctx.name, t);
  const out: Omit<ScenarioOutcome, "outcome"> = {};
  if (t.traffic) {
    out.bytesRead = t.traffic.read;
    out.bytesWritten = t.traffic.written;
    const rtt = cumulative(t.traffic.roundTrip);
    const samples = histogramCount(t.traffic.roundTrip);
    if (samples > 0) out.roundTrip = { samples, p50: rttQuantileMs(0.5, rtt)!, p95: rttQuantileMs(0.95, rtt)!, p99: rttQuantileMs(0.99, rtt)! };
  }
  if (t.dashboard) {
    let all: HistogramTotals | undefined;
    const errorsByAction: Record<string, number> = {};
    for (const [action, a] of Object.entries(t.dashboard)) {
      all = addHistogram(all, a.duration);
      if (a.errors > 0) errorsByAction[action] = a.errors;
    }
    const d = cumulative(all ?? { counts: [], sum: 0 });
    const actions = all ? histogramCount(all) : 0;
    const q = (p: number) => (actions > 0 ? actionQuantileMs(p, d)! : 0);
    out.dashboard = {
      actions,
      p50: q(0.5),
      p95: q(0.95),
      p99: q(0.99),
      errors: Object.values(errorsByAction).reduce((a, n) => a + n, 0),
      errorsByAction: Object.fromEntries(Object.entries(errorsByAction).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
      // Walk steps without a match and screenshots stay with the shard pods (their logs say them).
      noMatches: 0,
      screenshots: 0,
      screenshotDir: ctx.workDir,
    };
  }
  return out;
}

function cumulative(h: HistogramTotals): number[] {
  let acc = 0;
  return h.counts.map((n) => (acc += n));
}

/** The shard pods' shape: the runner's own pod (POD_NAME) in the cluster; the settings from a laptop. */
async function shardPodShape(cfg: RunnerConfig, kube: KubeApi, metricsPort: "traffic" | "dashboard"): Promise<RunnerPodShape> {
  if (cfg.podName) {
    const ns = cfg.podNamespace || cfg.namespace;
    const own = await kube.readPod(ns, cfg.podName);
    if (!own) throw new Error(`the runner's own pod ${ns}/${cfg.podName} (POD_NAME) was not found`);
    const shape = runnerPodShape(own, RUNNER_CONTAINER);
    // Only the phase's metrics port: a shard serves one /metrics.
    return { ...shape, ports: shape.ports?.filter((p) => p.name === PORT_NAMES[metricsPort]) };
  }
  return settingsPodShape(cfg, metricsPort);
}

/** The shard pods' shape from the settings (a coordinator outside the cluster): the runner pod the template would make. */
export function settingsPodShape(cfg: RunnerConfig, metricsPort: "traffic" | "dashboard"): RunnerPodShape {
  const port = metricsPort === "traffic" ? cfg.trafficMetricsPort : cfg.dashboardMetricsPort;
  const quantity = { cpu: String(cfg.runnerCpu), memory: `${cfg.runnerMemory}Gi` };
  return {
    image: cfg.runnerImage,
    serviceAccountName: cfg.serviceAccount,
    resources: { requests: quantity, limits: quantity },
    ports: port === 0 ? [] : [{ name: PORT_NAMES[metricsPort], containerPort: port, protocol: "TCP" }],
  };
}
