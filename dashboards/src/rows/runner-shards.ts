// Runner shards row (collapsed): a sharded run's load and health per shard pod, to spot a slow node or an uneven split.
import { LABELS, RUNNER, TRAFFIC } from "../../../src/metrics/names.ts";
import { RUNNER_SELECTOR, q, quantiles, rate, series, timeseriesPanel } from "../common.ts";

const SHARD = `shard {{${LABELS.shard}}}`;

/** Bytes per second each shard writes and reads back. */
export function shardThroughputTimeseries() {
  return timeseriesPanel("Traffic bytes/s per shard", "binBps", [
    q(`sum by (${LABELS.shard}) (${rate(TRAFFIC.bytesWritten, RUNNER_SELECTOR)})`, `written ${SHARD}`),
    q(`sum by (${LABELS.shard}) (${rate(TRAFFIC.bytesRead, RUNNER_SELECTOR)})`, `read ${SHARD}`),
  ], "Shards of one phase should move about the same bytes; one that falls behind the others is on a slow or busy node.");
}

/** How late each shard's traffic timer fires. */
export function shardEventLoopLagTimeseries() {
  return timeseriesPanel("Event-loop lag per shard", "s", quantiles(RUNNER.eventLoopLag, RUNNER_SELECTOR, [LABELS.shard], [0.5, 0.99]),
    "A shard whose lag nears the tick interval limits its part of the load: its node is slow or its share too large.");
}

/** Connections each shard holds open. */
export function shardConnectionsTimeseries() {
  return timeseriesPanel("Open connections per shard", "none", [
    q(`sum by (${LABELS.shard}) (${series(RUNNER.openConnections, RUNNER_SELECTOR)})`, SHARD),
  ], "Targets are split by workspace ID hash (user ID for dashboard traffic), so shards hold about the same number.");
}
