// The load scenario display names: the one place they are written (config, template and scenario table import them).

/** Scenario display names, in the order the upstream runner lists them. */
export const SCENARIO_NAMES = ["SSH Traffic", "Web Terminal Traffic", "App Traffic", "Dashboard Traffic"] as const;

/** One load scenario's display name, as operators type it in the "Load Scenarios" parameter. */
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** True when `name` is one of SCENARIO_NAMES (exact, case-sensitive, as upstream). */
export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name);
}
