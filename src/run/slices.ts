// Which workspace index range each load scenario targets, from its percentage (upstream run.sh's target ranges).
import type { ConfigProblem } from "../errors.ts";
import { RUNNER_ENV } from "./settings.ts";
import type { RunnerConfig } from "./config.ts";
import { scenarioField, scenarioLoad } from "../config/scenario-load.ts";
import { isScenarioName, type ScenarioName } from "../config/scenarios.ts";
import type { Setting } from "../config/settings.ts";

/** One scenario's targets: workspace (or, for Dashboard Traffic, user) indices [start, end). */
export interface ScenarioSlice {
  scenario: ScenarioName;
  start: number;
  /** Exclusive. */
  end: number;
  count: number;
  /** The `--target-workspaces` / `--target-users` form, "start:end". */
  target: string;
}

type SliceInput = Pick<RunnerConfig, "loadScenarios" | "numWorkspaces" | "runConcurrently"> & Partial<RunnerConfig>;

/** Targets per scenario: floor(percentage% of N), laid end to end; a slice that would pass N wraps to 0 (as upstream). */
export function planSlices(cfg: SliceInput): ScenarioSlice[] {
  const n = cfg.numWorkspaces;
  const slices: ScenarioSlice[] = [];
  let start = 0;
  for (const scenario of cfg.loadScenarios) {
    const { percentage } = scenarioLoad(cfg as RunnerConfig, scenario);
    const count = Math.floor((percentage * n) / 100);
    if (start + count > n) start = 0;
    const end = start + count;
    slices.push({ scenario, start, end, count, target: `${start}:${end}` });
    start = end;
  }
  return slices;
}

const setting = (f: string) => RUNNER_ENV[f as keyof typeof RUNNER_ENV] as Setting;

/** Problems with the plan: an empty slice, or (concurrent mode) slices that overlap because percentages add up past 100. */
export function slicesProblems(cfg: RunnerConfig): ConfigProblem[] {
  const n = cfg.numWorkspaces;
  const valid = (x: number, lo: number, hi: number) => Number.isInteger(x) && x >= lo && x <= hi;
  if (!Array.isArray(cfg.loadScenarios) || !valid(n, 1, Number.MAX_SAFE_INTEGER)) return [];
  const known = cfg.loadScenarios.filter(isScenarioName);
  // Out-of-range percentages are reported by their own range check; planning with them would only add noise.
  if (!known.every((s) => valid(scenarioLoad(cfg, s).percentage, 1, 100))) return [];
  const problems: ConfigProblem[] = [];
  const minPct = Math.ceil(100 / n);
  for (const slice of planSlices({ ...cfg, loadScenarios: known })) {
    if (slice.count >= 1) continue;
    const s = setting(scenarioField(slice.scenario, "Percentage"));
    problems.push({
      path: s.env,
      message: `gives "${slice.scenario}" 0 of ${n} workspaces; must be at least ${minPct} (template parameter "${s.parameter?.name}") so the scenario targets at least 1 workspace`,
    });
  }
  if (cfg.runConcurrently) {
    const parts = known.map((s) => ({ s, pct: scenarioLoad(cfg, s).percentage }));
    const total = parts.reduce((a, p) => a + p.pct, 0);
    if (total > 100) {
      const names = known.map((s) => `"${setting(scenarioField(s, "Percentage")).parameter?.name}"`).join(", ");
      problems.push({
        path: RUNNER_ENV.runConcurrently.env,
        message: `concurrent scenarios split the workspaces, so their percentages must add up to at most 100, got ${total} (${parts.map((p) => `${p.s} ${p.pct}%`).join(" + ")}; template parameters ${names})`,
      });
    }
  }
  return problems;
}
