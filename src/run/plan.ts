// The staged run's plan: phases with offsets and durations, target slices, expected load, ports, cleanup; and its text.
import type { RunnerConfig } from "./settings.ts";
import { SCENARIOS, type ScenarioName } from "../scenarios/index.ts";
import { scenarioLoad } from "./scenario-values.ts";
import { planSlices } from "./slices.ts";
import { formatGoDuration } from "../util/duration.ts";
import { describeStrategy } from "./cleanup-policy.ts";
import { greedyBytesPerSecond, greedyMode, greedyTraffic, greedyWindow } from "./greedy.ts";
import { formatBytes } from "../util/bytes.ts";
import { runnerCapacity } from "../traffic/capacity.ts";
import { PLANNED_WORKERS_PER_SHARD, shardShare, type ShardShare } from "./shard-plan.ts";

/** A scenario as planned. Offsets are milliseconds after workspace creation finished ("T"). */
export interface PlannedScenario {
  name: ScenarioName;
  offsetMs: number;
  durationMs: number;
  targets: "workspaces" | "users" | "none";
  start: number;
  /** Exclusive. */
  end: number;
  count: number;
  /** "start:end", as upstream's --target-workspaces / --target-users. */
  range: string;
  connections: number;
  /** Bytes per second written by all connections; undefined for non-stream scenarios (dashboard). */
  bytesPerSecond?: number;
  metricsPort: number;
  resultsFile: string;
  greedy?: { offsetMs: number; durationMs: number; bytesPerSecond: number; mode: "ssh" | "rpty" };
  /** With Runner shards > 1: what one shard pod carries of it. */
  perShard?: ShardShare;
}

/** One phase as planned; `offsetMs` is undefined for workspace creation (its length depends on the deployment). */
export interface PlannedPhase {
  name: string;
  kind: "create" | "wait" | "load";
  offsetMs?: number;
  durationMs?: number;
  scenarios: PlannedScenario[];
}

/** The whole plan: plain data, rendered by renderPlan and followed step by step by the orchestrator. */
export interface RunPlan {
  runId: string;
  dryRun: boolean;
  coderUrl: string;
  template: string;
  numWorkspaces: number;
  skipCreate: boolean;
  createConcurrency: number;
  mode: "sequential" | "concurrent";
  phases: PlannedPhase[];
  /** From T to the end of the last phase. */
  afterCreateMs: number;
  greedy?: { template: string };
  /** Pods per traffic phase (Runner shards; 1 = the runner pod alone). */
  shards: number;
  ports: { runner: number; traffic: number; dashboard: number };
  cleanup: { strategy: RunnerConfig["cleanupStrategy"]; prepare: boolean; concurrency: number; timeoutMs: number };
}

/** Short duration text: 5m, 30s, 1h30m (Go's form without trailing zero units). */
export function shortDuration(ms: number): string {
  const s = formatGoDuration(ms);
  return s === "0s" ? s : s.replace(/([hm])0s$/, "$1").replace(/h0m$/, "h");
}

/** The phase name of a baseline wait. */
export function waitPhaseName(ms: number): string {
  return `Waiting ${shortDuration(ms)} to establish baseline`;
}

/** Phase names (as upstream's run.sh). */
export const PHASE_NAMES = {
  create: "Creating workspaces",
  greedy: "Creating greedy agent",
  load: (name: string) => `Load scenario: ${name}`,
  concurrent: (names: readonly string[]) => `Load scenarios: ${names.join(", ")}`,
  cleanup: (event: string) => `Cleanup (${event})`,
} as const;

/** Builds the plan from a validated config (pure). */
export function planRun(cfg: RunnerConfig): RunPlan {
  const greedy = greedyTraffic(cfg);
  const phases: PlannedPhase[] = [];
  let t = 0;
  const wait = () => {
    if (cfg.baselineDuration <= 0) return;
    phases.push({ name: waitPhaseName(cfg.baselineDuration), kind: "wait", offsetMs: t, durationMs: cfg.baselineDuration, scenarios: [] });
    t += cfg.baselineDuration;
  };
  if (!cfg.skipCreateWorkspaces) phases.push({ name: PHASE_NAMES.create, kind: "create", scenarios: [] });
  wait();
  if (cfg.greedyAgent) {
    phases.push({ name: PHASE_NAMES.greedy, kind: "create", offsetMs: t, scenarios: [] });
    wait();
  }

  const slices = planSlices(cfg);
  const scenario = (name: ScenarioName, offsetMs: number): PlannedScenario => {
    const row = SCENARIOS[name];
    const load = scenarioLoad(cfg, name);
    const slice = slices.find((s) => s.scenario === name)!;
    const est = row.estimate(load, slice.count);
    const w = greedyWindow(load.durationMs);
    return {
      name,
      offsetMs,
      durationMs: load.durationMs,
      targets: row.targets,
      start: slice.start,
      end: slice.end,
      count: slice.count,
      range: slice.target,
      connections: est.connections,
      bytesPerSecond: est.bytesPerSecond,
      metricsPort: row.metricsPort === "dashboard" ? cfg.dashboardMetricsPort : cfg.trafficMetricsPort,
      resultsFile: row.resultsFile,
      greedy:
        cfg.greedyAgent && row.greedy
          ? { offsetMs: offsetMs + w.offsetMs, durationMs: w.durationMs, bytesPerSecond: greedyBytesPerSecond(greedy), mode: greedyMode(name) }
          : undefined,
      perShard: cfg.runnerShards > 1 && row.targets !== "none" ? shardShare(est.connections, est.bytesPerSecond, cfg.runnerShards) : undefined,
    };
  };

  if (cfg.runConcurrently) {
    const planned = cfg.loadScenarios.map((name, i) => scenario(name, t + i * cfg.staggerDelay));
    const end = Math.max(t, ...planned.map((s) => s.offsetMs + s.durationMs));
    phases.push({ name: PHASE_NAMES.concurrent(cfg.loadScenarios), kind: "load", offsetMs: t, durationMs: end - t, scenarios: planned });
    t = end;
    wait();
  } else {
    for (const name of cfg.loadScenarios) {
      const s = scenario(name, t);
      phases.push({ name: PHASE_NAMES.load(name), kind: "load", offsetMs: t, durationMs: s.durationMs, scenarios: [s] });
      t += s.durationMs;
      wait();
    }
  }

  return {
    runId: cfg.runId,
    dryRun: cfg.dryRun,
    coderUrl: cfg.coderUrl,
    template: cfg.workspaceTemplate,
    numWorkspaces: cfg.numWorkspaces,
    skipCreate: cfg.skipCreateWorkspaces,
    createConcurrency: cfg.createConcurrency,
    mode: cfg.runConcurrently ? "concurrent" : "sequential",
    phases,
    afterCreateMs: t,
    greedy: cfg.greedyAgent ? { template: cfg.greedyAgentTemplate } : undefined,
    shards: cfg.runnerShards,
    ports: { runner: cfg.runnerMetricsPort, traffic: cfg.trafficMetricsPort, dashboard: cfg.dashboardMetricsPort },
    cleanup: { strategy: cfg.cleanupStrategy, prepare: cfg.cleanupPrepare, concurrency: cfg.cleanupConcurrency, timeoutMs: cfg.cleanupTimeout },
  };
}

