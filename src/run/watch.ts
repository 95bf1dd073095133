// The staged run's side of the run watch: thresholds from the settings, the plan as the watch needs it.
import { scenarioLoad } from "./scenario-values.ts";
import type { RunnerConfig } from "./settings.ts";
import { ConfigError, getErrorMessage } from "../errors.ts";
import type { WatchPlan } from "../report/run-watch.ts";
import { splitThresholdSetting, validateThresholds, type Threshold } from "../verdict/threshold.ts";
import type { PlannedScenario, RunPlan } from "./plan.ts";

/** The env var of the "Thresholds" setting (one threshold per line, or a JSON array of them). */
export const THRESHOLDS_ENV = "SCALETEST_PARAM_THRESHOLDS";

/** The run's thresholds, checked against its scenarios and Prometheus URL; a bad one is a ConfigError (exit 2, nothing done). */
export function runThresholds(cfg: Pick<RunnerConfig, "thresholds" | "loadScenarios" | "prometheusUrl">): Threshold[] {
  let texts: string[];
  try {
    texts = splitThresholdSetting(cfg.thresholds);
  } catch (err) {
    throw new ConfigError([{ path: THRESHOLDS_ENV, message: getErrorMessage(err) }]);
  }
  const { thresholds, problems } = validateThresholds([{ from: THRESHOLDS_ENV, texts }], {
    scenarios: cfg.loadScenarios,
    prometheus: Boolean(cfg.prometheusUrl),
    prometheusFrom: "SCALETEST_PARAM_PROMETHEUS_URL",
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return thresholds;
}

/** Each phase's kind, length and load, with the tick interval of its traffic scenarios and whether shard pods drive it. */
export function watchPlan(plan: RunPlan, cfg: RunnerConfig, sharded?: (scenario: PlannedScenario["name"]) => boolean): WatchPlan {
  return {
    phases: plan.phases.map((p) => ({
      name: p.name,
      kind: p.kind,
      durationMs: p.durationMs,
      scenarios: p.scenarios.map((s) => ({
        name: s.name,
        connections: s.connections,
        durationMs: s.durationMs,
        bytesPerSecond: s.bytesPerSecond,
        tickIntervalMs: scenarioLoad(cfg, s.name).tickIntervalMs,
        ...(sharded?.(s.name) ? { sharded: true } : {}),
      })),
    })),
  };
}
