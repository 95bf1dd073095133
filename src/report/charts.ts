// The report's plots: Vega-Lite specs over plain rows, rendered to inline SVG by Vega's headless renderer (no DOM, no network).
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** One plot: what it shows, its SVG, and how many data rows went in. */
export interface Chart {
  id: string;
  title: string;
  svg: string;
  rows: number;
}

const WIDTH = 640;
const HEIGHT = 180;
const UTC_AXIS = { title: "time (UTC)", format: "%H:%M:%S", labelOverlap: true } as const;

const CONFIG = {
  font: "sans-serif",
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 11, titleFontSize: 11, gridColor: "#eee" },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: "bottom" },
};

/**
 * Renders a Vega-Lite spec to an SVG string. Vega numbers its clip paths and gradients the same way in every
 * plot, so ids are prefixed with the plot's id: several SVGs inline in one page must not share ids.
 */
export async function renderSvg(spec: TopLevelSpec, id: string): Promise<string> {
  const vega = compile({ config: CONFIG, ...spec } as TopLevelSpec).spec;
  const view = new View(parse(vega), { renderer: "none" });
  try {
    const svg = await view.toSVG();
    return svg
      .replace(/\bid="([^"]+)"/g, `id="${id}-$1"`)
      .replace(/url\(#([^)]+)\)/g, `url(#${id}-$1)`)
      .replace(/(xlink:)?href="#([^"]+)"/g, (_m, x: string | undefined, ref: string) => `${x ?? ""}href="#${id}-${ref}"`);
  } finally {
    view.finalize();
  }
}

/** A chart from rows, or undefined when there is nothing to draw. */
async function chart(id: string, title: string, rows: readonly object[], spec: (values: object[]) => TopLevelSpec): Promise<Chart | undefined> {
  if (rows.length === 0) return undefined;
  return { id, title, svg: await renderSvg(spec([...rows]), id), rows: rows.length };
}

/** Phases on a timeline (one bar each, colored by outcome). */
export function phasesChart(rows: ReadonlyArray<{ phase: string; start: number; end: number; outcome: string }>) {
  return chart("phases", "Phases", rows, (values) => ({
    data: { values },
    width: WIDTH,
    height: { step: 18 },
    mark: { type: "bar", cornerRadius: 2 },
    encoding: {
      y: { field: "phase", type: "nominal", sort: null, title: null, axis: { labelLimit: 260 } },
      x: { field: "start", type: "temporal", scale: { type: "utc" }, axis: UTC_AXIS },
      x2: { field: "end" },
      color: { field: "outcome", type: "nominal", scale: { domain: ["passed", "failed", "canceled", "timed_out"], range: ["#4c9a5d", "#d1495b", "#999999", "#e0a030"] } },
      tooltip: [{ field: "phase" }, { field: "outcome" }],
    },
  }));
}

/** Bytes per second written, achieved (solid) against target (dashed), per scenario. */
export function bytesChart(rows: ReadonlyArray<{ t: number; scenario: string; series: "achieved" | "target"; bytesPerSecond: number }>) {
  return chart("bytes", "Bytes/s written: achieved (solid) vs target (dashed)", rows, (values) => ({
    data: { values },
    width: WIDTH,
    height: HEIGHT,
    mark: { type: "line", point: { size: 12 }, interpolate: "step-before" },
    encoding: {
      x: { field: "t", type: "temporal", scale: { type: "utc" }, axis: UTC_AXIS },
      y: { field: "bytesPerSecond", type: "quantitative", title: "bytes/s", axis: { format: "~s" } },
      color: { field: "scenario", type: "nominal", title: "scenario", legend: { symbolType: "stroke" } },
      strokeDash: { field: "series", type: "nominal", title: null, scale: { domain: ["achieved", "target"], range: [[1, 0], [5, 4]] }, legend: null },
    },
  }));
}

