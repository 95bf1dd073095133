// What a cleanup will delete, decided before the first delete: one listing of workspaces and one of users, the run
// ledgers matched against them in memory, GET lookups (in parallel) only for ledger entries the listings missed;
// grouped by the run that made each resource, with what is left alone and why.
import type { CoderClient } from "../../coder/client.ts";
import { isCoderApiError } from "../../coder/errors.ts";
import { isScaletestName, isScaletestUser, SCALETEST_EMAIL_DOMAIN, SCALETEST_PREFIX } from "../../coder/names.ts";
import type { User, Workspace } from "../../coder/types.ts";
import { concurrent } from "../../harness/strategies.ts";
import { keptRuns, outstanding, readLedger, type PendingUser, type PendingWorkspace } from "../../state/ledger.ts";
import { liveRuns, type LiveRun } from "../../state/run-lock.ts";

/**
 * Which resources a cleanup may delete:
 * - `ledger`: what the runner deletes on its own (strategy cleanup, "Cleanup before scaletest"): only what run ledgers
 *   record, of runs that are not alive and did not ask to keep their resources;
 * - `sweep`: the operator's `scaletest cleanup`: upstream's scaletest users (prefix and email domain) and their
 *   workspaces, plus what ledgers record; a scaletest-named workspace of anyone else only when a ledger records it
 *   or `includeOthersWorkspaces` says so. Live runs' resources are left alone either way.
 */
export type CleanupScope = { kind: "ledger" } | { kind: "sweep"; includeOthersWorkspaces: boolean };

/** The group of resources no ledger records. */
export const NO_LEDGER = "no ledger";

export interface PlannedWorkspace {
  workspace: Workspace;
  /** The ledger run that made it, or NO_LEDGER. */
  run: string;
}

export interface PlannedUser {
  user: User;
  run: string;
}

/** A resource left alone, and why. */
export interface Skipped {
  /** "workspace owner/name" or "user name". */
  what: string;
  why: string;
}

export interface CleanupPlan {
  workspaces: PlannedWorkspace[];
  users: PlannedUser[];
  /** How many of each were found only through a ledger lookup (the listing did not have them). */
  fromLedger: { workspaces: number; users: number };
  skipped: Skipped[];
  /** Ledger entries refused because they are not scaletest resources (a tampered or foreign ledger). */
  refused: string[];
  /** Ledger entries whose resource no longer exists (never created, or deleted by someone else). */
  gone: { workspaces: Array<{ owner: string; name: string }>; users: string[] };
  /** GET requests spent on ledger entries the listings missed. */
  lookups: number;
}

export interface PlanOptions {
  signal: AbortSignal;
  scope: CleanupScope;
  /** State directory holding the run ledger and the runs' locks; undefined = no ledger. */
  stateDir?: string;
  /** Only workspaces of this template name ("" = all). */
  template: string;
  /** Lookups in flight at once (the cleanup concurrency; 0 = unlimited). */
  concurrency: number;
  progress?: (line: string) => void;
}

const key = (owner: string, name: string) => `${owner.toLowerCase()}/${name.toLowerCase()}`;

