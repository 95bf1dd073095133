// report.html: one self-contained page per run (settings, phases, plots as inline SVG, verdict, saturation, Grafana link).
import { writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { NIL_ERROR } from "../harness/results.ts";
import { hasVerdict, type Verdict } from "../verdict/evaluate.ts";
import { bytesChart, buildsChart, dashboardChart, errorsChart, jobsChart, phasesChart, roundTripChart, type Chart } from "./charts.ts";
import { loadRun, type RunData } from "./run-data.ts";
import { grafanaRunUrl } from "./slack.ts";
import { renderSummary, type ScenarioSummary } from "./summary.ts";
import { deriveRows } from "./timeseries.ts";
import { rowCells, ROW_COLUMNS, type ScaleTestRow } from "./scale-table.ts";
import { formatBytes } from "../util/bytes.ts";

/** Escapes text for HTML. */
export function esc(s: unknown): string {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

/** Every scenario of the run with the phase it ran in. */
function scenarios(data: RunData): Array<{ s: ScenarioSummary; start: number; end: number }> {
  return data.summary.phases.flatMap((p) => p.scenarios.map((s) => ({ s, start: p.startedAt, end: p.endedAt ?? data.summary.endedAt ?? p.startedAt })));
}

/** The rows of every plot, from the time series when the run recorded one, else from its summary and results. */
export function chartRows(data: RunData) {
  const { summary } = data;
  const phases = summary.phases.map((p, i) => ({ phase: `${i + 1}. ${p.name}`, start: p.startedAt, end: Math.max(p.endedAt ?? summary.endedAt ?? p.startedAt, p.startedAt + 1), outcome: p.outcome }));
  const derived = data.timeseries ? deriveRows(data.timeseries) : undefined;
  const bytes: Array<{ t: number; scenario: string; series: "achieved" | "target"; bytesPerSecond: number }> = [];
  const rtt: Array<{ t: number; scenario: string; percentile: string; ms: number }> = [];
  const errors: Array<{ t: number; kind: string; count: number }> = [];
  if (derived && derived.scenarios.length > 0) {
    for (const r of derived.scenarios) {
      bytes.push({ t: r.t, scenario: r.scenario, series: "achieved", bytesPerSecond: r.bytesPerSecond });
      if (r.targetBytesPerSecond !== undefined) bytes.push({ t: r.t, scenario: r.scenario, series: "target", bytesPerSecond: r.targetBytesPerSecond });
      for (const p of ["p50", "p95", "p99"] as const) if (r[p] !== undefined) rtt.push({ t: r.t, scenario: r.scenario, percentile: p, ms: r[p]! });
      if (r.errors > 0) errors.push({ t: r.t, kind: `${r.scenario} I/O`, count: r.errors });
    }
    for (const r of derived.run) if (r.dashboardErrors > 0) errors.push({ t: r.t, kind: "Dashboard Traffic actions", count: r.dashboardErrors });
  } else {
    // No time series: each scenario's whole-phase figures, drawn flat across its phase.
    for (const { s, start, end } of scenarios(data)) {
      const seconds = (end - start) / 1000;
      for (const t of [start, end]) {
        if (s.bytesWritten !== undefined && seconds > 0) bytes.push({ t, scenario: s.name, series: "achieved", bytesPerSecond: s.bytesWritten / seconds });
        if (s.target?.bytesPerSecond) bytes.push({ t, scenario: s.name, series: "target", bytesPerSecond: s.target.bytesPerSecond });
        if (s.roundTrip && s.roundTrip.samples > 0) for (const p of ["p50", "p95", "p99"] as const) rtt.push({ t, scenario: s.name, percentile: p, ms: s.roundTrip[p] });
      }
    }
  }
  // Failed jobs at the moment each ended, from the results (exact with or without a time series).
  const nameOf = new Map(scenarios(data).flatMap(({ s }) => (s.resultsPath ? [[basename(s.resultsPath), s.name] as const] : [])));
  const label = (file: string): string => {
    if (file.endsWith("-greedy-agent.json")) return `${label(file.replace(/-greedy-agent\.json$/, ".json"))} (greedy agent)`;
    return file === "create-workspaces.json" ? "Creating workspaces" : (nameOf.get(file) ?? file.replace(/\.json$/, ""));
  };
  for (const [file, res] of Object.entries(data.results)) {
    for (const r of Object.values(res.runs)) {
      if (r.error !== NIL_ERROR) errors.push({ t: Date.parse(r.started_at) + r.duration_ms, kind: `${label(file)} failed jobs`, count: 1 });
    }
  }
  const jobs = Object.entries(data.results).flatMap(([file, res]) => [
    { scenario: label(file), outcome: "passed", jobs: res.total_pass },
    { scenario: label(file), outcome: "failed", jobs: res.total_fail },
  ]);
  const builds = data.builds.map((b) => ({ seconds: b.durationMs / 1000, outcome: b.ok ? "passed" : "failed" }));
  const dashboard: Array<{ action: string; result: string; count: number }> = [];
  const last = data.timeseries?.points.at(-1)?.dashboard;
  if (last) {
    for (const [action, c] of Object.entries(last.byAction)) {
      if (c.count - c.errors > 0) dashboard.push({ action, result: "ok", count: c.count - c.errors });
      if (c.errors > 0) dashboard.push({ action, result: "failed", count: c.errors });
    }
  } else {
    for (const { s } of scenarios(data)) {
      if (!s.dashboard || s.dashboard.actions === 0) continue;
      const failed = Object.values(s.dashboard.errorsByAction).reduce((n, v) => n + v, 0);
      dashboard.push({ action: "all actions", result: "ok", count: s.dashboard.actions - failed });
      for (const [action, n] of Object.entries(s.dashboard.errorsByAction)) dashboard.push({ action, result: "failed", count: n });
    }
  }
  return { phases, bytes, rtt, errors, jobs, builds, dashboard };
}

/** Every plot of a run (those with data). */
export async function runCharts(data: RunData): Promise<Chart[]> {
  const r = chartRows(data);
  const all = await Promise.all([
    phasesChart(r.phases),
    bytesChart(r.bytes),
    roundTripChart(r.rtt),
    errorsChart(r.errors),
    jobsChart(r.jobs),
    buildsChart(r.builds),
    dashboardChart(r.dashboard),
  ]);
  return all.filter((c): c is Chart => c !== undefined);
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:980px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #dde1e6;padding-bottom:4px}
.muted{color:#5b6472}.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff}
.pass{background:#3c8c50}.fail{background:#c03a4c}.generator-limited{background:#c98a1a}.none{background:#7a8391}
table{border-collapse:collapse;width:100%;background:#fff}td,th{border:1px solid #e2e5ea;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:12px 0;background:#fff;border:1px solid #e2e5ea;padding:8px}figcaption{font-weight:600;margin-bottom:4px}
figure svg{max-width:100%;height:auto}pre{background:#fff;border:1px solid #e2e5ea;padding:8px;overflow:auto;font-size:12px}
.warn{background:#fff6e0;border:1px solid #e8c56a;padding:8px}
`;

/** Options of the page. */
export interface ReportOptions {
  /** Overrides the verdict stored in summary.json (`scaletest report --threshold`). */
  verdict?: Verdict;
  /** Grafana base URL for the run's link (default: the run's SCALETEST_PARAM_GRAFANA_URL). */
  grafanaUrl?: string;
  /** The "Recent scale tests" row when summary.json has none. */
  row?: ScaleTestRow;
}

function table(head: readonly string[], rows: ReadonlyArray<readonly unknown[]>, numeric: ReadonlySet<number> = new Set()): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric.has(i) ? ' class="num"' : ""}>${esc(c)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

/** The page (pure: data and rendered plots in, HTML out). */
export function renderReportHtml(data: RunData, charts: readonly Chart[], o: ReportOptions = {}): string {
  const { summary } = data;
  const stored = o.verdict ?? summary.verdict;
  const verdict = hasVerdict(stored) ? stored : undefined;
  const end = summary.endedAt ?? Math.max(...summary.phases.map((p) => p.endedAt ?? p.startedAt), summary.startedAt);
  const grafana = grafanaRunUrl({ grafanaUrl: o.grafanaUrl ?? data.settings.SCALETEST_PARAM_GRAFANA_URL, startedAt: summary.startedAt, endedAt: end, runId: summary.runId });
  const parts: string[] = [];
  parts.push(`<h1>Scale test ${esc(summary.runId)}</h1>`);
  parts.push(
    `<p class="muted">${esc(summary.status)} · ${esc(iso(summary.startedAt))} → ${esc(iso(end))} (${Math.round((end - summary.startedAt) / 1000)} s)${
      data.settings.SCALETEST_PARAM_COMMENT ? ` · ${esc(data.settings.SCALETEST_PARAM_COMMENT)}` : ""
    }</p>`,
  );
  parts.push(
    `<p>Verdict: <span class="badge ${esc(verdict?.status ?? "none")}" id="verdict">${esc((verdict?.status ?? "none").toUpperCase())}</span>${
      grafana ? ` · <a href="${esc(grafana)}" rel="noreferrer">Grafana dashboard for this run's time range</a>` : " · <span class=\"muted\">no Grafana URL set</span>"
    }</p>`,
  );
  const row = summary.scaleTestRow ?? o.row;
  if (row) parts.push(`<h2>Recent scale tests row</h2>`, `<div id="scale-test-row">${table(ROW_COLUMNS, [rowCells(row)])}</div>`);
  parts.push(`<h2>Thresholds</h2>`);
  if (verdict && (verdict.thresholds ?? []).length > 0) {
    parts.push(
      table(
        ["threshold", "observed", "result"],
        verdict.thresholds.map((r) => [r.threshold, r.observedText, `${r.status === "no_data" ? "no data" : r.status}${r.untrusted ? " (untrusted)" : ""}${r.abortOnFail ? " · abortOnFail" : ""}`]),
      ),
    );
    if (verdict.abortedBy) parts.push(`<p class="warn">The run was stopped early by <code>${esc(verdict.abortedBy)}</code>.</p>`);
  } else parts.push(`<p class="muted">No thresholds were set.</p>`);
  const sat = summary.saturation;
  const satLines = [...(sat?.limited ? sat.reasons : []), ...(sat?.warnings ?? [])];
  parts.push(`<h2>Saturation</h2>`);
  parts.push(
    sat
      ? satLines.length > 0
        ? `<div class="warn" id="saturation"><strong>${sat.limited ? "Generator-limited: the runner was the bottleneck; its latency figures are not trusted." : "Warnings"}</strong><ul>${satLines.map((l) => `<li>${esc(l)}</li>`).join("")}</ul></div>`
        : `<p id="saturation">The runner kept up (${sat.windows ?? 0} windows under load checked).</p>`
      : `<p class="muted" id="saturation">The run recorded no saturation data.</p>`,
  );
  parts.push(`<h2>Scenarios</h2>`);
  parts.push(
    table(
      ["scenario", "outcome", "jobs", "written", "read", "round trip p50 / p95 / p99", "target"],
      scenarios(data).map(({ s }) => [
        s.name,
        s.outcome,
        s.results ? `${s.results.total_pass}/${s.results.total_runs}` : "",
        s.bytesWritten !== undefined ? formatBytes(s.bytesWritten) : "",
        s.bytesRead !== undefined ? formatBytes(s.bytesRead) : "",
        s.roundTrip && s.roundTrip.samples > 0 ? `${s.roundTrip.p50.toFixed(2)} / ${s.roundTrip.p95.toFixed(2)} / ${s.roundTrip.p99.toFixed(2)} ms` : s.dashboard ? `actions ${s.dashboard.p50.toFixed(0)} / ${s.dashboard.p95.toFixed(0)} / ${s.dashboard.p99.toFixed(0)} ms` : "",
        s.target?.bytesPerSecond ? `${formatBytes(s.target.bytesPerSecond)}/s, ${s.target.connections} conns` : "",
      ]),
    ),
  );
  parts.push(`<h2>Plots</h2>`);
  if (!data.timeseries) parts.push(`<p class="muted">This run recorded no time series (timeseries.json): each scenario's figures are drawn across its whole phase.</p>`);
  for (const c of charts) parts.push(`<figure id="plot-${esc(c.id)}" data-rows="${c.rows}"><figcaption>${esc(c.title)}</figcaption>${c.svg}</figure>`);
  parts.push(`<h2>Settings</h2>`);
  const settings = Object.entries(data.settings).sort(([a], [b]) => a.localeCompare(b));
  parts.push(settings.length > 0 ? table(["setting", "value"], settings) : `<p class="muted">No environ.txt in the run directory.</p>`);
  parts.push(`<h2>Summary</h2><pre>${esc(renderSummary(summary))}</pre>`);
  parts.push(`<p class="muted">Written ${esc(iso(Date.now()))} from ${esc(data.dir)} by scaletest report.</p>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Scale test ${esc(summary.runId)}: ${esc(verdict?.status ?? summary.status)}</title>
<style>${CSS}</style></head>
<body><main>
${parts.join("\n")}
</main></body></html>
`;
}

/** (Re)writes report.html in the run directory from what the run left there; returns its path. */
export async function writeReport(runDir: string, o: ReportOptions = {}): Promise<string> {
  return writeRunReport(loadRun(runDir), o);
}

/** Writes report.html into the run dir of `data` (also a summary still in memory); returns its path. */
export async function writeRunReport(data: RunData, o: ReportOptions = {}): Promise<string> {
  const html = renderReportHtml(data, await runCharts(data), o);
  const path = join(data.dir, "report.html");
  writeFileSync(path, html);
  return path;
}
