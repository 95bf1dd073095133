// Runner health row: is the load generator itself the bottleneck? Event-loop lag, skipped ticks, sockets, memory.
import { CADVISOR, LABELS, RUNNER } from "../../../src/metrics/names.ts";
import { RATE, RUNNER_SELECTOR, q, quantiles, rate, series, timeseriesPanel } from "../common.ts";

/** Labels that tell runner processes apart: Kubernetes pod, or instance elsewhere, and the shard. */
const BY_PROCESS = ["pod", "instance", LABELS.shard];
const PROCESS_LEGEND = `{{pod}} {{instance}} {{${LABELS.shard}}}`;

/** How late the traffic timer fired, per runner process; ticks drift once it nears the tick interval. */
export function eventLoopLagTimeseries() {
  return timeseriesPanel("Runner event-loop lag", "s", quantiles(RUNNER.eventLoopLag, RUNNER_SELECTOR, BY_PROCESS, [0.5, 0.99]),
    "If this nears the tick interval the runner, not coderd, limits the load: add shards.");
}

/** Ticks dropped, by why (send buffer still full, echoes outstanding, timer late). */
export function skippedTicksTimeseries() {
  return timeseriesPanel("Skipped ticks/s", "none", [
    q(`sum by (${LABELS.reason}) (${rate(RUNNER.skippedTicks, RUNNER_SELECTOR)})`, `{{${LABELS.reason}}}`),
  ], "A tick is skipped, never queued, when the previous payload has not drained (back-pressure from the workspace path) or the timer fired late.");
}

/** Retried API calls, WebSocket upgrades and SSH starts: a run can pass only because it retried a struggling coderd. */
export function retriesTimeseries() {
  return timeseriesPanel("Runner retries/s", "none", [
    q(`sum by (${LABELS.kind}, ${LABELS.reason}) (${rate(RUNNER.retries, RUNNER_SELECTOR)})`, `{{${LABELS.kind}}} {{${LABELS.reason}}}`),
  ], "Requests the runner sent again after a 429, a 5xx or a refused or dropped connection; retries hide errors from the error panels but not from coderd.");
}

/** Connections the runner holds open, by traffic mode. */
export function openConnectionsTimeseries() {
  return timeseriesPanel("Runner open connections", "none", [
    q(`sum by (${LABELS.mode}) (${series(RUNNER.openConnections, RUNNER_SELECTOR)})`, `{{${LABELS.mode}}}`),
  ]);
}

/** Resident memory of each runner process and of its `coder ssh --stdio` children. */
export function residentMemoryTimeseries() {
  return timeseriesPanel("Runner memory (RSS)", "bytes", [
    q(`max by (${[...BY_PROCESS, "process"].join(", ")}) (${series(RUNNER.residentMemory, RUNNER_SELECTOR)})`, `{{process}} ${PROCESS_LEGEND}`),
  ]);
}

/** CPU of the runner's pods (cAdvisor), matched to the pods that serve runner metrics. */
export function podCpuTimeseries() {
  const runnerPods = `group by (namespace, pod) (${series(RUNNER.openConnections, RUNNER_SELECTOR)})`;
  return timeseriesPanel("Runner pod CPU", "none", [
    q(`sum by (pod) (rate(${series(CADVISOR.cpu, ['container!=""'])}[${RATE}]) and on (namespace, pod) ${runnerPods})`, "{{pod}}"),
  ], "Cores used by the runner pods; a runner near its CPU limit under-reports coderd latency.");
}
