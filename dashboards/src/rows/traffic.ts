// Traffic row: what the runner moves through web terminals, SSH and apps, and how long it takes, by scenario.
import { DASHBOARD, LABELS, TRAFFIC } from "../../../src/metrics/names.ts";
import { RUNNER_SELECTOR, q, quantiles, rate, timeseriesPanel } from "../common.ts";

const scenario = `{{${LABELS.scenario}}}`;

/** Bytes per second written to and read back from workspaces. */
export function throughputTimeseries() {
  return timeseriesPanel("Traffic bytes/s", "binBps", [
    q(`sum by (${LABELS.scenario}) (${rate(TRAFFIC.bytesWritten, RUNNER_SELECTOR)})`, `written ${scenario}`),
    q(`sum by (${LABELS.scenario}) (${rate(TRAFFIC.bytesRead, RUNNER_SELECTOR)})`, `read ${scenario}`),
  ], "Compare with the target: bytes per tick × ticks per second × targeted workspaces.");
}

/** Write-to-echo time of each tick's marker: the latency a user typing in the terminal feels. */
export function roundTripTimeseries() {
  return timeseriesPanel("Round-trip latency", "s", quantiles(TRAFFIC.roundTrip, RUNNER_SELECTOR, [LABELS.scenario]),
    "Time from writing a tick's marker to reading its echo (upstream only times the write call).");
}

/** Time per Write and per Read call, as upstream measures it. */
export function ioLatencyTimeseries() {
  return timeseriesPanel("Read/write call latency p95", "s", [
    ...quantiles(TRAFFIC.writeLatency, RUNNER_SELECTOR, [LABELS.scenario], [0.95]).map((x) => q(x.expr, `write ${x.legend}`)),
    ...quantiles(TRAFFIC.readLatency, RUNNER_SELECTOR, [LABELS.scenario], [0.95]).map((x) => q(x.expr, `read ${x.legend}`)),
  ], "Reads block until data arrives, so read latency includes the idle gap between ticks.");
}

/** Read and write errors per second (normal closes and cancellations are not errors). */
export function trafficErrorsTimeseries() {
  return timeseriesPanel("Traffic errors/s", "none", [
    q(`sum by (${LABELS.scenario}) (${rate(TRAFFIC.writeErrors, RUNNER_SELECTOR)})`, `write ${scenario}`),
    q(`sum by (${LABELS.scenario}) (${rate(TRAFFIC.readErrors, RUNNER_SELECTOR)})`, `read ${scenario}`),
  ]);
}

/** Dashboard traffic: time per simulated click-and-wait, by page. */
export function dashboardActionsTimeseries() {
  return timeseriesPanel("Dashboard action duration p95", "s", quantiles(DASHBOARD.duration, RUNNER_SELECTOR, [LABELS.action], [0.95]));
}

/** Dashboard traffic: failed page actions per second, by page. */
export function dashboardErrorsTimeseries() {
  return timeseriesPanel("Dashboard action errors/s", "none", [
    q(`sum by (${LABELS.action}) (${rate(DASHBOARD.errors, RUNNER_SELECTOR)})`, `{{${LABELS.action}}}`),
  ]);
}
