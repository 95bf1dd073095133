// THE scenario table: display name → one module; a new scenario is one file in src/scenarios plus one row here.
import type { CoderClient } from "../coder/client.ts";
import type { RunnerConfig } from "../run/config.ts";
import type { ScenarioLoad } from "../config/scenario-load.ts";
import type { ScenarioName } from "../config/scenarios.ts";
import type { ScenarioSlice } from "../run/slices.ts";
import type { ScenarioSummary } from "../report/summary.ts";
import type { ResolveEntry } from "../traffic/resolve.ts";
import type { RunMetrics } from "../metrics/run-metrics.ts";

/** What the orchestrator hands a scenario. */
export interface ScenarioContext {
  name: ScenarioName;
  cfg: RunnerConfig;
  /** Admin client (the runner's API token). */
  client: CoderClient;
  load: ScenarioLoad;
  /** Target indices [start, end) over the sorted scaletest workspaces (users for Dashboard Traffic). */
  slice: ScenarioSlice;
  /** Only workspaces of this template are targeted. */
  template: string;
  /** Where the scenario writes its upstream-shaped results JSON. */
  resultsPath: string;
  /** A scratch directory for the scenario (screenshots, logs). */
  workDir: string;
  /** Traffic overrides (greedy agent): bytes per tick and tick interval in milliseconds. */
  overrides?: { bytesPerTick: number; tickIntervalMs: number; mode?: "ssh" | "rpty" };
  /** Metrics port the scenario serves /metrics on (0 = pick a free one, for tests). */
  metricsPort: number;
  /** The run's shared scheduler and registries (traffic scenarios serve through them, not their own server). */
  metrics?: RunMetrics;
  /** How traffic reaches workspaces: the coder CLI for SSH, and curl-style --resolve overrides (wildcard app hosts). */
  connect?: ConnectSettings;
  signal: AbortSignal;
  log: (line: string) => void;
}

/** Connection settings from the environment (CODER_BINARY, CODER_SCALETEST_RESOLVE). */
export interface ConnectSettings {
  coderBinary?: string;
  resolve?: ResolveEntry[];
}

/** What a scenario reports back (results JSON is already written to ctx.resultsPath when `results` is set). */
export type ScenarioOutcome = Pick<ScenarioSummary, "outcome" | "results" | "error" | "bytesRead" | "bytesWritten" | "roundTrip" | "dashboard">;

/** One row of the table. */
export interface ScenarioRow {
  name: ScenarioName;
  /** Results file in the run's results directory (upstream names). */
  resultsFile: string;
  /** What the percentage slices: workspaces, or scaletest users (dashboard). */
  targets: "workspaces" | "users";
  /** Whether the greedy agent sends bulk traffic during this scenario (as upstream: traffic scenarios only). */
  greedy: boolean;
  /** The /metrics port this scenario's process side serves. */
  metricsPort(cfg: RunnerConfig): number;
  /** Expected open connections and bytes per second written, for the plan (undefined = not a byte stream). */
  estimate(load: ScenarioLoad, count: number): { connections: number; bytesPerSecond?: number };
  /** Runs the scenario; the module is imported lazily so a dry-run loads no browser or SSH code. */
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
}

/** Bytes per second written by `count` connections at the scenario's tick settings. */
function trafficEstimate(load: ScenarioLoad, count: number): { connections: number; bytesPerSecond?: number } {
  const perConn = load.bytesPerTick && load.tickInterval ? (load.bytesPerTick * 1000) / load.tickInterval : undefined;
  return { connections: count, bytesPerSecond: perConn === undefined ? undefined : perConn * count };
}

/** The scenarios, keyed by display name. */
export const SCENARIOS: Record<ScenarioName, ScenarioRow> = {
  "SSH Traffic": {
    name: "SSH Traffic",
    resultsFile: "traffic-ssh.json",
    targets: "workspaces",
    greedy: true,
    metricsPort: (cfg) => cfg.trafficMetricsPort,
    estimate: trafficEstimate,
    run: async (ctx) => (await import("./workspace-traffic/phase.ts")).trafficScenario("ssh")(ctx),
  },
  "Web Terminal Traffic": {
    name: "Web Terminal Traffic",
    resultsFile: "traffic-web-terminal.json",
    targets: "workspaces",
    greedy: true,
    metricsPort: (cfg) => cfg.trafficMetricsPort,
    estimate: trafficEstimate,
    run: async (ctx) => (await import("./workspace-traffic/phase.ts")).trafficScenario("rpty")(ctx),
  },
  "App Traffic": {
    name: "App Traffic",
    resultsFile: "traffic-app.json",
    targets: "workspaces",
    greedy: true,
    metricsPort: (cfg) => cfg.trafficMetricsPort,
    estimate: trafficEstimate,
    run: async (ctx) => (await import("./workspace-traffic/phase.ts")).trafficScenario("app")(ctx),
  },
  "Dashboard Traffic": {
    name: "Dashboard Traffic",
    resultsFile: "traffic-dashboard.json",
    targets: "users",
    greedy: false,
    metricsPort: (cfg) => cfg.dashboardMetricsPort,
    estimate: (_load, count) => ({ connections: count }),
    run: async (ctx) => (await import("./dashboard/phase.ts")).runDashboardScenario(ctx),
  },
};
