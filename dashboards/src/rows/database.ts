// Database row: per-query latency and rate as coderd sees them, and Postgres' own counters.
import { CODERD, POSTGRES_EXPORTER } from "../../../src/metrics/names.ts";
import { CODERD_SELECTOR, NAMESPACE_SELECTOR, q, quantiles, rate, series, timeseriesPanel } from "../common.ts";

/** coderd exports the per-query histogram only when told to; say so where the panels would otherwise sit empty. */
const DB_METRICS_NOTE =
  "coderd emits coderd_db_query_latencies_seconds only with CODER_PROMETHEUS_COLLECT_DB_METRICS=true (off by default; one series set per store method such as GetWorkspaces). Empty otherwise.";

/** p95 latency per store method (needs CODER_PROMETHEUS_COLLECT_DB_METRICS). */
export function queryLatencyTimeseries() {
  return timeseriesPanel("DB query latency p95 by query", "s", quantiles(CODERD.dbQueryLatency, CODERD_SELECTOR, ["query"], [0.95]).map((x) => q(x.expr, "{{query}}")),
    DB_METRICS_NOTE);
}

/** Calls per second per store method. */
export function queryRateTimeseries() {
  return timeseriesPanel("DB queries/s by query", "ops", [
    q(`sum by (query) (${rate(`${CODERD.dbQueryLatency}_count`, CODERD_SELECTOR)})`, "{{query}}"),
  ], DB_METRICS_NOTE);
}

/** Postgres connections by state (postgres_exporter). */
export function connectionsTimeseries() {
  return timeseriesPanel("DB connections by state", "none", [
    q(`sum by (state) (${series(POSTGRES_EXPORTER.activity, NAMESPACE_SELECTOR)})`, "{{state}}"),
  ]);
}

/** Commits and rollbacks per second (postgres_exporter). */
export function transactionsTimeseries() {
  return timeseriesPanel("DB transactions/s", "ops", [
    q(`sum(${rate(POSTGRES_EXPORTER.xactCommit, NAMESPACE_SELECTOR)})`, "commit"),
    q(`sum(${rate(POSTGRES_EXPORTER.xactRollback, NAMESPACE_SELECTOR)})`, "rollback"),
  ]);
}

/** Rows fetched, inserted, updated and deleted per second (postgres_exporter). */
export function rowsTimeseries() {
  const rows: [string, string][] = [
    [POSTGRES_EXPORTER.tupFetched, "fetched"],
    [POSTGRES_EXPORTER.tupInserted, "inserted"],
    [POSTGRES_EXPORTER.tupUpdated, "updated"],
    [POSTGRES_EXPORTER.tupDeleted, "deleted"],
  ];
  return timeseriesPanel("DB rows/s", "ops", rows.map(([metric, legend]) => q(`sum(${rate(metric, NAMESPACE_SELECTOR)})`, legend)));
}
