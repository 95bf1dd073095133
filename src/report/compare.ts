// Run against run: per scenario and per threshold metric the two values, the change, and the regressions beyond a tolerance.
import { writeFileSync } from "node:fs";
import { findMetric, type MetricUnit } from "../verdict/catalog.ts";
import { summaryValues } from "../verdict/client-values.ts";
import { formatValue } from "../verdict/threshold.ts";
import { overlayChart, type Chart } from "./charts.ts";
import { esc } from "./html.ts";
import { buildStats, type RunData } from "./run-data.ts";
import { deriveRows } from "./timeseries.ts";

/** Below these differences a change is noise whatever its percentage (a 1 ms round trip doubling is not a regression). */
export const NOISE_FLOOR: Readonly<Record<MetricUnit, number>> = { duration: 10, ratio: 0.01, count: 1, bytes: 16 * 1024 * 1024, cores: 0.1 };

/** Round-trip percentiles from fewer samples than this are shown but never flagged. */
export const MIN_ROUND_TRIP_SAMPLES = 100;

export interface CompareOptions {
  /** Relative change (0.1 = 10 %) in the worse direction beyond which a metric regressed. */
  tolerance: number;
}

/** One metric of the comparison. */
export interface CompareRow {
  /** The scenario, "run" for run-wide figures, or "coderd". */
  group: string;
  key: string;
  unit: MetricUnit;
  better: "lower" | "higher";
  a?: number;
  b?: number;
  /** (b - a) / a; undefined when a is 0 or either side is missing. */
  change?: number;
  regressed: boolean;
  /** Why a worse value was not flagged, or that a side has no value. */
  note?: string;
}

export interface Comparison {
  a: { runId: string; startedAt: number };
  b: { runId: string; startedAt: number };
  tolerance: number;
  rows: CompareRow[];
  regressed: boolean;
}

/** Exit codes of `scaletest compare`: 0 B did not regress, 1 B regressed, 2 bad input. */
export const COMPARE_EXIT = { ok: 0, regressed: 1, usage: 2 } as const;

/** Every figure of one run by key: the client figures of its summary, and the observed values of its thresholds. */
export function runValues(run: RunData): Map<string, number> {
  const values = summaryValues(run.summary, buildStats(run.builds));
  for (const r of run.summary.verdict?.thresholds ?? []) if (r.observed !== undefined && !values.has(r.key)) values.set(r.key, r.observed);
  return values;
}

/** Round-trip samples behind a scenario's percentiles, by metric prefix (ssh, web_terminal, app). */
function samplesByKey(run: RunData): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of run.summary.phases.flatMap((p) => p.scenarios)) {
    if (!s.roundTrip) continue;
    const key = { "SSH Traffic": "ssh", "Web Terminal Traffic": "web_terminal", "App Traffic": "app" }[s.name as string];
    if (key) out.set(key, s.roundTrip.samples);
  }
  return out;
}

