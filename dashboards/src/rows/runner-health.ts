// Runner health row: is the load generator itself the bottleneck? Event-loop lag, skipped ticks, sockets, memory.
import { CADVISOR, LABELS, RUNNER } from "../../../src/metrics/names.ts";
import { RATE, RUNNER_SELECTOR, q, rate, series, timeseriesPanel } from "../common.ts";

const BY_PROCESS = `pod, instance, ${LABELS.shard}`;
const PROCESS_LEGEND = `{{pod}} {{instance}} {{${LABELS.shard}}}`;

/** Event-loop lag of each runner process; ticks drift once it nears the tick interval. */
export function eventLoopLagTimeseries() {
  return timeseriesPanel("Runner event-loop lag", "s", [
    q(`max by (${BY_PROCESS}) (${series(RUNNER.eventLoopLag, RUNNER_SELECTOR)})`, PROCESS_LEGEND),
  ], "If this nears the tick interval the runner, not coderd, limits the load: add shards.");
}

/** Ticks dropped because a connection's send buffer was still full. */
export function skippedTicksTimeseries() {
  return timeseriesPanel("Skipped ticks/s", "none", [
    q(`sum by (${LABELS.scenario}) (${rate(RUNNER.skippedTicks, RUNNER_SELECTOR)})`, `{{${LABELS.scenario}}}`),
  ], "A tick is skipped (never queued) when the previous payload has not drained: back-pressure from the workspace path.");
}

/** Connections the runner holds open, by scenario. */
export function openConnectionsTimeseries() {
  return timeseriesPanel("Runner open connections", "none", [
    q(`sum by (${LABELS.scenario}) (${series(RUNNER.openConnections, RUNNER_SELECTOR)})`, `{{${LABELS.scenario}}}`),
  ]);
}

/** Resident memory of each runner process. */
export function residentMemoryTimeseries() {
  return timeseriesPanel("Runner memory (RSS)", "bytes", [
    q(`max by (${BY_PROCESS}) (${series(RUNNER.residentMemory, RUNNER_SELECTOR)})`, PROCESS_LEGEND),
  ]);
}

/** CPU of the runner's pods (cAdvisor), matched to the pods that serve runner metrics. */
export function podCpuTimeseries() {
  const runnerPods = `group by (namespace, pod) (${series(RUNNER.openConnections, RUNNER_SELECTOR)})`;
  return timeseriesPanel("Runner pod CPU", "none", [
    q(`sum by (pod) (rate(${series(CADVISOR.cpu, ['container!=""'])}[${RATE}]) and on (namespace, pod) ${runnerPods})`, "{{pod}}"),
  ], "Cores used by the runner pods; a runner near its CPU limit under-reports coderd latency.");
}

