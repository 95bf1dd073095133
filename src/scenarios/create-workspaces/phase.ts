// The create-workspaces phase: setup, one job per workspace under the strategy, results JSON; the CLI and the staged run both call it.
import type { CoderClient } from "../../coder/client.ts";
import type { Harness, HarnessEvents } from "../../harness/harness.ts";
import { runPhase } from "../../harness/harness.ts";
import { phaseOutcome, writeResultsJson, type OutcomeCounts, type PhaseOutcome, type Results } from "../../harness/results.ts";
import { Ledger } from "../../state/ledger.ts";
import { defaultCreateWorkspacesConfig, type CreateWorkspacesConfig } from "./config.ts";
import { prepareCreateWorkspaces, type PreparedCreateWorkspaces } from "./parameters.ts";
import { createWorkspacesHarness, WorkspaceBuildRunner } from "./runner.ts";
import type { RoundTrip } from "../../report/summary.ts";
import type { FinishedBuild } from "../../verdict/client-values.ts";
import { percentile } from "../../util/percentile.ts";
import { formatGoDuration } from "../../util/duration.ts";

export interface CreateWorkspacesPhaseOptions {
  client: CoderClient;
  /** Setup already done by the caller (the CLI resolves it before opening its ledger). */
  prepared?: PreparedCreateWorkspaces;
  cfg: CreateWorkspacesConfig;
  /** Intents are written here before each create, so a crashed run's leftovers are found. */
  ledger: Ledger;
  signal: AbortSignal;
  log: (line: string) => void;
  events?: HarnessEvents;
  tee?: (id: string, text: string) => void;
  /** Where the upstream-shaped results JSON is written, if anywhere. */
  resultsPath?: string;
}

export interface CreateWorkspacesPhaseResult {
  prepared: PreparedCreateWorkspaces;
  /** Its runs' cleanup (the CLI's, unless --no-cleanup) runs on this harness. */
  harness: Harness;
  results: Results;
  counts: OutcomeCounts;
  outcome: PhaseOutcome;
}

/** Resolves the template and parameters (bad input throws before any create), then creates `count` users and workspaces. */
export async function runCreateWorkspacesPhase(o: CreateWorkspacesPhaseOptions): Promise<CreateWorkspacesPhaseResult> {
  const prepared = o.prepared ?? (await prepareCreateWorkspaces(o.client, await o.client.me({ signal: o.signal }), o.cfg, { signal: o.signal }));
  const { harness } = createWorkspacesHarness({ admin: o.client, prepared, cfg: o.cfg, ledger: o.ledger }, { events: o.events, tee: o.tee });
  o.log(`Running load test: ${o.cfg.count} workspace(s) of template "${prepared.template.name}"...`);
  await runPhase(harness, "run", o.signal, o.cfg.strategy.timeoutMs);
  const results = harness.results();
  if (o.resultsPath) writeResultsJson(o.resultsPath, results);
  const counts = harness.outcomes();
  return { prepared, harness, results, counts, outcome: phaseOutcome(counts) };
}

const HOURS_5 = 5 * 3600_000;

/** What the staged run asks for: how many, from which template, how many at once, and where the ledger and results go. */
export interface StagedCreateOptions {
  client: CoderClient;
  template: string;
  count: number;
  concurrency: number;
  ledgerDir: string;
  runId: string;
  resultsPath: string;
  signal: AbortSignal;
  log: (line: string) => void;
  /** Each workspace as its job ends (live thresholds on build and agent connect times). */
  onBuild?: (b: FinishedBuild) => void;
}

/** The staged run's "Creating workspaces" phase, with upstream's runner flags: --retry 5 --timeout 5h --job-timeout 5h --no-cleanup. */
export async function createWorkspacesForRun(o: StagedCreateOptions): Promise<{ outcome: PhaseOutcome; error?: string; agentConnect?: RoundTrip }> {
  const cfg: CreateWorkspacesConfig = {
    ...defaultCreateWorkspacesConfig(),
    count: o.count,
    template: o.template,
    retry: 5,
    noCleanup: true,
    strategy: { concurrency: o.concurrency, timeoutMs: HOURS_5, jobTimeoutMs: HOURS_5 },
  };
  const ledger = await Ledger.open(o.ledgerDir, { url: o.client.url, run: o.runId });
  try {
    const connectMs: number[] = [];
    const events: HarnessEvents = {
      runFinished: (run) => {
        const agentConnectMs = run.runner instanceof WorkspaceBuildRunner ? run.runner.agentConnectMs : undefined;
        if (agentConnectMs !== undefined) connectMs.push(agentConnectMs);
        // Whole milliseconds, as the results' duration_ms.
        o.onBuild?.({ ok: run.outcome === "ok", durationMs: Math.trunc(run.durationNs / 1e6), agentConnectMs });
      },
    };
    const r = await runCreateWorkspacesPhase({ client: o.client, cfg, ledger, signal: o.signal, log: o.log, resultsPath: o.resultsPath, events });
    o.log(`created ${r.results.total_pass}/${r.results.total_runs} workspaces from ${o.template} (${r.results.elapsed})`);
    const q = (p: number) => percentile(connectMs, p)!;
    const agentConnect = connectMs.length > 0 ? { samples: connectMs.length, p50: q(50), p95: q(95), p99: q(99) } : undefined;
    if (agentConnect) o.log(`agents connected ${formatGoDuration(agentConnect.p50)} (p50), ${formatGoDuration(agentConnect.p95)} (p95) after the build succeeded`);
    const outcome: PhaseOutcome = o.signal.aborted ? "canceled" : r.results.total_fail > 0 ? "failed" : "passed";
    const c = r.counts;
    return {
      outcome,
      error: r.results.total_fail > 0 ? `${r.results.total_fail} of ${r.results.total_runs} workspaces failed (${c.canceled} canceled, ${c.timed_out} timed out)` : undefined,
      agentConnect,
    };
  } finally {
    await ledger.close();
  }
}
