// The demo run: create workspaces with live progress, clean up, and summarize; `npm run demo` calls it with the simulator.
import type { CoderClient } from "./coder/client.ts";
import { runPhase } from "./harness/harness.ts";
import { NIL_ERROR, type OutcomeCounts, type Results } from "./harness/results.ts";
import { Progress } from "./report/progress.ts";
import { cleanupScaletest, defaultCleanupConfig } from "./scenarios/cleanup/phase.ts";
import { createWorkspacesHarness, defaultCreateWorkspacesConfig, prepareCreateWorkspaces } from "./scenarios/create-workspaces/runner.ts";
import { Ledger } from "./state/ledger.ts";
import { formatGoDuration } from "./util/duration.ts";

/** What the demo does. */
export interface DemoSettings {
  /** Template name or UUID. */
  template: string;
  /** Workspaces (and users) to create. */
  count: number;
  /** Jobs at once. */
  concurrency: number;
  /** Start-build retries after a failed build (and client retries of transient 5xx). */
  retry: number;
  /** Run ledger directory. */
  stateDir: string;
  /** Poll intervals, milliseconds (upstream: 500 while pending, 1000 for agents). */
  buildPollMs?: number;
  agentPollMs?: number;
}

/** What happened, computed once; `renderDemoSummary` turns it into text. */
export interface DemoSummary {
  template: string;
  results: Results;
  outcomes: OutcomeCounts;
  /** Durations of the passed jobs, milliseconds. */
  p50Ms?: number;
  p95Ms?: number;
  /** Jobs that needed a new start build after a failed one. */
  retriedBuilds: number;
  /** Distinct failure messages and how often they occurred. */
  errors: Array<{ error: string; count: number }>;
  cleaned: { workspaces: number; users: number; failed: number };
  /** Scaletest resources still on the deployment after cleanup (should be zero). */
  leftover: { workspaces: number; users: number };
}

/** Nearest-rank percentile of `values` (need not be sorted). */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Creates the workspaces, cleans everything up, and checks nothing is left. Progress goes to `stderr`. */
export async function runDemo(client: CoderClient, s: DemoSettings, io: { stderr: NodeJS.WritableStream; signal: AbortSignal }): Promise<DemoSummary> {
  const { stderr, signal } = io;
  const cfg = {
    ...defaultCreateWorkspacesConfig(),
    template: s.template,
    count: s.count,
    retry: s.retry,
    noCleanup: true,
    buildPollMs: s.buildPollMs ?? 500,
    agentPollMs: s.agentPollMs ?? 1000,
    strategy: { concurrency: s.concurrency, timeoutMs: 10 * 60_000, jobTimeoutMs: 5 * 60_000 },
  };
  const me = await client.me({ signal });
  const prepared = await prepareCreateWorkspaces(client, me, cfg, { signal });
  const ledger = await Ledger.open(s.stateDir, { url: client.url, run: `demo-${Date.now()}` });
  let results: Results;
  let outcomes: OutcomeCounts;
  try {
    const progress = new Progress({ stream: stderr, label: "create-workspaces", total: s.count, intervalMs: 1000 });
    const { harness } = createWorkspacesHarness({ admin: client, prepared, cfg, ledger }, { events: progress.events });
    stderr.write(`Creating ${s.count} workspaces from "${prepared.template.name}", ${s.concurrency} at a time...\n`);
    try {
      await runPhase(harness, "run", signal, cfg.strategy.timeoutMs);
    } finally {
      progress.stop();
    }
    results = harness.results();
    outcomes = harness.outcomes();
  } finally {
    await ledger.close();
  }

  stderr.write("Cleaning up...\n");
  let cleanupProgress: Progress | undefined;
  const report = await cleanupScaletest(
    client,
    { ...defaultCleanupConfig(), buildPollMs: cfg.buildPollMs, strategy: { concurrency: s.concurrency, timeoutMs: 10 * 60_000, jobTimeoutMs: 5 * 60_000 } },
    {
      signal,
      stateDir: s.stateDir,
      onStage: (stage, jobs) => {
        cleanupProgress?.stop();
        cleanupProgress = jobs > 0 ? new Progress({ stream: stderr, label: `cleanup ${stage}`, total: jobs, intervalMs: 1000 }) : undefined;
      },
      events: { runStarted: (r) => cleanupProgress?.events.runStarted?.(r), runFinished: (r) => cleanupProgress?.events.runFinished?.(r) },
    },
  );
  cleanupProgress?.stop();

  const leftover = {
    workspaces: (await client.allWorkspaces('name:"scaletest-"', { signal })).length,
    users: (await client.allUsers("scaletest-", { signal })).filter((u) => u.email.endsWith("@scaletest.local")).length,
  };
  const runs = Object.values(results.runs);
  const passed = runs.filter((r) => r.error === NIL_ERROR).map((r) => r.duration_ms);
  const errorCounts = new Map<string, number>();
  for (const r of runs) if (r.error !== NIL_ERROR) errorCounts.set(r.error, (errorCounts.get(r.error) ?? 0) + 1);
  return {
    template: prepared.template.name,
    results,
    outcomes,
    retriedBuilds: runs.filter((r) => r.logs.includes("Retrying with a new start build")).length,
    p50Ms: percentile(passed, 50),
    p95Ms: percentile(passed, 95),
    errors: [...errorCounts].map(([error, count]) => ({ error, count })).sort((a, b) => b.count - a.count),
    cleaned: {
      workspaces: report.workspaces.results.total_pass,
      users: report.users?.results.total_pass ?? 0,
      failed: report.workspaces.results.total_fail + (report.users?.results.total_fail ?? 0),
    },
    leftover,
  };
}

/** The summary people read at the end of the demo. */
export function renderDemoSummary(d: DemoSummary): string {
  const ms = (v: number | undefined) => (v === undefined ? "n/a" : formatGoDuration(v));
  const o = d.outcomes;
  const lines = [
    "",
    `Demo summary (template "${d.template}")`,
    `  Jobs:      ${o.total} total, ${o.ok} passed, ${o.failed} failed, ${o.canceled} canceled, ${o.timed_out} timed out`,
    `  Elapsed:   ${d.results.elapsed}${d.retriedBuilds ? ` (${d.retriedBuilds} job(s) retried a failed build)` : ""}`,
    `  Job time:  p50 ${ms(d.p50Ms)}, p95 ${ms(d.p95Ms)} (passed jobs: create user, log in, create workspace, build, agents)`,
  ];
  for (const e of d.errors.slice(0, 3)) lines.push(`  Error x${e.count}: ${e.error}`);
  lines.push(
    `  Cleaned:   ${d.cleaned.workspaces} workspaces, ${d.cleaned.users} users${d.cleaned.failed ? ` (${d.cleaned.failed} deletions failed)` : ""}`,
    `  Left over: ${d.leftover.workspaces} scaletest workspaces, ${d.leftover.users} scaletest users${d.leftover.workspaces + d.leftover.users === 0 ? " (clean)" : " (NOT CLEAN)"}`,
    "",
  );
  return lines.join("\n");
}
