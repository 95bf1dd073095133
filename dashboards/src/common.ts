// Shared defaults for the scaletest dashboard: datasource refs, label selectors and panel/query builders.
import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as statetimeline from "@grafana/grafana-foundation-sdk/statetimeline";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import { LABELS } from "../../src/metrics/names.ts";

/** Every panel and query reads the Prometheus datasource the `datasource` variable picks. */
export const PROMETHEUS = { type: "prometheus", uid: "${datasource}" } as const;

/** Grafana's built-in annotations datasource (annotations posted through /api/annotations). */
export const GRAFANA_ANNOTATIONS = { type: "grafana", uid: "-- Grafana --" } as const;

/** Grafana's rate window: at least four scrape intervals, so rate() always has two samples. */
export const RATE = "$__rate_interval";

/**
 * coderd's own series: the namespace and pod variables pick Coder's pods (Prometheus adds these
 * labels when scraping Kubernetes; elsewhere "All" matches series without them).
 */
export const CODERD_SELECTOR = ['namespace=~"$namespace"', 'pod=~"$pod"'];

/** Provisioner daemons often run in their own pods, so only the namespace narrows them. */
export const NAMESPACE_SELECTOR = ['namespace=~"$namespace"'];

/** The runner's series (traffic, jobs, phases, health) carry the run id label. */
export const RUNNER_SELECTOR = [`${LABELS.runId}=~"$run"`];

/** `metric{a, b}`: a series selector from a metric name and matchers. */
export function series(metric: string, matchers: readonly string[]): string {
  return matchers.length > 0 ? `${metric}{${matchers.join(", ")}}` : metric;
}

/** `rate(metric{…}[$__rate_interval])`. */
export function rate(metric: string, matchers: readonly string[]): string {
  return `rate(${series(metric, matchers)}[${RATE}])`;
}

/** A quantile of a histogram, aggregated over every series that shares the `by` labels. */
export function histogramQuantile(q: number, metric: string, matchers: readonly string[], by: readonly string[] = []): string {
  return `histogram_quantile(${q}, sum by (${["le", ...by].join(", ")}) (${rate(`${metric}_bucket`, matchers)}))`;
}

/**
 * Keeps only the series of processes that also expose `marker` (coderd's API gauge, the runner's
 * connection gauge): process and Go metrics are emitted by every process Prometheus scrapes.
 */
export function onlyWhere(expr: string, marker: string): string {
  return `${expr} and on (job, instance) group by (job, instance) (${marker})`;
}

/** One Prometheus query on the datasource variable. */
export interface Query {
  expr: string;
  legend: string;
}

/** Shorthand for a query. */
export function q(expr: string, legend: string): Query {
  return { expr, legend };
}

/** Quantile queries (p50, p95, p99 by default) of one histogram, with legends "p95 {{label}}". */
export function quantiles(metric: string, matchers: readonly string[], by: readonly string[], qs: readonly number[] = [0.5, 0.95, 0.99]): Query[] {
  const suffix = by.map((l) => ` {{${l}}}`).join("");
  return qs.map((x) => q(histogramQuantile(x, metric, matchers, by), `p${Math.round(x * 100)}${suffix}`));
}

function targets(queries: readonly Query[]): cog.Builder<cog.Dataquery>[] {
  return queries.map((query, i) =>
    new prometheus.DataqueryBuilder()
      .datasource(PROMETHEUS)
      .refId(String.fromCharCode(65 + i))
      .expr(query.expr)
      .legendFormat(query.legend),
  );
}

/** A line timeseries with a visible table legend and a shared tooltip. */
export function timeseriesPanel(title: string, unit: string, queries: readonly Query[], description?: string): timeseries.PanelBuilder {
  const panel = new timeseries.PanelBuilder()
    .title(title)
    .datasource(PROMETHEUS)
    .unit(unit)
    .min(0)
    .lineWidth(1)
    .fillOpacity(10)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending))
    .targets(targets(queries));
  return description ? panel.description(description) : panel;
}

/** A single-number panel showing the latest value of each series. */
export function statPanel(title: string, unit: string, queries: readonly Query[], description?: string): stat.PanelBuilder {
  const panel = new stat.PanelBuilder()
    .title(title)
    .datasource(PROMETHEUS)
    .unit(unit)
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Value)
    .textMode(common.BigValueTextMode.ValueAndName)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false))
    .targets(targets(queries));
  return description ? panel.description(description) : panel;
}

/** A state timeline: one lane per series, coloured by value (used for phases). */
export function stateTimelinePanel(title: string, queries: readonly Query[], description?: string): statetimeline.PanelBuilder {
  const panel = new statetimeline.PanelBuilder()
    .title(title)
    .datasource(PROMETHEUS)
    .showValue(common.VisibilityMode.Never)
    .mergeValues(true)
    .legend(new common.VizLegendOptionsBuilder().showLegend(false).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .targets(targets(queries));
  return description ? panel.description(description) : panel;
}
