// Workspaces row: builds as coderd counts them, how long they take, and the agents that connect.
import { CODERD } from "../../../src/metrics/names.ts";
import { CODERD_SELECTOR, NAMESPACE_SELECTOR, q, quantiles, series, timeseriesPanel } from "../common.ts";

/** Completed builds since coderd started, by transition (START, STOP, DELETE) and status. */
export function buildsTimeseries() {
  return timeseriesPanel("Workspace builds", "none", [
    q(`sum by (workspace_transition, status) (${series(CODERD.workspaceBuildsTotal, NAMESPACE_SELECTOR)})`, "{{workspace_transition}} {{status}}"),
  ], "Cumulative count of completed builds (coderd_workspace_builds_total is emitted where the provisioner runs).");
}

/** Build (provisioner job) duration percentiles by result. */
export function buildDurationTimeseries() {
  return timeseriesPanel("Workspace build duration", "s", quantiles(CODERD.provisionerJobTiming, NAMESPACE_SELECTOR, ["status"], [0.5, 0.95]));
}

/** Agent connections by status and lifecycle, and agents up per workspace summed. */
export function agentsTimeseries() {
  return timeseriesPanel("Agents connected", "none", [
    q(`sum by (status, lifecycle_state) (${series(CODERD.agentsConnections, CODERD_SELECTOR)})`, "{{status}} {{lifecycle_state}}"),
    q(`sum(${series(CODERD.agentsUp, CODERD_SELECTOR)})`, "agents up"),
  ], "coderd refreshes these gauges every minute by default.");
}
