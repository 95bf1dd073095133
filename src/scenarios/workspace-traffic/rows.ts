// The staged run's traffic rows (SSH, Web Terminal, App): their settings, their load, and the glue to the workspace-traffic phase.
import { duration, int, oneOf } from "../../config/settings.ts";
import { BYTES_PER_TICK, TICK_INTERVAL_MS } from "../../traffic/limits.ts";
import { formatGoDuration } from "../../util/duration.ts";
import type { ScenarioContext, ScenarioLoad, ScenarioRow, SettingValues, ShardCommand } from "../context.ts";
import { APP_MODES, type TrafficMode } from "./config.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;

/** The four settings every traffic scenario has, named as upstream's template names them. */
function trafficSettings<P extends string>(key: P, envPart: string, label: string, display: string) {
  const env = `SCALETEST_PARAM_LOAD_SCENARIO_${envPart}_TRAFFIC`;
  const param = `load_scenario_${label}`;
  return {
    [`${key}Duration`]: duration({
      env: `${env}_DURATION`,
      source: "parameter",
      parameter: { label: `${param}_traffic_duration`, name: `${display} Traffic Duration`, unit: "m" },
      default: 30 * MIN,
      minMs: MIN,
      envMinMs: 1000,
      maxMs: 24 * HOUR,
      description: `How long ${display} traffic runs.`,
    }),
    [`${key}BytesPerTick`]: int({
      env: `${env}_BYTES_PER_TICK`,
      source: "parameter",
      parameter: { label: `${param}_bytes_per_tick`, name: `${display} Bytes Per Tick` },
      default: BYTES_PER_TICK.default,
      min: BYTES_PER_TICK.min,
      max: BYTES_PER_TICK.max,
      description: `Bytes each ${display} connection writes per tick.`,
    }),
    [`${key}TickInterval`]: duration({
      env: `${env}_TICK_INTERVAL`,
      source: "parameter",
      parameter: { label: `${param}_tick_interval`, name: `${display} Tick Interval`, unit: "ms" },
      default: TICK_INTERVAL_MS.default,
      minMs: TICK_INTERVAL_MS.min,
      maxMs: TICK_INTERVAL_MS.max,
      description: `Time between ${display} ticks.`,
    }),
    [`${key}Percentage`]: int({
      env: `${env}_PERCENTAGE`,
      source: "parameter",
      parameter: { label: `${param}_traffic_percentage`, name: `${display} Traffic Percentage` },
      default: 100,
      min: 1,
      max: 100,
      description: `Percentage of the workspaces that get ${display} traffic.`,
    }),
  } as {
    [K in `${P}Duration` | `${P}TickInterval`]: ReturnType<typeof duration>;
  } & { [K in `${P}BytesPerTick` | `${P}Percentage`]: ReturnType<typeof int> };
}

/** Bytes per second written by `count` connections at the scenario's tick settings. */
export function trafficEstimate(load: ScenarioLoad, count: number): { connections: number; bytesPerSecond?: number } {
  const perConn = load.bytesPerTick && load.tickIntervalMs ? (load.bytesPerTick * 1000) / load.tickIntervalMs : undefined;
  return { connections: count, bytesPerSecond: perConn === undefined ? undefined : perConn * count };
}

type Traffic<P extends string> = ReturnType<typeof trafficSettings<P>>;

/** The load of a traffic row, from its four settings. */
function trafficLoad<P extends string>(p: P) {
  return (v: SettingValues<Traffic<P>>): ScenarioLoad => {
    const get = (k: string) => (v as Record<string, number>)[`${p}${k}`]!;
    return { durationMs: get("Duration"), percentage: get("Percentage"), bytesPerTick: get("BytesPerTick"), tickIntervalMs: get("TickInterval") };
  };
}

/** A traffic row's run: the workspace-traffic phase on the scenario's slice (code loaded when it runs). */
function trafficRun(mode: TrafficMode, app?: (v: Record<string, unknown>) => string) {
  return async (ctx: Parameters<ScenarioRow["run"]>[0]) => (await import("./staged.ts")).runTrafficScenario(ctx, mode, app?.(ctx.settings) ?? "");
}