/** Decides what a cleanup deletes; reads only (listings and lookups). */
export async function planCleanup(client: CoderClient, o: PlanOptions): Promise<CleanupPlan> {
  const { signal } = o;
  const say = o.progress ?? (() => undefined);
  const entries = o.stateDir ? await readLedger(o.stateDir) : [];
  const pending = outstanding(entries, client.url);
  const kept = keptRuns(entries, client.url);
  const live = o.stateDir ? liveRuns(o.stateDir) : new Map<string, LiveRun>();
  const sweep = o.scope.kind === "sweep";
  const includeOthers = o.scope.kind === "sweep" && o.scope.includeOthersWorkspaces;
  const plan: CleanupPlan = { workspaces: [], users: [], fromLedger: { workspaces: 0, users: 0 }, skipped: [], refused: [], gone: { workspaces: [], users: [] }, lookups: 0 };
  const aliveWhy = (run: string) => {
    const l = live.get(run)!;
    return `run ${run} is still running (pid ${l.pid} on ${l.host}); it cleans up after itself`;
  };
  /** Whether the runner may delete what ledger run `run` made; otherwise the reason it may not. */
  const blockedRun = (run: string): string | undefined => {
    if (live.has(run)) return aliveWhy(run);
    if (!sweep && kept.has(run)) return `run ${run} keeps its resources (--no-cleanup); \`scaletest cleanup\` deletes them`;
    return undefined;
  };

  // The ledger's view: names that lack the prefix are refused whatever the ledger says.
  const ledgerWs = new Map<string, PendingWorkspace>();
  for (const p of pending.workspaces) {
    if (!isScaletestName(p.name)) plan.refused.push(`workspace ${p.owner}/${p.name}`);
    else ledgerWs.set(key(p.owner, p.name), p);
  }
  const ledgerUsers = new Map<string, PendingUser>();
  for (const p of pending.users) {
    if (!isScaletestName(p.username) || (p.email !== undefined && !p.email.endsWith(SCALETEST_EMAIL_DOMAIN))) plan.refused.push(`user ${p.username}`);
    else ledgerUsers.set(p.username.toLowerCase(), p);
  }

  // One listing each. The ledger scope needs them only to match its entries; with nothing to match, none is made.
  const needLists = sweep || ledgerWs.size > 0 || ledgerUsers.size > 0;
  say("Fetching scaletest workspaces...");
  const terms = [`name:"${SCALETEST_PREFIX}"`];
  if (o.template) terms.push(`template:"${o.template}"`);
  const listedWs = needLists ? (await client.allWorkspaces(terms.join(" "), { signal })).filter((w) => isScaletestName(w.name)) : [];
  say("Fetching scaletest users...");
  const listedUsers = needLists ? await client.allUsers(SCALETEST_PREFIX, { signal }) : [];
  const usersByName = new Map(listedUsers.map((u) => [u.username.toLowerCase(), u]));
  const liveUsers = new Map<string, string>();
  for (const [name, p] of ledgerUsers) if (live.has(p.run)) liveUsers.set(name, p.run);

  // Workspaces.
  const chosenWs = new Map<string, PlannedWorkspace>();
  const matchedWs = new Set<string>();
  for (const w of listedWs) {
    const k = key(w.owner_name, w.name);
    const recorded = ledgerWs.get(k);
    if (recorded) {
      matchedWs.add(k);
      const blocked = blockedRun(recorded.run);
      if (blocked) plan.skipped.push({ what: `workspace ${w.owner_name}/${w.name}`, why: blocked });
      else chosenWs.set(w.id, { workspace: w, run: recorded.run });
      continue;
    }
    if (!sweep) continue;
    const ownerRun = liveUsers.get(w.owner_name.toLowerCase());
    if (ownerRun) {
      plan.skipped.push({ what: `workspace ${w.owner_name}/${w.name}`, why: aliveWhy(ownerRun) });
      continue;
    }
    const owner = usersByName.get(w.owner_name.toLowerCase());
    if ((owner && isScaletestUser(owner)) || includeOthers) {
      chosenWs.set(w.id, { workspace: w, run: ledgerUsers.get(w.owner_name.toLowerCase())?.run ?? NO_LEDGER });
    } else {
      plan.skipped.push({
        what: `workspace ${w.owner_name}/${w.name}`,
        why: "its owner is not a scaletest user and no ledger records it (--include-others-workspaces deletes it)",
      });
    }
  }
  // Ledger workspaces the listing did not show: one GET each, in parallel.
  const missingWs = [...ledgerWs.entries()].filter(([k, p]) => !matchedWs.has(k) && !blockedSkip(p.run, `workspace ${p.owner}/${p.name}`));
  await inParallel(missingWs, o.concurrency, signal, async ([, p]) => {
    plan.lookups++;
    const ws = await lookup(() => client.workspaceByOwnerAndName(p.owner, p.name, { signal }));
    if (!ws) plan.gone.workspaces.push({ owner: p.owner, name: p.name });
    else if (!isScaletestName(ws.name) || chosenWs.has(ws.id)) return;
    else if (o.template && ws.template_name.toLowerCase() !== o.template.toLowerCase()) return;
    else {
      chosenWs.set(ws.id, { workspace: ws, run: p.run });
      plan.fromLedger.workspaces++;
    }
  });

  // Users.
  const chosenUsers = new Map<string, PlannedUser>();
  const matchedUsers = new Set<string>();
  for (const u of listedUsers) {
    const name = u.username.toLowerCase();
    const recorded = ledgerUsers.get(name);
    if (recorded) {
      matchedUsers.add(name);
      const blocked = blockedRun(recorded.run);
      if (blocked) plan.skipped.push({ what: `user ${u.username}`, why: blocked });
      else if (!isScaletestUser(u)) plan.refused.push(`user ${u.username}`);
      else chosenUsers.set(u.id, { user: u, run: recorded.run });
    } else if (sweep && isScaletestUser(u)) chosenUsers.set(u.id, { user: u, run: NO_LEDGER });
  }
  const missingUsers = [...ledgerUsers.entries()].filter(([name, p]) => !matchedUsers.has(name) && !blockedSkip(p.run, `user ${p.username}`));
  await inParallel(missingUsers, o.concurrency, signal, async ([, p]) => {
    plan.lookups++;
    const u = await lookup(() => client.user(p.username, { signal }));
    if (!u) plan.gone.users.push(p.username);
    else if (!isScaletestUser(u)) plan.refused.push(`user ${u.username}`);
    else if (!chosenUsers.has(u.id)) {
      chosenUsers.set(u.id, { user: u, run: p.run });
      plan.fromLedger.users++;
    }
  });

  plan.workspaces = [...chosenWs.values()];
  plan.users = [...chosenUsers.values()];
  plan.refused = [...new Set(plan.refused)];
  return plan;

  /** Records a blocked ledger entry the listing missed as skipped (no lookup needed for it). */
  function blockedSkip(run: string, what: string): boolean {
    const blocked = blockedRun(run);
    if (blocked) plan.skipped.push({ what, why: blocked });
    return blocked !== undefined;
  }
}

