// The terminal summary of a staged run: per phase and scenario, passes/fails, bytes, round-trip or dashboard action percentiles, errors.
import { formatRetries, type RetryTotals } from "../coder/retry.ts";
import { NIL_ERROR, type PhaseOutcome, type Results } from "../harness/results.ts";
import { formatBytes } from "../util/bytes.ts";
import { formatGoDuration } from "../util/duration.ts";
import { hasVerdict, verdictLines, type Verdict } from "../verdict/evaluate.ts";
import type { SaturationReport } from "../verdict/saturation.ts";
import { rowMarkdown, type ScaleTestRow } from "./scale-table.ts";

/** Round-trip latency percentiles of one scenario, in milliseconds. */
export interface RoundTrip {
  samples: number;
  p50: number;
  p95: number;
  p99: number;
}

/** What Dashboard Traffic's users did (the figures behind its metrics), for the summary. */
export interface DashboardActivity {
  /** Actions measured: each click-then-wait, passed or failed. */
  actions: number;
  /** Action duration percentiles in milliseconds (0 without actions). */
  p50: number;
  p95: number;
  p99: number;
  /** Failed actions (`coderd_scaletest_dashboard_errors_total`). */
  errors: number;
  /** Failed actions by action label, only those that failed, most first. */
  errorsByAction: Record<string, number>;
  /** Walk steps where no action's element was on the page (upstream counts no error for them). */
  noMatches: number;
  /** Screenshots written (failed actions, no-match steps, a failed first page load). */
  screenshots: number;
  /** Where the screenshots are. */
  screenshotDir: string;
}

/** How a scenario or phase ended. */
export type SummaryOutcome = PhaseOutcome;

/** One scenario's outcome, as the orchestrator records it. */
export interface ScenarioSummary {
  name: string;
  outcome: SummaryOutcome;
  /** Upstream-shaped results, when the scenario got as far as running jobs. */
  results?: Results;
  /** Scenario-level failure (setup error, "not available yet", ...). */
  error?: string;
  bytesRead?: number;
  bytesWritten?: number;
  roundTrip?: RoundTrip;
  /** Dashboard Traffic only: actions, durations and errors. */
  dashboard?: DashboardActivity;
  /** Traffic scenarios: retries of target selection and of the jobs' dials, by kind and reason (each job's are in its log). */
  retries?: RetryTotals;
  /** Where its results JSON was written. */
  resultsPath?: string;
  /** Greedy-agent side traffic during this scenario, if any. */
  greedy?: { outcome: SummaryOutcome; error?: string };
  /** What the settings asked for (from the plan): bytes/s of all its connections, for how long; for achieved vs target. */
  target?: { bytesPerSecond?: number; durationMs: number; connections: number };
}

/** One phase of the run. */
export interface PhaseSummary {
  name: string;
  kind: "create" | "wait" | "load" | "cleanup";
  /** Epoch milliseconds. */
  startedAt: number;
  endedAt?: number;
  outcome: SummaryOutcome;
  error?: string;
  scenarios: ScenarioSummary[];
  /** Create phase: build succeeded to every agent connected, over its workspaces, in milliseconds. */
  agentConnect?: RoundTrip;
}

/** The whole run, computed once and rendered as text, Slack lines or JSON. */
export interface RunSummary {
  runId: string;
  /** Final status text (Complete, Failed (exit=1)). */
  status: string;
  startedAt: number;
  endedAt?: number;
  phases: PhaseSummary[];
  resultsDir: string;
  /** Grafana requests that failed (the run went on). */
  annotationFailures?: number;
  /** Thresholds and saturation, once evaluated. */
  verdict?: Verdict;
  /** The runner's own saturation over the run's load (windows judged, and how many were limited). */
  saturation?: SaturationReport & { windows?: number; limitedWindows?: number };
  /** This run's row of Coder's "Recent scale tests" table. */
  scaleTestRow?: ScaleTestRow;
  /** Where report.html is written. */
  reportPath?: string;
}


const ms = (n: number) => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));

/** Distinct run errors with their counts, most frequent first (at most `limit`). */
export function topErrors(results: Results | undefined, limit = 3): Array<{ error: string; count: number }> {
  if (!results) return [];
  const counts = new Map<string, number>();
  for (const run of Object.values(results.runs)) {
    if (run.error === NIL_ERROR) continue;
    const key = run.error.split("\n")[0]!;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, limit)
    .map(([error, count]) => ({ error, count }));
}