const rate = (bps: number) => `${formatBytes(Math.round(bps))}/s`;
const at = (ms: number | undefined) => (ms === undefined ? "start" : `T+${shortDuration(ms)}`);

/** The plan as text for the terminal and the build log. */
export function renderPlan(plan: RunPlan): string {
  const out: string[] = [];
  out.push(`Plan for ${plan.runId}${plan.dryRun ? " (DRY-RUN: nothing will be created, changed or deleted)" : ""}`);
  out.push(`  Deployment: ${plan.coderUrl || "the built-in Coder simulator"}`);
  out.push(
    plan.skipCreate
      ? `  Workspaces: reuse the existing scaletest workspaces of template ${plan.template} (creation skipped)`
      : `  Workspaces: create ${plan.numWorkspaces} users and ${plan.numWorkspaces} workspaces from ${plan.template}, ${plan.createConcurrency} at a time`,
  );
  if (plan.greedy) out.push(`  Greedy agent: 1 more workspace from ${plan.greedy.template}`);
  out.push(`  Load scenarios: ${plan.mode}`);
  if (plan.shards > 1) out.push(`  Runner shards: each traffic phase runs as ${plan.shards} shard pods, targets split by workspace ID (user ID for dashboard)`);
  out.push(`  Phases (T = when workspace creation has finished):`);
  plan.phases.forEach((p, i) => {
    const len = p.kind === "create" ? "until every build succeeded and its agents connected" : `for ${shortDuration(p.durationMs ?? 0)}`;
    out.push(`    ${i + 1}. ${p.name}: ${at(p.offsetMs)}, ${len}`);
    for (const s of p.scenarios) {
      const what = s.targets === "users" ? "users" : "workspaces";
      const load = s.bytesPerSecond !== undefined ? `, ${rate(s.bytesPerSecond)} written` : "";
      const conns = s.targets === "users" ? `${s.connections} browser session(s)` : `${s.connections} connection(s)`;
      const when = plan.mode === "concurrent" ? `${at(s.offsetMs)} for ${shortDuration(s.durationMs)}, ` : "";
      out.push(`         ${s.name}: ${when}${what} ${s.range} (${s.count}), ${conns}${load}; metrics :${s.metricsPort}; results ${s.resultsFile}`);
      if (s.perShard) {
        const p = s.perShard;
        const cap = runnerCapacity(PLANNED_WORKERS_PER_SHARD);
        out.push(
          s.targets === "users"
            ? `           ${p.shards} shards: up to ${p.connections} browser session(s) per shard`
            : `           ${p.shards} shards: up to ${p.connections} connection(s) and ${rate(p.bytesPerSecond ?? 0)} written per shard ` +
                `(one runner process sustains ${cap.connections} and ${rate(cap.bytesPerSecond)})`,
        );
      }
      if (s.greedy) {
        out.push(
          `           greedy agent (${s.greedy.mode}): ${at(s.greedy.offsetMs)} for ${shortDuration(s.greedy.durationMs)}, ${rate(s.greedy.bytesPerSecond)} written`,
        );
      }
    }
  });
  out.push(`  Load time after creation: ${shortDuration(plan.afterCreateMs)}`);
  out.push(`  Metrics: runner :${plan.ports.runner}, traffic :${plan.ports.traffic}, dashboard :${plan.ports.dashboard}`);
  out.push(
    `  Cleanup before the run: ${plan.cleanup.prepare ? "delete what earlier runs left (run ledger, scaletest- names)" : "off"}`,
  );
  out.push(
    `  Cleanup (strategy ${plan.cleanup.strategy}): delete this run's workspaces, then its users, ${describeStrategy(plan.cleanup.strategy)}; ` +
      `${plan.cleanup.concurrency} at a time, within ${shortDuration(plan.cleanup.timeoutMs)}`,
  );
  out.push(`  On workspace stop (SIGTERM): stop traffic, write results, status Failed, then clean up per the strategy`);
  return `${out.join("\n")}\n`;
}