/** A job's slack past the traffic duration, as the staged run gives it in-process. */
const JOB_SLACK_MS = 30_000;

/** Where a shard pod puts the deployment's coder CLI for SSH (the image has none: it must match the deployment's version). */
const SHARD_CODER_BINARY = "/tmp/coder";

/** Fetches the coder CLI from the deployment, as the template's startup script does (exit 3: not a traffic failure, retried). */
const SSH_PRELUDE = [
  'case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) echo "unsupported architecture $(uname -m)" >&2; exit 3 ;; esac',
  `curl -fsSL --retry 5 -o ${SHARD_CODER_BINARY} "\${CODER_URL%/}/bin/coder-linux-$arch" && chmod 0755 ${SHARD_CODER_BINARY} || exit 3`,
].join("\n");

/** A traffic row's phase as `scaletest workspace-traffic` flags: the same slice, rate and duration as its in-process run. */
function trafficShardCommand(mode: TrafficMode, app?: (v: Record<string, unknown>) => string) {
  return (ctx: ScenarioContext): ShardCommand => {
    const { load } = ctx;
    const args = [
      "workspace-traffic",
      "--template", ctx.template,
      "--target-workspaces", ctx.slice.target,
      "--bytes-per-tick", String(load.bytesPerTick),
      "--tick-interval", formatGoDuration(load.tickIntervalMs ?? 0),
      "--timeout", formatGoDuration(load.durationMs),
      "--job-timeout", formatGoDuration(load.durationMs + JOB_SLACK_MS),
      "--concurrency", String(ctx.jobConcurrency),
    ];
    if (mode === "ssh") args.push("--ssh", "--coder-binary", SHARD_CODER_BINARY);
    if (mode === "app") args.push("--app", app?.(ctx.settings as Record<string, unknown>) ?? "");
    return { args, workMs: load.durationMs + JOB_SLACK_MS, prelude: mode === "ssh" ? SSH_PRELUDE : undefined };
  };
}

const sshSettings = trafficSettings("ssh", "SSH", "ssh", "SSH");
const webTerminalSettings = trafficSettings("webTerminal", "WEB_TERMINAL", "web_terminal", "Web Terminal");
const appSettings = {
  ...trafficSettings("app", "APP", "app", "App"),
  appMode: oneOf({
    env: "SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_MODE",
    source: "parameter",
    parameter: { label: "load_scenario_app_traffic_mode", name: "App Traffic Mode" },
    options: APP_MODES,
    default: "wsec",
    description: "wsec: echo (write and read), wsra: read random data, wsdi: write and discard.",
  }),
};

const common = { targets: "workspaces", greedy: true, metricsPort: "traffic", estimate: trafficEstimate } as const;

export const SSH_TRAFFIC: ScenarioRow<typeof sshSettings, "SSH Traffic"> = {
  name: "SSH Traffic",
  settings: sshSettings,
  load: trafficLoad("ssh"),
  durationField: "sshDuration",
  percentageField: "sshPercentage",
  resultsFile: "traffic-ssh.json",
  ...common,
  shardCommand: trafficShardCommand("ssh"),
  run: trafficRun("ssh"),
};

export const WEB_TERMINAL_TRAFFIC: ScenarioRow<typeof webTerminalSettings, "Web Terminal Traffic"> = {
  name: "Web Terminal Traffic",
  settings: webTerminalSettings,
  load: trafficLoad("webTerminal"),
  durationField: "webTerminalDuration",
  percentageField: "webTerminalPercentage",
  resultsFile: "traffic-web-terminal.json",
  ...common,
  shardCommand: trafficShardCommand("rpty"),
  run: trafficRun("rpty"),
};

export const APP_TRAFFIC: ScenarioRow<typeof appSettings, "App Traffic"> = {
  name: "App Traffic",
  settings: appSettings,
  load: trafficLoad("app"),
  durationField: "appDuration",
  percentageField: "appPercentage",
  resultsFile: "traffic-app.json",
  ...common,
  shardCommand: trafficShardCommand("app", (v) => String(v.appMode)),
  run: trafficRun("app", (v) => String(v.appMode)),
};
