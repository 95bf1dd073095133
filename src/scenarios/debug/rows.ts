// Upstream's debug scenarios, for testing the runner itself: succeed or fail after a wait, or drive only the greedy workspace.
import { duration } from "../../config/settings.ts";
import type { ScenarioRow } from "../context.ts";

const settings = {
  debugDuration: duration({
    env: "SCALETEST_PARAM_LOAD_SCENARIO_DEBUG_DURATION",
    source: "parameter",
    parameter: { label: "load_scenario_debug_duration", name: "Debug Scenario Duration", unit: "s" },
    default: 10_000,
    minMs: 1000,
    maxMs: 3_600_000,
    description: "How long the debug:* scenarios run (upstream: 10 s for debug:success and debug:error).",
  }),
};

const none = { durationField: "debugDuration", targets: "none", greedy: false, metricsPort: "traffic", estimate: () => ({ connections: 0 }) } as const;
const load = (v: { debugDuration: number }) => ({ durationMs: v.debugDuration, percentage: 0 });

export const DEBUG_SUCCESS: ScenarioRow<typeof settings, "debug:success"> = {
  name: "debug:success",
  settings,
  load,
  resultsFile: "debug-success.json",
  ...none,
  run: async (ctx) => (await import("./run.ts")).runDebugJob(ctx, true),
};

export const DEBUG_ERROR: ScenarioRow<typeof settings, "debug:error"> = {
  name: "debug:error",
  settings,
  load,
  resultsFile: "debug-error.json",
  ...none,
  run: async (ctx) => (await import("./run.ts")).runDebugJob(ctx, false),
};

export const DEBUG_GREEDY_AGENT_TRAFFIC: ScenarioRow<typeof settings, "debug:greedy_agent_traffic"> = {
  name: "debug:greedy_agent_traffic",
  settings,
  load,
  resultsFile: "debug-greedy-agent-traffic.json",
  ...none,
  estimate: () => ({ connections: 1 }),
  validate: (_v, run) => (run.greedyAgent ? [] : [{ path: run.greedyAgentSetting, message: `must be true when "debug:greedy_agent_traffic" is selected: it drives the greedy workspace only` }]),
  run: async (ctx) => (await import("./run.ts")).runGreedyOnly(ctx),
};
