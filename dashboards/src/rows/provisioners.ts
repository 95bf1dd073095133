// Provisioners row: running jobs, daemons, job durations, and the external provisioner pods.
import { CODERD, KUBE_STATE } from "../../../src/metrics/names.ts";
import { NAMESPACE_SELECTOR, q, quantiles, series, timeseriesPanel } from "../common.ts";

/** Jobs running right now per provisioner type. */
export function jobsRunningTimeseries() {
  return timeseriesPanel("Provisioner jobs running", "none", [
    q(`sum by (provisioner) (${series(CODERD.provisionerdJobsCurrent, NAMESPACE_SELECTOR)})`, "{{provisioner}}"),
  ], "Running jobs at the daemons' capacity means builds queue; add provisioner replicas.");
}

/** Daemons registered in each scraped process. */
export function daemonsTimeseries() {
  return timeseriesPanel("Provisioner daemons", "none", [
    q(`sum(${series(CODERD.provisionerdNumDaemons, NAMESPACE_SELECTOR)})`, "daemons"),
  ]);
}

/** Job duration percentiles per provisioner type. */
export function jobDurationTimeseries() {
  return timeseriesPanel("Provisioner job duration", "s", quantiles(CODERD.provisionerJobTiming, NAMESPACE_SELECTOR, ["provisioner"], [0.5, 0.95, 0.99]));
}

/** Provisioner pods whose container is running (kube-state-metrics). */
export function podsRunningTimeseries() {
  return timeseriesPanel("Provisioner pods running", "none", [
    q(`sum(${series(KUBE_STATE.running, [...NAMESPACE_SELECTOR, 'pod=~".*provisioner.*"'])})`, "pods"),
  ]);
}
