// A scenario's own settings and load, read from the run's flat config.
import type { ScenarioLoad, ScenarioRow, SettingRows, SettingValues } from "../scenarios/context.ts";
import { SCENARIOS, type ScenarioName } from "../scenarios/index.ts";
import type { RunnerConfig } from "./settings.ts";

/** A scenario's own settings, read from the run's config. */
export function scenarioValues(cfg: RunnerConfig, row: ScenarioRow): SettingValues<SettingRows> {
  const c = cfg as unknown as Record<string, unknown>;
  return Object.fromEntries(Object.keys(row.settings).map((k) => [k, c[k]])) as SettingValues<SettingRows>;
}

/** The load a scenario puts on the deployment in this run. */
export function scenarioLoad(cfg: RunnerConfig, name: ScenarioName): ScenarioLoad {
  const row = SCENARIOS[name];
  return row.load(scenarioValues(cfg, row));
}
