// Run overview row: which phase the run is in, how many jobs passed or failed, and how fast they finish.
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { LABELS, RUNNER } from "../../../src/metrics/names.ts";
import { RUNNER_SELECTOR, q, quantiles, series, stateTimelinePanel, statPanel, timeseriesPanel } from "../common.ts";

/** Finished jobs (workspace builds, traffic jobs) by outcome, and the jobs running, as of now. */
export function jobOutcomesStat() {
  return statPanel("Jobs by outcome", "none", [
    q(`sum by (${LABELS.outcome}) (${series(RUNNER.jobs, RUNNER_SELECTOR)})`, `{{${LABELS.outcome}}}`),
    q(`sum by (${LABELS.test}) (${series(RUNNER.jobsRunning, RUNNER_SELECTOR)})`, `running {{${LABELS.test}}}`),
  ], "Jobs the harness finished in this run, by outcome (passed, failed, canceled, timed out), and the traffic and dashboard jobs running now.");
}

/** One lane per phase; the lane is lit while the phase runs. */
export function phaseTimeline() {
  return stateTimelinePanel("Phase", [
    q(`max by (${LABELS.phase}) (${series(RUNNER.phase, RUNNER_SELECTOR)})`, `{{${LABELS.phase}}}`),
  ], "The runner's phase gauge: 1 while a phase runs. The Status and Phase annotations mark the same moments.").mappings([
    {
      type: dashboard.MappingType.ValueToText,
      options: { "0": { text: "idle", color: "transparent", index: 0 }, "1": { text: "running", color: "green", index: 1 } },
    },
  ]);
}

/** Cumulative finished jobs per scenario and outcome: the scenario's progress. */
export function scenarioProgressTimeseries() {
  return timeseriesPanel("Scenario progress", "none", [
    q(`sum by (${LABELS.scenario}, ${LABELS.test}, ${LABELS.outcome}) (${series(RUNNER.jobs, RUNNER_SELECTOR)})`, `{{${LABELS.scenario}}} {{${LABELS.test}}} {{${LABELS.outcome}}}`),
  ], "Finished jobs per scenario and outcome since the run started (the standalone commands label by test only).");
}

/** How long each scenario's jobs take. */
export function jobDurationTimeseries() {
  return timeseriesPanel("Job duration by scenario", "s", quantiles(RUNNER.jobDuration, RUNNER_SELECTOR, [LABELS.scenario, LABELS.test], [0.5, 0.95]));
}
