// cleanup: delete scaletest workspaces, then scaletest users as upstream's cleanup command does, found by prefix and by the run ledger.
import { getErrorMessage, type ConfigProblem } from "../../errors.ts";
import { sleep } from "../../util/abort.ts";
import { deleteWorkspace } from "../../coder/builds.ts";
import type { CoderClient } from "../../coder/client.ts";
import { CoderConnectionError, isCoderApiError } from "../../coder/errors.ts";
import { CLEANUP_RETRIES, retryTransient } from "../../coder/retry.ts";
import { isScaletestName, isScaletestUser, SCALETEST_EMAIL_DOMAIN, SCALETEST_PREFIX } from "../../coder/names.ts";
import type { User, Workspace } from "../../coder/types.ts";
import { Harness, runPhase, type HarnessEvents } from "../../harness/harness.ts";
import type { Results } from "../../harness/results.ts";
import { DEFAULT_STRATEGY, strategyFromConfig, validateStrategyConfig, type StrategyConfig } from "../../harness/strategies.ts";
import { Ledger, outstanding, readLedger } from "../../state/ledger.ts";

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
  workspaces: CleanupStage;
  /** Absent when the workspace stage failed (users are not touched then, as upstream). */
  users?: CleanupStage;
  /** Ledger entries refused because they lack the scaletest prefix (a tampered or foreign ledger). */
  refused: string[];
  /** True when both stages passed. */
  ok: boolean;
}

export interface CleanupOptions {
  signal: AbortSignal;
  /** State directory holding the run ledger; undefined = ledger not used. */
  stateDir?: string;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string) => void;
  /** Called when a stage starts, with the number of jobs it will run (drives a progress display). */
  onStage?: (stage: "workspaces" | "users", jobs: number) => void;
  /** Observers of each stage's jobs. */
  events?: HarnessEvents;
}

/** Deletes every scaletest workspace, then (if that fully succeeded) every scaletest user. Idempotent. */
export async function cleanupScaletest(owner: CoderClient, cfg: CleanupConfig, opts: CleanupOptions): Promise<CleanupReport> {
  const { signal } = opts;
  // Every step is idempotent, so transient answers are retried.
  const client = owner.withRetry({ retries5xx: cfg.retries });
  const say = opts.progress ?? (() => undefined);
  const pending = opts.stateDir ? outstanding(await readLedger(opts.stateDir), client.url) : { users: [], workspaces: [] };
  const ledger = opts.stateDir ? await Ledger.open(opts.stateDir, { url: client.url, run: `cleanup-${Date.now()}` }) : undefined;
  const refused: string[] = [];
  try {
    // Workspaces: listed by the name filter, plus whatever the ledger announced.
    say("Fetching scaletest workspaces...");
    const terms = [`name:"${SCALETEST_PREFIX}"`];
    if (cfg.template) terms.push(`template:"${cfg.template}"`);
    const listed = (await client.allWorkspaces(terms.join(" "), { signal })).filter((w) => isScaletestName(w.name));
    const byId = new Map(listed.map((w) => [w.id, w]));
    let fromLedger = 0;
    for (const p of pending.workspaces) {
      if (!isScaletestName(p.name)) {
        refused.push(`workspace ${p.owner}/${p.name}`);
        continue;
      }
      const ws = await lookup(() => client.workspaceByOwnerAndName(p.owner, p.name, { signal }));
      if (!ws) {
        await ledger?.append({ op: "deleted-workspace", owner: p.owner, name: p.name }); // never created, or gone
        continue;
      }
      if (!isScaletestName(ws.name) || byId.has(ws.id)) continue;
      if (cfg.template && ws.template_name.toLowerCase() !== cfg.template.toLowerCase()) continue;
      byId.set(ws.id, ws);
      fromLedger++;
    }
    for (const r of refused) say(`WARN: ledger entry ${r} lacks the "${SCALETEST_PREFIX}" prefix; not deleting it`);
    const workspaces = [...byId.values()];
    say(`Found ${workspaces.length} scaletest workspaces${fromLedger ? ` (${fromLedger} only through the run ledger)` : ""}`);
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
    const wsStage = { found: workspaces.length - fromLedger, fromLedger, results: wsResults };
    if (wsResults.total_fail > 0) return { workspaces: wsStage, refused, ok: false };

    // Users: listed by the search term and checked client-side, plus the ledger's.
    say("Fetching scaletest users...");
    const users = new Map<string, User>();
    for (const u of await client.allUsers(SCALETEST_PREFIX, { signal })) if (isScaletestUser(u)) users.set(u.id, u);
    let usersFromLedger = 0;
    for (const p of pending.users) {
      if (!isScaletestName(p.username) || (p.email !== undefined && !p.email.endsWith(SCALETEST_EMAIL_DOMAIN))) {
        refused.push(`user ${p.username}`);
        say(`WARN: ledger entry user ${p.username} is not a scaletest user; not deleting it`);
        continue;
      }
      const u = await lookup(() => client.user(p.username, { signal }));
      if (!u) {
        await ledger?.append({ op: "deleted-user", username: p.username });
        continue;
      }
      if (!isScaletestUser(u) || users.has(u.id)) continue;
      users.set(u.id, u);
      usersFromLedger++;
    }
    const userList = [...users.values()];
    say(`Found ${userList.length} scaletest users${usersFromLedger ? ` (${usersFromLedger} only through the run ledger)` : ""}`);
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
    const userStage = { found: userList.length - usersFromLedger, fromLedger: usersFromLedger, results: userResults };
    return { workspaces: wsStage, users: userStage, refused, ok: userResults.total_fail === 0 };
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

/** A GET that treats "not found" and "gone" as absent. */
async function lookup<T extends Workspace | User>(get: () => Promise<T>): Promise<T | undefined> {
  try {
    return await get();
  } catch (err) {
    if (isCoderApiError(err, 400, 404, 410)) return undefined;
    throw err;
  }
}
