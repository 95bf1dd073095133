// The scenario table: display name → row. A new scenario is one folder under src/scenarios plus one entry here (and its template parameters).
import type { ScenarioRow } from "./context.ts";
import { DASHBOARD_TRAFFIC } from "./dashboard/row.ts";
import { DEBUG_ERROR, DEBUG_GREEDY_AGENT_TRAFFIC, DEBUG_SUCCESS } from "./debug/rows.ts";
import { APP_TRAFFIC, SSH_TRAFFIC, WEB_TERMINAL_TRAFFIC } from "./workspace-traffic/rows.ts";

/** Every row, in the order upstream's runner lists them (the load scenarios first, then the debug ones). */
const ROWS = [SSH_TRAFFIC, WEB_TERMINAL_TRAFFIC, APP_TRAFFIC, DASHBOARD_TRAFFIC, DEBUG_SUCCESS, DEBUG_ERROR, DEBUG_GREEDY_AGENT_TRAFFIC] as const;

/** One scenario's display name, as operators type it in "Load Scenarios": the rows' names. */
export type ScenarioName = (typeof ROWS)[number]["name"];

/** Scenario display names, in table order. */
export const SCENARIO_NAMES = ROWS.map((r) => r.name) as ScenarioName[];

/** The rows, keyed by display name. */
export const SCENARIOS: Readonly<Record<ScenarioName, ScenarioRow>> = Object.fromEntries(ROWS.map((r) => [r.name, r as unknown as ScenarioRow])) as Record<
  ScenarioName,
  ScenarioRow
>;

/** The load scenarios the template selects by default (upstream's four; the debug rows are opt-in). */
export const DEFAULT_SCENARIOS: readonly ScenarioName[] = ["SSH Traffic", "Web Terminal Traffic", "App Traffic", "Dashboard Traffic"];

/** Every scenario's duration env var, once each (the debug rows share one), in table order. */
export function scenarioDurationEnvs(): string[] {
  return [...new Set(ROWS.map((r) => (r.settings as Record<string, { env: string }>)[r.durationField]!.env))];
}

/** True when `name` is a row of the table (exact, case-sensitive, as upstream). */
export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name);
}

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** Every row's settings, merged into one object type (they join the runner's settings table). */
export type ScenarioSettingRows = UnionToIntersection<(typeof ROWS)[number]["settings"]>;

/** Every scenario's settings rows, merged (rows that share a setting share one object). */
export function scenarioSettings(): ScenarioSettingRows {
  const out: Record<string, unknown> = {};
  for (const r of ROWS) Object.assign(out, r.settings);
  return out as ScenarioSettingRows;
}
