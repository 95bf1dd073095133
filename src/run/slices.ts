// Which workspace index range each load scenario targets, from its percentage (upstream run.sh's target ranges).
import type { ConfigProblem } from "../errors.ts";
import type { ScenarioSlice } from "../scenarios/context.ts";
import { isScenarioName, SCENARIOS, type ScenarioName } from "../scenarios/index.ts";
import { scenarioLoad } from "./scenario-values.ts";
import type { RunnerConfig } from "./settings.ts";

/** One scenario's slice of the targets. */
export type PlannedSlice = ScenarioSlice & { scenario: ScenarioName };

type SliceInput = Pick<RunnerConfig, "loadScenarios" | "numWorkspaces" | "runConcurrently"> & Partial<RunnerConfig>;

/** Targets per scenario: floor(percentage% of N), laid end to end; a slice that would pass N wraps to 0 (as upstream). Debug rows target nothing. */
export function planSlices(cfg: SliceInput): PlannedSlice[] {
  const n = cfg.numWorkspaces;
  const slices: PlannedSlice[] = [];
  let start = 0;
  for (const scenario of cfg.loadScenarios) {
    if (SCENARIOS[scenario].targets === "none") {
      slices.push({ scenario, start: 0, end: 0, count: 0, target: "0:0" });
      continue;
    }
    const { percentage } = scenarioLoad(cfg as RunnerConfig, scenario);
    const count = Math.floor((percentage * n) / 100);
    if (start + count > n) start = 0;
    const end = start + count;
    slices.push({ scenario, start, end, count, target: `${start}:${end}` });
    start = end;
  }
  return slices;
}

/** The env var and template parameter of a scenario's percentage setting. */
function percentageSetting(name: ScenarioName): { env: string; parameter: string } {
  const row = SCENARIOS[name];
  const s = row.settings[row.percentageField!]!;
  return { env: s.env, parameter: s.parameter?.name ?? s.env };
}

/** Problems with the plan: an empty slice, or (concurrent mode) slices that overlap because percentages add up past 100. */
export function slicesProblems(cfg: RunnerConfig): ConfigProblem[] {
  const n = cfg.numWorkspaces;
  const valid = (x: number, lo: number, hi: number) => Number.isInteger(x) && x >= lo && x <= hi;
  if (!Array.isArray(cfg.loadScenarios) || !valid(n, 1, Number.MAX_SAFE_INTEGER)) return [];
  const known = cfg.loadScenarios.filter(isScenarioName).filter((s) => SCENARIOS[s].targets !== "none");
  // Out-of-range percentages are reported by their own range check; planning with them would only add noise.
  if (!known.every((s) => valid(scenarioLoad(cfg, s).percentage, 1, 100))) return [];
  const problems: ConfigProblem[] = [];
  const minPct = Math.ceil(100 / n);
  for (const slice of planSlices({ ...cfg, loadScenarios: known })) {
    if (slice.count >= 1) continue;
    const s = percentageSetting(slice.scenario);
    problems.push({
      path: s.env,
      message: `gives "${slice.scenario}" 0 of ${n} workspaces; must be at least ${minPct} (template parameter "${s.parameter}") so the scenario targets at least 1 workspace`,
    });
  }
  if (cfg.runConcurrently) {
    const parts = known.map((s) => ({ s, pct: scenarioLoad(cfg, s).percentage }));
    const total = parts.reduce((a, p) => a + p.pct, 0);
    if (total > 100) {
      const names = known.map((s) => `"${percentageSetting(s).parameter}"`).join(", ");
      problems.push({
        path: "SCALETEST_PARAM_LOAD_SCENARIO_RUN_CONCURRENTLY",
        message: `concurrent scenarios split the workspaces, so their percentages must add up to at most 100, got ${total} (${parts.map((p) => `${p.s} ${p.pct}%`).join(" + ")}; template parameters ${names})`,
      });
    }
  }
  return problems;
}