/** Dashboard Traffic's lines: actions with duration percentiles and errors, then the screenshots when there are any to look at. */
export function dashboardLines(d: DashboardActivity): string[] {
  const parts = [`${d.actions} action${d.actions === 1 ? "" : "s"}${d.actions > 0 ? `, duration p50 ${ms(d.p50)} ms, p95 ${ms(d.p95)} ms, p99 ${ms(d.p99)} ms` : ""}`];
  const by = Object.entries(d.errorsByAction).map(([action, n]) => `${action} ${n}`);
  parts.push(`${d.errors} error${d.errors === 1 ? "" : "s"}${by.length > 0 ? ` (${by.join(", ")})` : ""}`);
  if (d.noMatches > 0) parts.push(`${d.noMatches} without matches`);
  const lines = [parts.join("; ")];
  if (d.errors > 0 || d.screenshots > 0) lines.push(`screenshots: ${d.screenshotDir} (${d.screenshots})`);
  return lines;
}

/** One line per scenario, e.g. "SSH Traffic: passed, 10/10 jobs passed" (used by Slack too). */
export function scenarioLine(s: ScenarioSummary): string {
  const jobs = s.results ? `, ${s.results.total_pass}/${s.results.total_runs} jobs passed` : "";
  return `${s.name}: ${s.outcome.replace("_", " ")}${jobs}${s.error ? ` (${s.error})` : ""}`;
}

const MARK: Record<SummaryOutcome, string> = { passed: "ok  ", failed: "FAIL", canceled: "STOP", timed_out: "TIME" };

/** The readable terminal summary. */
export function renderSummary(run: RunSummary): string {
  const out: string[] = [];
  const total = run.endedAt !== undefined ? ` in ${formatGoDuration(Math.round((run.endedAt - run.startedAt) / 1000) * 1000)}` : "";
  out.push(`Scaletest ${run.runId}: ${run.status}${total}`);
  for (const [i, p] of run.phases.entries()) {
    const took = p.endedAt !== undefined ? ` (${formatGoDuration(Math.round((p.endedAt - p.startedAt) / 100) * 100)})` : "";
    out.push(`  ${MARK[p.outcome]} ${i + 1}. ${p.name}${took}${p.error && p.scenarios.length === 0 ? `: ${p.error}` : ""}`);
    const c = p.agentConnect;
    if (c && c.samples > 0) out.push(`            agents connected after the build: p50 ${ms(c.p50)} ms, p95 ${ms(c.p95)} ms, p99 ${ms(c.p99)} ms (${c.samples} workspaces)`);
    for (const s of p.scenarios) {
      out.push(`       ${MARK[s.outcome]} ${scenarioLine(s)}`);
      const traffic: string[] = [];
      if (s.bytesWritten !== undefined) traffic.push(`written ${formatBytes(s.bytesWritten)}`);
      if (s.bytesRead !== undefined) traffic.push(`read ${formatBytes(s.bytesRead)}`);
      if (s.roundTrip && s.roundTrip.samples > 0) {
        traffic.push(`round trip p50 ${ms(s.roundTrip.p50)} ms, p95 ${ms(s.roundTrip.p95)} ms, p99 ${ms(s.roundTrip.p99)} ms (${s.roundTrip.samples} samples)`);
      }
      if (traffic.length > 0) out.push(`            ${traffic.join("; ")}`);
      if (s.dashboard) for (const l of dashboardLines(s.dashboard)) out.push(`            ${l}`);
      if (s.retries && s.retries.total > 0) out.push(`            retries: ${formatRetries(s.retries)}`);
      for (const e of topErrors(s.results)) out.push(`            ${e.count}× ${e.error}`);
      if (s.greedy) out.push(`            greedy agent traffic: ${s.greedy.outcome.replace("_", " ")}${s.greedy.error ? ` (${s.greedy.error})` : ""}`);
      if (s.resultsPath) out.push(`            results: ${s.resultsPath}`);
    }
  }
  if (run.annotationFailures) out.push(`  note: ${run.annotationFailures} Grafana annotation request(s) failed; the run went on`);
  if (hasVerdict(run.verdict)) out.push(...verdictLines(run.verdict));
  for (const w of run.saturation?.warnings ?? []) out.push(`  runner warning: ${w}`);
  if (run.scaleTestRow) out.push('Recent scale tests row (as in Coder\'s scale testing docs):', rowMarkdown(run.scaleTestRow));
  out.push(`Results: ${run.resultsDir}`);
  if (run.reportPath) out.push(`Report: ${run.reportPath}`);
  return `${out.join("\n")}\n`;
}
