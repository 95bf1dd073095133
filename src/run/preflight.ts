// What stops a selected scenario from running on this machine (e.g. no browser for Dashboard Traffic), found before anything is created.
import { SCENARIOS } from "../scenarios/index.ts";
import { scenarioValues } from "./scenario-values.ts";
import type { RunnerConfig } from "./settings.ts";

/** One line per selected scenario that cannot run here, naming it and why. */
export async function preflightProblems(cfg: RunnerConfig): Promise<string[]> {
  const problems: string[] = [];
  for (const name of cfg.loadScenarios) {
    const row = SCENARIOS[name];
    const why = await row.preflight?.(scenarioValues(cfg, row));
    if (why) problems.push(`"${name}" cannot run here: ${why}`);
  }
  return problems;
}
