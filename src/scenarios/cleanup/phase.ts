// cleanup: delete scaletest workspaces, then scaletest users as upstream's cleanup command does, in the scope the caller gives
// (the run ledgers only, or the operator's sweep), after printing the plan.
import type { ConfigProblem } from "../../errors.ts";
import { deleteWorkspace } from "../../coder/builds.ts";
import type { CoderClient } from "../../coder/client.ts";
import { isCoderApiError } from "../../coder/errors.ts";
import { CLEANUP_RETRIES, retryTransient } from "../../coder/retry.ts";
import { SCALETEST_PREFIX } from "../../coder/names.ts";
import { Harness, runPhase, type HarnessEvents } from "../../harness/harness.ts";
import type { Results } from "../../harness/results.ts";
import { DEFAULT_STRATEGY, strategyFromConfig, validateStrategyConfig, type StrategyConfig } from "../../harness/strategies.ts";
import { Ledger } from "../../state/ledger.ts";
import { planCleanup, renderPlan, type CleanupPlan, type CleanupScope } from "./plan.ts";

export type { CleanupScope } from "./plan.ts";

/** Settings of `scaletest cleanup`. */
export interface CleanupConfig {
  /** Only workspaces of this template name ("" = all). Users are never narrowed by it (as upstream). */
  template: string;
  /** --cleanup-concurrency, --cleanup-timeout (per stage), --cleanup-job-timeout. */
  strategy: StrategyConfig;
  /** Poll interval while a build is pending, milliseconds. */
  buildPollMs: number;
  /** Extra attempts of a job after a transient failure (5xx, 429, lost connection); deletes are idempotent. */
  retries: number;
}


export function defaultCleanupConfig(): CleanupConfig {
  return { template: "", strategy: { ...DEFAULT_STRATEGY }, buildPollMs: 500, retries: CLEANUP_RETRIES };
}

export function validateCleanupConfig(cfg: CleanupConfig): ConfigProblem[] {
  return validateStrategyConfig(cfg.strategy, {
    concurrency: "--cleanup-concurrency",
    timeout: "--cleanup-timeout",
    jobTimeout: "--cleanup-job-timeout",
  });
}

/** One stage's outcome. */
export interface CleanupStage {
  /** How many were found by listing, and how many more only through the ledger. */
  found: number;
  fromLedger: number;
  results: Results;
}

export interface CleanupReport {
  /** What was decided before the first delete. */
  plan: CleanupPlan;
  workspaces: CleanupStage;
  /** Absent when the workspace stage failed (users are not touched then, as upstream). */
  users?: CleanupStage;
  /** Ledger entries refused because they are not scaletest resources (a tampered or foreign ledger). */
  refused: string[];
  /** What the plan meant to delete and did not ("workspace owner/name", "user name"): the next cleanup finds it. */
  notDeleted: string[];
  /** True when both stages passed. */
  ok: boolean;
}

export interface CleanupOptions {
  signal: AbortSignal;
  /** State directory holding the run ledger; undefined = ledger not used. */
  stateDir?: string;
  /** What may be deleted (default: the operator's sweep, without other owners' workspaces). */
  scope?: CleanupScope;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string) => void;
  /** Called when a stage starts, with the number of jobs it will run (drives a progress display). */
  onStage?: (stage: "workspaces" | "users", jobs: number) => void;
  /** Observers of each stage's jobs. */
  events?: HarnessEvents;
}

/**
 * Plans (listings, the ledgers, lookups only for what the listings missed), prints the plan grouped by run, then
 * deletes the planned workspaces and, if that fully succeeded, the planned users. Idempotent.
 */
