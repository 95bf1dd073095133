// The contract between the staged run and a load scenario: what a table row declares and what the run hands it (types only).
import type { CoderClient } from "../coder/client.ts";
import type { ConfigProblem } from "../errors.ts";
import type { HarnessEvents } from "../harness/harness.ts";
import type { Setting, ValueOf } from "../config/settings.ts";
import type { RunMetrics } from "../metrics/run-metrics.ts";
import type { ScenarioSummary } from "../report/summary.ts";
import type { ResolveEntry } from "../traffic/resolve.ts";

/** What a phase function reports to whoever runs it (the CLI's progress and --verbose, the staged run's job counters). */
export interface PhaseReporting {
  /** Harness events, made once the number of jobs is known. */
  events?: (jobs: number) => HarnessEvents;
  /** Each job's log as it is written. */
  tee?: (id: string, text: string) => void;
  /** Where the upstream-shaped results JSON is written, if anywhere. */
  resultsPath?: string;
}

/** A scenario's own settings: RunnerConfig field name → its env/template row. */
export type SettingRows = Record<string, Setting>;

/** The typed values of a scenario's settings. */
export type SettingValues<S extends SettingRows> = { -readonly [K in keyof S]: ValueOf<S[K]> };

/** The load a scenario puts on the deployment, read from its settings. */
export interface ScenarioLoad {
  durationMs: number;
  /** Percentage of the workspaces (users for Dashboard Traffic) it targets; 0 = it targets none. */
  percentage: number;
  /** Byte-stream scenarios only. */
  bytesPerTick?: number;
  tickIntervalMs?: number;
}

/** One scenario's targets: workspace (or user) indices [start, end) over the sorted scaletest list. */
export interface ScenarioSlice {
  start: number;
  /** Exclusive. */
  end: number;
  count: number;
  /** The `--target-workspaces` / `--target-users` form, "start:end". */
  target: string;
}

/** How traffic reaches workspaces: the coder CLI for SSH, curl-style --resolve overrides (wildcard app hosts). */
export interface ConnectSettings {
  coderBinary?: string;
  resolve?: ResolveEntry[];
}

/** Bulk traffic to the greedy workspace, run inside a traffic scenario (or as debug:greedy_agent_traffic). */
export interface GreedyJob {
  bytesPerTick: number;
  tickIntervalMs: number;
  mode: "ssh" | "rpty";
}

/** What the orchestrator hands a scenario. */
export interface ScenarioContext<V = SettingValues<SettingRows>> {
  name: string;
  /** The scenario's own settings (its rows of the settings table), typed. */
  settings: V;
  load: ScenarioLoad;
  /** Traffic jobs run at once (0 = unlimited). */
  jobConcurrency: number;
  /** Admin client (the runner's API token). */
  client: CoderClient;
  slice: ScenarioSlice;
  /** Only workspaces of this template are targeted. */
  template: string;
  /** Where the scenario writes its upstream-shaped results JSON. */
  resultsPath: string;
  /** A scratch directory for the scenario (screenshots, logs). */
  workDir: string;
  /** Set when this is the greedy workspace's side job: its rate and transport replace the scenario's. */
  greedy?: GreedyJob;
  /** The greedy workspace, when the run has one: its template and bulk rate. */
  greedyWorkspace?: { template: string; bytesPerTick: number; tickIntervalMs: number };
  /** The run's shared scheduler and registries. */
  metrics: RunMetrics;
  connect?: ConnectSettings;
  signal: AbortSignal;
  log: (line: string) => void;
}

/** What a scenario reports back (results JSON is already written to ctx.resultsPath when `results` is set). */
export type ScenarioOutcome = Pick<ScenarioSummary, "outcome" | "results" | "error" | "bytesRead" | "bytesWritten" | "roundTrip" | "dashboard" | "retries">;

/** How a scenario's phase runs in shard pods (Runner shards > 1): the same work as its in-process run, as a CLI command. */
export interface ShardCommand {
  /** The `scaletest` subcommand and its flags (the coordinator adds the shard flags, the run adds the deployment and metrics). */
  args: string[];
  /** How long a shard works from the shared start: the traffic and its job timeouts. */
  workMs: number;
  /** Shell run before `scaletest` in the pod (SSH needs the deployment's coder CLI). */
  prelude?: string;
}

/** What a row's validation may depend on besides its own settings. */
export interface RunFacts {
  workspaceTemplate: string;
  greedyAgent: boolean;
  /** Env var and template parameter of the workspace template setting, for messages. */
  workspaceTemplateSetting: string;
  greedyAgentSetting: string;
}

/** One row of the scenario table. */
export interface ScenarioRow<S extends SettingRows = SettingRows, N extends string = string> {
  /** Display name, as operators list it in "Load Scenarios" (a literal type: the table's ScenarioName is the union of them). */
  name: N;
  /** The scenario's settings rows; they join the runner's settings table (env var, template parameter, range). */
  settings: S;
  /** The setting holding how long it runs (DEMO_SCENARIO_DURATION and the simulator defaults set every row's). */
  durationField: keyof S & string;
  /** Its load, from its settings. */
  load(values: SettingValues<S>): ScenarioLoad;
  /** Results file in the run's results directory (upstream names). */
  resultsFile: string;
  /** What the percentage slices: workspaces, scaletest users (dashboard), or nothing (debug rows). */
  targets: "workspaces" | "users" | "none";
  /** The setting holding its percentage of the targets (unset when targets is "none"). */
  percentageField?: keyof S & string;
  /** Whether the greedy agent sends bulk traffic during this scenario (as upstream: traffic scenarios only). */
  greedy: boolean;
  /** Which of the run's /metrics ports shows its families. */
  metricsPort: "traffic" | "dashboard";
  /** Expected open connections and bytes per second written, for the plan (bytesPerSecond undefined: not a byte stream). */
  estimate(load: ScenarioLoad, count: number): { connections: number; bytesPerSecond?: number };
  /** What stops this scenario from running here (e.g. no browser), checked before anything is created; undefined = ready. */
  preflight?(values: SettingValues<S>): Promise<string | undefined>;
  /** Problems with its settings in this run (checked with the rest of the config, only when the scenario is selected). */
  validate?(values: SettingValues<S>, run: RunFacts): ConfigProblem[];
  /** Its phase as a shard pod's command (Runner shards > 1); unset: the scenario always runs in the runner. */
  shardCommand?(ctx: ScenarioContext<SettingValues<S>>): ShardCommand;
  /** Runs the scenario; rows import their code lazily so a dry-run loads no browser or SSH code. */
  run(ctx: ScenarioContext<SettingValues<S>>): Promise<ScenarioOutcome>;
}

