// One scenario's load settings, looked up from the flat runner config by scenario name.
import type { RunnerField } from "../run/settings.ts";
import type { RunnerConfig } from "../run/config.ts";
import type { ScenarioName } from "./scenarios.ts";

/** The load settings of one scenario, looked up from the flat config (no per-scenario copies). */
export interface ScenarioLoad {
  /** Milliseconds. */
  duration: number;
  percentage: number;
  /** Traffic scenarios only. */
  bytesPerTick?: number;
  /** Milliseconds; traffic scenarios only. */
  tickInterval?: number;
}

const SCENARIO_PREFIX: Record<ScenarioName, "ssh" | "webTerminal" | "app" | "dashboard"> = {
  "SSH Traffic": "ssh",
  "Web Terminal Traffic": "webTerminal",
  "App Traffic": "app",
  "Dashboard Traffic": "dashboard",
};

/** Config field names holding a scenario's settings (for messages and the slice planner). */
export function scenarioField(name: ScenarioName, what: "Duration" | "Percentage"): RunnerField {
  return `${SCENARIO_PREFIX[name]}${what}` as RunnerField;
}

/** The duration, percentage and (for traffic) tick settings of one scenario. */
export function scenarioLoad(cfg: RunnerConfig, name: ScenarioName): ScenarioLoad {
  const p = SCENARIO_PREFIX[name];
  if (p === "dashboard") return { duration: cfg.dashboardDuration, percentage: cfg.dashboardPercentage };
  return { duration: cfg[`${p}Duration`], percentage: cfg[`${p}Percentage`], bytesPerTick: cfg[`${p}BytesPerTick`], tickInterval: cfg[`${p}TickInterval`] };
}
