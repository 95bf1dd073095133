// The "Dashboard Traffic" row: its settings (duration, percentage of users, walk timing), its load and its run.
import { checkChromium, findChromium } from "../../browser/chromium.ts";
import { duration, int } from "../../config/settings.ts";
import { getErrorMessage } from "../../errors.ts";
import { formatGoDuration } from "../../util/duration.ts";
import type { ScenarioRow } from "../context.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;

const settings = {
  dashboardDuration: duration({
    env: "SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_DURATION",
    source: "parameter",
    parameter: { label: "load_scenario_dashboard_traffic_duration", name: "Dashboard Traffic Duration", unit: "m" },
    default: 30 * MIN,
    minMs: MIN,
    envMinMs: 1000,
    maxMs: 24 * HOUR,
    description: "How long Dashboard traffic runs.",
  }),
  dashboardPercentage: int({
    env: "SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_PERCENTAGE",
    source: "parameter",
    parameter: { label: "load_scenario_dashboard_traffic_percentage", name: "Dashboard Traffic Percentage" },
    default: 100,
    min: 1,
    max: 100,
    description: "Percentage of the scaletest users that browse the dashboard.",
  }),
  dashboardInterval: duration({
    env: "SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_INTERVAL",
    source: "parameter",
    parameter: { label: "load_scenario_dashboard_traffic_interval", name: "Dashboard Traffic Interval", unit: "s" },
    default: 10_000,
    minMs: 1000,
    maxMs: HOUR,
    description: "Base time between dashboard actions (upstream --interval).",
  }),
  dashboardJitter: duration({
    env: "SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_JITTER",
    source: "parameter",
    parameter: { label: "load_scenario_dashboard_traffic_jitter", name: "Dashboard Traffic Jitter", unit: "s" },
    default: 5000,
    minMs: 0,
    maxMs: HOUR,
    description: "Random extra wait per action; must be less than the interval (upstream --jitter).",
  }),
};

export const DASHBOARD_TRAFFIC: ScenarioRow<typeof settings, "Dashboard Traffic"> = {
  name: "Dashboard Traffic",
  settings,
  load: (v) => ({ durationMs: v.dashboardDuration, percentage: v.dashboardPercentage }),
  durationField: "dashboardDuration",
  percentageField: "dashboardPercentage",
  resultsFile: "traffic-dashboard.json",
  targets: "users",
  greedy: false,
  metricsPort: "dashboard",
  estimate: (_load, count) => ({ connections: count }),
  validate: (v) =>
    v.dashboardJitter >= v.dashboardInterval
      ? [{ path: settings.dashboardJitter.env, message: `must be less than ${settings.dashboardInterval.env} (template parameters "${settings.dashboardJitter.parameter!.name}" < "${settings.dashboardInterval.parameter!.name}")` }]
      : [],
  // Found is not enough: the browser is launched and closed once, so one that cannot start here is refused too.
  preflight: async () => {
    try {
      await checkChromium(findChromium());
      return undefined;
    } catch (err) {
      return `Dashboard Traffic needs a browser: ${getErrorMessage(err)}`;
    }
  },
  // Every targeted user at once, each walking for the scenario's duration, as the in-process run.
  shardCommand: (ctx) => ({
    args: [
      "dashboard",
      "--target-users", ctx.slice.target,
      "--interval", formatGoDuration(ctx.settings.dashboardInterval),
      "--jitter", formatGoDuration(ctx.settings.dashboardJitter),
      "--timeout", formatGoDuration(ctx.load.durationMs),
      "--concurrency", "0",
      "--job-timeout", "0s",
      "--run-dir", "/tmp",
    ],
    workMs: ctx.load.durationMs,
  }),
  run: async (ctx) =>
    (await import("./staged.ts")).runDashboardScenario(ctx, { dashboardIntervalMs: ctx.settings.dashboardInterval, dashboardJitterMs: ctx.settings.dashboardJitter }),
};