/** Compares B against A (pure). */
export function compareRuns(a: RunData, b: RunData, o: CompareOptions): Comparison {
  const va = runValues(a);
  const vb = runValues(b);
  const samples = [samplesByKey(a), samplesByKey(b)];
  const rows: CompareRow[] = [];
  for (const key of [...new Set([...va.keys(), ...vb.keys()])]) {
    const metric = findMetric(key.replace(/\{.*$/, ""));
    if (!metric) continue;
    const x = va.get(key);
    const y = vb.get(key);
    const row: CompareRow = { group: metric.scenario ?? (metric.side === "coderd" ? "coderd" : "run"), key, unit: metric.unit, better: metric.better, a: x, b: y, regressed: false };
    if (x === undefined || y === undefined) {
      row.note = x === undefined ? "only in B" : "only in A";
      rows.push(row);
      continue;
    }
    row.change = x !== 0 ? (y - x) / Math.abs(x) : undefined;
    const worse = metric.better === "lower" ? y - x : x - y;
    const relative = x !== 0 ? worse / Math.abs(x) : worse > 0 ? Infinity : 0;
    if (worse > 0 && relative > o.tolerance) {
      // The run-wide round trip is the slowest scenario's: judge it by the scenario with the fewest samples.
      const prefix = key.split(".")[0]!;
      const count = (m: Map<string, number>) => (prefix === "round_trip" ? Math.min(...m.values()) : (m.get(prefix) ?? Infinity));
      const few = key.includes("round_trip.") ? Math.min(count(samples[0]!), count(samples[1]!)) : Infinity;
      if (worse <= NOISE_FLOOR[metric.unit]) row.note = `within the noise floor (${formatValue(metric.unit, NOISE_FLOOR[metric.unit])})`;
      else if (few < MIN_ROUND_TRIP_SAMPLES) row.note = `too few samples (${few}) to flag`;
      else row.regressed = true;
    }
    rows.push(row);
  }
  const order = (g: string) => (g === "run" ? 0 : g === "coderd" ? 2 : 1);
  rows.sort((p, q) => order(p.group) - order(q.group) || p.group.localeCompare(q.group) || p.key.localeCompare(q.key));
  return {
    a: { runId: a.summary.runId, startedAt: a.summary.startedAt },
    b: { runId: b.summary.runId, startedAt: b.summary.startedAt },
    tolerance: o.tolerance,
    rows,
    regressed: rows.some((r) => r.regressed),
  };
}

const changeText = (r: CompareRow) => (r.change === undefined ? (r.a !== undefined && r.b !== undefined && r.a === r.b ? "0%" : "") : `${r.change >= 0 ? "+" : ""}${(r.change * 100).toFixed(1)}%`);
const valueText = (unit: MetricUnit, v: number | undefined) => (v === undefined ? "-" : formatValue(unit, v));

/** The comparison as text. */
export function renderComparison(c: Comparison): string {
  const when = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
  const out = [`A: ${c.a.runId} (${when(c.a.startedAt)})`, `B: ${c.b.runId} (${when(c.b.startedAt)})`, ""];
  const w = Math.max(24, ...c.rows.map((r) => r.key.length));
  out.push(`  ${"metric".padEnd(w)}  ${"A".padStart(10)}  ${"B".padStart(10)}  ${"change".padStart(9)}`);
  let group = "";
  for (const r of c.rows) {
    if (r.group !== group) out.push((group = r.group));
    const flag = r.regressed ? "  REGRESSED" : r.note ? `  (${r.note})` : "";
    out.push(`  ${r.key.padEnd(w)}  ${valueText(r.unit, r.a).padStart(10)}  ${valueText(r.unit, r.b).padStart(10)}  ${changeText(r).padStart(9)}${flag}`);
  }
  const n = c.rows.filter((r) => r.regressed).length;
  out.push("", n > 0 ? `B regressed on ${n} metric${n === 1 ? "" : "s"} (tolerance ${(c.tolerance * 100).toFixed(0)}%)` : `B did not regress (tolerance ${(c.tolerance * 100).toFixed(0)}%)`);
  return `${out.join("\n")}\n`;
}

/** Overlaid plots of the two runs: time to running by rank, round trip p95 and bytes/s from each scenario's start. */
export async function comparisonCharts(a: RunData, b: RunData): Promise<Chart[]> {
  const label = (r: RunData, tag: string) => `${tag}: ${r.summary.runId}`;
  const builds = [a, b].flatMap((r, i) => {
    const ms = r.builds.filter((x) => x.ok).map((x) => x.durationMs).sort((p, q) => p - q);
    return ms.map((v, j) => ({ x: ms.length === 1 ? 100 : (j / (ms.length - 1)) * 100, run: label(r, i === 0 ? "A" : "B"), value: v / 1000, panel: "time to running (s)" }));
  });
  const traffic = [a, b].flatMap((r, i) => {
    if (!r.timeseries) return [];
    const rows = deriveRows(r.timeseries).scenarios;
    const first = new Map<string, number>();
    for (const x of rows) if (!first.has(x.scenario)) first.set(x.scenario, x.t);
    return rows.flatMap((x) => {
      const base = { x: (x.t - first.get(x.scenario)!) / 1000, run: label(r, i === 0 ? "A" : "B") };
      return [
        ...(x.p95 !== undefined ? [{ ...base, value: x.p95, panel: `${x.scenario}: round trip p95 (ms)` }] : []),
        { ...base, value: x.bytesPerSecond, panel: `${x.scenario}: bytes/s` },
      ];
    });
  });
  const charts = await Promise.all([
    overlayChart("compare-builds", "Builds: time to running by rank (percent of workspaces)", builds, { x: "percent of workspaces", y: "seconds" }),
    overlayChart("compare-traffic", "Traffic from each scenario's start", traffic, { x: "seconds into the scenario", y: "" }),
  ]);
  return charts.filter((c): c is Chart => c !== undefined);
}

/** Writes the comparison as one self-contained HTML file with the overlaid plots. */
export async function writeComparisonHtml(path: string, c: Comparison, a: RunData, b: RunData): Promise<void> {
  const charts = await comparisonCharts(a, b);
  const rows = c.rows
    .map(
      (r) =>
        `<tr class="${r.regressed ? "regressed" : ""}"><td>${esc(r.group)}</td><td>${esc(r.key)}</td><td class="num">${esc(valueText(r.unit, r.a))}</td><td class="num">${esc(valueText(r.unit, r.b))}</td><td class="num">${esc(changeText(r))}</td><td>${r.regressed ? "REGRESSED" : esc(r.note ?? "")}</td></tr>`,
    )
    .join("");
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Compare ${esc(c.a.runId)} with ${esc(c.b.runId)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:980px;color:#1d2330}table{border-collapse:collapse;width:100%}td,th{border:1px solid #e2e5ea;padding:4px 8px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.regressed{background:#fde4e7;font-weight:600}figure{margin:12px 0;border:1px solid #e2e5ea;padding:8px}figure svg{max-width:100%;height:auto}</style></head>
<body><h1>${c.regressed ? "B regressed" : "B did not regress"}</h1>
<p>A: ${esc(c.a.runId)} · B: ${esc(c.b.runId)} · tolerance ${(c.tolerance * 100).toFixed(0)}%</p>
<table><thead><tr><th>group</th><th>metric</th><th>A</th><th>B</th><th>change</th><th></th></tr></thead><tbody>${rows}</tbody></table>
${charts.map((ch) => `<figure id="plot-${esc(ch.id)}"><figcaption>${esc(ch.title)}</figcaption>${ch.svg}</figure>`).join("\n")}
</body></html>
`;
  writeFileSync(path, html);
}