/** Runs `fn` over `items`, at most `limit` at once (0 = all at once); the first failure is thrown after all settled. */
async function inParallel<T>(items: readonly T[], limit: number, signal: AbortSignal, fn: (item: T) => Promise<void>): Promise<void> {
  if (items.length === 0) return;
  const errs = await concurrent(limit)(
    items.map((item) => async () => {
      await fn(item);
      return undefined;
    }),
    signal,
  );
  const first = errs.find((e) => e !== undefined);
  if (first) throw first;
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

/** How many names of one group are printed before "... and N more". */
const NAMES_PER_GROUP = 100;

/** The plan as lines: what will be deleted, grouped by run (ledger run id, or "no ledger"), then what is left alone. */
export function renderPlan(plan: CleanupPlan): string[] {
  const groups = new Map<string, { workspaces: string[]; users: string[] }>();
  const group = (run: string) => groups.get(run) ?? groups.set(run, { workspaces: [], users: [] }).get(run)!;
  for (const w of plan.workspaces) group(w.run).workspaces.push(`${w.workspace.owner_name}/${w.workspace.name}`);
  for (const u of plan.users) group(u.run).users.push(u.user.username);
  const lines = [`Cleanup plan: delete ${plural(plan.workspaces.length, "workspace")} and ${plural(plan.users.length, "user")}`];
  const runs = [...groups.keys()].sort((a, b) => (a === NO_LEDGER ? 1 : b === NO_LEDGER ? -1 : a.localeCompare(b)));
  for (const run of runs) {
    const g = groups.get(run)!;
    lines.push(`  ${run === NO_LEDGER ? NO_LEDGER : `run ${run}`}: ${plural(g.workspaces.length, "workspace")}, ${plural(g.users.length, "user")}`);
    const names = [...g.workspaces.sort().map((n) => `workspace ${n}`), ...g.users.sort().map((n) => `user ${n}`)];
    for (const n of names.slice(0, NAMES_PER_GROUP)) lines.push(`    ${n}`);
    if (names.length > NAMES_PER_GROUP) lines.push(`    ... and ${names.length - NAMES_PER_GROUP} more`);
  }
  const byWhy = new Map<string, string[]>();
  for (const s of plan.skipped) byWhy.set(s.why, [...(byWhy.get(s.why) ?? []), s.what]);
  for (const [why, whats] of byWhy) {
    lines.push(`  not deleting ${whats.length}: ${why}`);
    for (const w of whats.sort().slice(0, NAMES_PER_GROUP)) lines.push(`    ${w}`);
    if (whats.length > NAMES_PER_GROUP) lines.push(`    ... and ${whats.length - NAMES_PER_GROUP} more`);
  }
  return lines;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