/** Round-trip p50/p95/p99 over time, one panel per scenario. */
export function roundTripChart(rows: ReadonlyArray<{ t: number; scenario: string; percentile: string; ms: number }>) {
  return chart("round-trip", "Round trip p50 / p95 / p99", rows, (values) => ({
    data: { values },
    facet: { row: { field: "scenario", type: "nominal", title: null } },
    spec: {
      width: WIDTH,
      height: 120,
      mark: { type: "line", point: { size: 12 } },
      encoding: {
        x: { field: "t", type: "temporal", scale: { type: "utc" }, axis: UTC_AXIS },
        y: { field: "ms", type: "quantitative", title: "ms" },
        color: { field: "percentile", type: "nominal", scale: { domain: ["p50", "p95", "p99"] } },
      },
    },
    resolve: { scale: { y: "independent" } },
  }));
}

/** Errors per interval, stacked by where they happened. */
export function errorsChart(rows: ReadonlyArray<{ t: number; kind: string; count: number }>) {
  return chart("errors", "Errors over time", rows, (values) => ({
    data: { values },
    width: WIDTH,
    height: HEIGHT,
    mark: { type: "bar" },
    encoding: {
      x: { field: "t", type: "temporal", scale: { type: "utc" }, axis: UTC_AXIS },
      y: { field: "count", type: "quantitative", aggregate: "sum", title: "errors", stack: "zero" },
      color: { field: "kind", type: "nominal", title: null },
    },
  }));
}

/** Jobs by outcome, per scenario (and workspace creation). */
export function jobsChart(rows: ReadonlyArray<{ scenario: string; outcome: string; jobs: number }>) {
  return chart("jobs", "Jobs by outcome", rows, (values) => ({
    data: { values },
    width: WIDTH,
    height: { step: 20 },
    mark: { type: "bar" },
    encoding: {
      y: { field: "scenario", type: "nominal", sort: null, title: null, axis: { labelLimit: 220 } },
      x: { field: "jobs", type: "quantitative", stack: "zero", title: "jobs" },
      color: { field: "outcome", type: "nominal", scale: { domain: ["passed", "failed"], range: ["#4c9a5d", "#d1495b"] } },
    },
  }));
}

/** Time to running of each created workspace: the distribution, failed builds in red. */
export function buildsChart(rows: ReadonlyArray<{ seconds: number; outcome: string }>) {
  return chart("builds", "Builds: time to running per workspace", rows, (values) => ({
    data: { values },
    width: WIDTH,
    height: HEIGHT,
    mark: { type: "bar" },
    encoding: {
      x: { field: "seconds", type: "quantitative", bin: { maxbins: 30 }, title: "time to running (s)" },
      y: { aggregate: "count", type: "quantitative", title: "workspaces", stack: "zero" },
      color: { field: "outcome", type: "nominal", scale: { domain: ["passed", "failed"], range: ["#4c9a5d", "#d1495b"] } },
    },
  }));
}

/** Dashboard actions: how many of each, and how many failed. */
export function dashboardChart(rows: ReadonlyArray<{ action: string; result: string; count: number }>) {
  return chart("dashboard", "Dashboard actions", rows, (values) => ({
    data: { values },
    width: WIDTH,
    height: { step: 20 },
    mark: { type: "bar" },
    encoding: {
      y: { field: "action", type: "nominal", title: null, axis: { labelLimit: 220 } },
      x: { field: "count", type: "quantitative", stack: "zero", title: "actions" },
      color: { field: "result", type: "nominal", scale: { domain: ["ok", "failed"], range: ["#4c9a5d", "#d1495b"] } },
    },
  }));
}

/** One figure of two runs overlaid (comparison): per metric, A solid and B dashed. */
export function overlayChart(id: string, title: string, rows: ReadonlyArray<{ x: number; run: string; value: number; panel: string }>, axis: { x: string; y: string }) {
  return chart(id, title, rows, (values) => ({
    data: { values },
    facet: { row: { field: "panel", type: "nominal", title: null } },
    spec: {
      width: WIDTH,
      height: 120,
      mark: { type: "line", point: { size: 12 } },
      encoding: {
        x: { field: "x", type: "quantitative", title: axis.x },
        y: { field: "value", type: "quantitative", title: axis.y },
        color: { field: "run", type: "nominal", title: null },
        strokeDash: { field: "run", type: "nominal", title: null },
      },
    },
    resolve: { scale: { y: "independent" } },
  }));
}