export async function cleanupScaletest(owner: CoderClient, cfg: CleanupConfig, opts: CleanupOptions): Promise<CleanupReport> {
  const { signal } = opts;
  // Every step is idempotent, so transient answers are retried.
  const client = owner.withRetry({ retries5xx: cfg.retries });
  const say = opts.progress ?? (() => undefined);
  const scope = opts.scope ?? { kind: "sweep", includeOthersWorkspaces: false };
  const plan = await planCleanup(client, { signal, scope, stateDir: opts.stateDir, template: cfg.template, concurrency: cfg.strategy.concurrency, progress: say });
  for (const r of plan.refused) say(`WARN: ledger entry ${r} is not a scaletest resource (no "${SCALETEST_PREFIX}" prefix or scaletest email); not deleting it`);
  for (const line of renderPlan(plan)) say(line);
  const ledger = opts.stateDir ? await Ledger.open(opts.stateDir, { url: client.url, run: `cleanup-${Date.now()}-${process.pid}` }) : undefined;
  try {
    // Ledger entries whose resource is gone are settled now, so the next cleanup does not look them up again.
    for (const w of plan.gone.workspaces) await ledger?.append({ op: "deleted-workspace", owner: w.owner, name: w.name });
    for (const u of plan.gone.users) await ledger?.append({ op: "deleted-user", username: u });

    const workspaces = plan.workspaces.map((p) => p.workspace);
    say(`Found ${workspaces.length} scaletest workspaces${plan.fromLedger.workspaces ? ` (${plan.fromLedger.workspaces} only through the run ledger)` : ""}`);
    opts.onStage?.("workspaces", workspaces.length);
    const wsHarness = stageHarness(cfg, opts.events);
    workspaces.forEach((ws, i) =>
      wsHarness.addRun("cleanup-workspace", String(i), {
        run: async (s, _id, log) => {
          const line = (t: string) => log.line(t);
          line(`Deleting workspace ${ws.owner_name}/${ws.name} (${ws.id})...`);
          const outcome = await retryTransient(() => deleteWorkspace(client, ws.id, { signal: s, log: line, pendingPollMs: cfg.buildPollMs }), {
            retries: cfg.retries,
            signal: s,
            log: line,
          });
          line(outcome === "deleted" ? "deleted" : "already gone");
          await ledger?.append({ op: "deleted-workspace", owner: ws.owner_name, name: ws.name });
        },
      }),
    );
    const wsResults = await runStage(wsHarness, cfg.strategy.timeoutMs, signal);
    const wsStage = { found: workspaces.length - plan.fromLedger.workspaces, fromLedger: plan.fromLedger.workspaces, results: wsResults };
    const wsLeft = workspaces.filter((_, i) => wsHarness.runs[i]!.outcome !== "ok").map((w) => `workspace ${w.owner_name}/${w.name}`);
    const allUsers = plan.users.map((p) => `user ${p.user.username}`);
    if (wsResults.total_fail > 0) return { plan, workspaces: wsStage, refused: plan.refused, notDeleted: [...wsLeft, ...allUsers], ok: false };

    const userList = plan.users.map((p) => p.user);
    say(`Found ${userList.length} scaletest users${plan.fromLedger.users ? ` (${plan.fromLedger.users} only through the run ledger)` : ""}`);
    opts.onStage?.("users", userList.length);
    const userHarness = stageHarness(cfg, opts.events);
    userList.forEach((u, i) =>
      userHarness.addRun("cleanup-users", String(i), {
        run: async (s, _id, log) => {
          log.line(`Deleting user ${u.username} (${u.id})...`);
          try {
            await retryTransient(() => client.deleteUser(u.id, { signal: s }), { retries: cfg.retries, signal: s, log: log.line.bind(log) });
          } catch (err) {
            if (!isCoderApiError(err, 404, 410)) throw err;
            log.line("already gone");
          }
          await ledger?.append({ op: "deleted-user", username: u.username });
        },
      }),
    );
    const userResults = await runStage(userHarness, cfg.strategy.timeoutMs, signal);
    const userStage = { found: userList.length - plan.fromLedger.users, fromLedger: plan.fromLedger.users, results: userResults };
    const usersLeft = userList.filter((_, i) => userHarness.runs[i]!.outcome !== "ok").map((u) => `user ${u.username}`);
    return { plan, workspaces: wsStage, users: userStage, refused: plan.refused, notDeleted: usersLeft, ok: userResults.total_fail === 0 };
  } finally {
    await ledger?.close();
  }
}

function stageHarness(cfg: CleanupConfig, events?: HarnessEvents): Harness {
  return new Harness({ strategy: strategyFromConfig(cfg.strategy), events });
}

/** Runs one stage under a fresh --cleanup-timeout deadline. */
async function runStage(h: Harness, timeoutMs: number, signal: AbortSignal): Promise<Results> {
  await runPhase(h, "run", signal, timeoutMs);
  return h.results();
}
