// coderd row: API latency and load, and the control plane's CPU, memory and goroutines.
import { CADVISOR, CODERD, GO_RUNTIME, KUBE_STATE } from "../../../src/metrics/names.ts";
import { CODERD_SELECTOR, RATE, histogramQuantile, onlyWhere, q, rate, series, timeseriesPanel } from "../common.ts";

const API = [...CODERD_SELECTOR, 'path=~"/api/v2/.*"'];
const CODERD_PROCESS = series(CODERD.apiConcurrentRequests, CODERD_SELECTOR);
const BY_PROCESS = "pod, instance";
const PROCESS_LEGEND = "{{pod}} {{instance}}";
/** coderd's container in Coder's Helm chart (provisioner pods use the same name). */
const CONTAINER = ['namespace=~"$namespace"', 'pod=~"$pod"', 'container="coder"'];

function apiLatency(quantile: number) {
  return timeseriesPanel(`API latency p${quantile * 100} by route`, "s", [
    q(histogramQuantile(quantile, CODERD.apiRequestLatency, API, ["path"]), "{{path}}"),
  ], "Route is chi's pattern, e.g. /api/v2/workspaces/{workspace}. Coder's guidance: keep workspace, template and build calls under 300 ms.");
}

/** p95 API latency per route. */
export function apiLatencyP95Timeseries() {
  return apiLatency(0.95);
}

/** p99 API latency per route. */
export function apiLatencyP99Timeseries() {
  return apiLatency(0.99);
}

/** Requests per second by status code. */
export function apiRequestsTimeseries() {
  return timeseriesPanel("API requests/s by status", "reqps", [
    q(`sum by (code) (${rate(CODERD.apiRequestsProcessed, [...CODERD_SELECTOR, 'code!="0"'])})`, "{{code}}"),
  ]);
}

/** 4xx and 5xx responses per second, by code and route. */
export function apiErrorsTimeseries() {
  return timeseriesPanel("API errors/s", "reqps", [
    q(`sum by (code, path) (${rate(CODERD.apiRequestsProcessed, [...CODERD_SELECTOR, 'code=~"[45].."'])})`, "{{code}} {{path}}"),
  ], "429 means coderd's rate limit is hit; raise it for the test or lower concurrency.");
}

/** In-flight requests and open API websockets. */
export function concurrencyTimeseries() {
  return timeseriesPanel("Concurrent requests and websockets", "none", [
    q(`sum by (${BY_PROCESS}) (${series(CODERD.apiConcurrentRequests, CODERD_SELECTOR)})`, `requests ${PROCESS_LEGEND}`),
    q(`sum by (${BY_PROCESS}) (${series(CODERD.apiConcurrentWebsockets, CODERD_SELECTOR)})`, `websockets ${PROCESS_LEGEND}`),
  ]);
}

/** CPU seconds per second of each coderd process. */
export function cpuTimeseries() {
  return timeseriesPanel("coderd CPU", "none", [
    q(`sum by (${BY_PROCESS}) (${onlyWhere(rate(CODERD.processCpu, CODERD_SELECTOR), CODERD_PROCESS)})`, PROCESS_LEGEND),
  ], "Cores used (process CPU seconds per second).");
}

/** Resident memory of each coderd process. */
export function memoryTimeseries() {
  return timeseriesPanel("coderd memory (RSS)", "bytes", [
    q(`sum by (${BY_PROCESS}) (${onlyWhere(series(CODERD.processResident, CODERD_SELECTOR), CODERD_PROCESS)})`, PROCESS_LEGEND),
  ]);
}

/** Goroutines of each coderd process; a steady climb under constant load is a leak. */
export function goroutinesTimeseries() {
  return timeseriesPanel("coderd goroutines", "none", [
    q(`sum by (${BY_PROCESS}) (${onlyWhere(series(GO_RUNTIME.goroutines, CODERD_SELECTOR), CODERD_PROCESS)})`, PROCESS_LEGEND),
  ]);
}

/** Container CPU against the pod's requests and limits (cAdvisor and kube-state-metrics). */
export function containerCpuTimeseries() {
  return timeseriesPanel("coderd container CPU vs limits", "none", [
    q(`sum by (pod) (rate(${series(CADVISOR.cpu, CONTAINER)}[${RATE}]))`, "{{pod}}"),
    q(`max(${series(KUBE_STATE.resourceRequests, [...CONTAINER, 'resource="cpu"'])})`, "requests"),
    q(`max(${series(KUBE_STATE.resourceLimits, [...CONTAINER, 'resource="cpu"'])})`, "limit"),
  ]);
}

/** Container working set against the pod's requests and limits. */
export function containerMemoryTimeseries() {
  return timeseriesPanel("coderd container memory vs limits", "bytes", [
    q(`sum by (pod) (${series(CADVISOR.memoryWorkingSet, CONTAINER)})`, "{{pod}}"),
    q(`max(${series(KUBE_STATE.resourceRequests, [...CONTAINER, 'resource="memory"'])})`, "requests"),
    q(`max(${series(KUBE_STATE.resourceLimits, [...CONTAINER, 'resource="memory"'])})`, "limit"),
  ]);
}

/** Restarts of coderd containers during the selected range. */
export function restartsTimeseries() {
  return timeseriesPanel("coderd restarts", "none", [
    q(`sum by (pod) (increase(${series(KUBE_STATE.restarts, CONTAINER)}[${RATE}]))`, "{{pod}}"),
  ]);
}
