// cleanup against the simulator in-process: only scaletest resources go, whatever a (tampered) ledger says; other
// owners' scaletest-named workspaces only by ledger or flag; the runner's scope is the ledgers of runs neither alive
// nor kept; the plan is printed by run before the first delete; one listing each, lookups only for what it missed.
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CoderClient } from "../../src/coder/client.ts";
import { waitForBuild } from "../../src/coder/builds.ts";
import { NIL_UUID } from "../../src/coder/types.ts";
import { cleanupScaletest, defaultCleanupConfig, type CleanupConfig } from "../../src/scenarios/cleanup/phase.ts";
import { deploymentKey, ledgerPath, Ledger } from "../../src/state/ledger.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { deadPid, liveForeignLock, writeForeignLock } from "../helpers/run-locks.ts";

let sim: Simulator;
let dir: string;
let admin: CoderClient;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "cleanup-int-"));
  sim = await startSimulator({ port: 0, knobs: { pendingMs: 10, runningMs: 20, agentConnectDelayMs: 10 } });
  admin = new CoderClient({ url: sim.url, token: sim.sessionToken });
});
afterEach(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

const cfg = (): CleanupConfig => ({ ...defaultCleanupConfig(), buildPollMs: 10, strategy: { concurrency: 4, timeoutMs: 60_000, jobTimeoutMs: 30_000 } });

async function user(username: string, email: string) {
  return admin.createUser({ username, email, name: "", password: "Str0ng-Password-123", login_type: "", organization_ids: [sim.organization.id] });
}
async function workspace(ownerId: string, name: string) {
  const ws = await admin.createWorkspace(ownerId, { template_id: sim.template.id, template_version_id: NIL_UUID, name, autostart_schedule: null });
  await waitForBuild(admin, ws.latest_build.id, { pendingPollMs: 10 });
  return ws;
}
const liveNames = () => ({
  users: [...sim.state.users.values()].filter((u) => !u.deleted).map((u) => u.username).sort(),
  workspaces: [...sim.state.workspaces.values()].filter((w) => !w.deleted).map((w) => w.name).sort(),
});

const signal = () => new AbortController().signal;
const sweep = (includeOthersWorkspaces = false) => ({ kind: "sweep" as const, includeOthersWorkspaces });
const ledgerOnly = { kind: "ledger" as const };

/** One scaletest user with one workspace, recorded in the ledger under `run` as create-workspaces records them. */
async function recorded(run: string, id: string, opts: { keep?: boolean } = {}) {
  const ledger = await Ledger.open(dir, { url: sim.url, run });
  if (opts.keep) await ledger.append({ op: "keep", reason: "--no-cleanup" });
  const username = `scaletest-${id}`;
  await ledger.append({ op: "create-user", username, email: `${id}@scaletest.local` });
  const u = await user(username, `${id}@scaletest.local`);
  await ledger.append({ op: "created-user", id: u.id, username });
  await ledger.append({ op: "create-workspace", owner: username, name: `scaletest-${id}-ws` });
  const ws = await workspace(u.id, `scaletest-${id}-ws`);
  await ledger.append({ op: "created-workspace", id: ws.id, owner: username, name: `scaletest-${id}-ws` });
  await ledger.close();
  return { username, workspace: `scaletest-${id}-ws` };
}

describe("cleanup (in-process simulator)", () => {
  it("deletes only scaletest resources, even when a tampered ledger names others, and a second run is a no-op", async () => {
    const st = await user("scaletest-AbCd1234-0", "AbCd1234-0@scaletest.local");
    await workspace(st.id, "scaletest-WxYz5678-0");
    const alice = await user("alice", "alice@example.com");
    await workspace(alice.id, "alice-dev");
    await workspace(sim.owner.id, "keepme");
    await workspace(sim.owner.id, "scaletest-hostlogin-1");
    await user("scaletest-lookalike", "lookalike@example.com"); // prefix but not the scaletest email domain

    const ledger = await Ledger.open(dir, { url: sim.url, run: "tampered" });
    await ledger.append({ op: "create-user", username: "alice", email: "alice@scaletest.local" });
    await ledger.append({ op: "create-workspace", owner: "admin", name: "keepme" });
    await ledger.append({ op: "create-workspace", owner: "alice", name: "alice-dev" });
    await ledger.append({ op: "create-user", username: "scaletest-lookalike", email: "lookalike@scaletest.local" }); // a lie
    await ledger.append({ op: "create-user", username: "scaletest-never-2", email: "never-2@scaletest.local" }); // POST never landed
    await ledger.close();
    // A hand-edited line with a foreign id must not matter either.
    appendFileSync(ledgerPath(dir), `${JSON.stringify({ op: "created-user", id: sim.owner.id, username: "admin", url: deploymentKey(sim.url), run: "x", ts: "" })}\n`);

    const report = await cleanupScaletest(admin, cfg(), { signal: signal(), stateDir: dir });
    expect(report.ok).toBe(true);
    // The owner's scaletest-named workspace is in no ledger: left alone without --include-others-workspaces.
    expect(report.workspaces.results.total_runs).toBe(1);
    expect(report.users?.results.total_runs).toBe(1);
    expect(report.refused.sort()).toEqual(["user admin", "user alice", "user scaletest-lookalike", "workspace admin/keepme", "workspace alice/alice-dev"]);
    expect(report.plan.skipped).toEqual([{ what: "workspace admin/scaletest-hostlogin-1", why: expect.stringContaining("--include-others-workspaces") }]);
    expect(liveNames()).toEqual({ users: ["admin", "alice", "scaletest-lookalike"], workspaces: ["alice-dev", "keepme", "scaletest-hostlogin-1"] });

    const mark = sim.requests.length;
    const again = await cleanupScaletest(admin, cfg(), { signal: signal(), stateDir: dir });
    expect(again.ok).toBe(true);
    expect(again.workspaces.results.total_runs).toBe(0);
    expect(again.users?.results.total_runs).toBe(0);
    expect(sim.requests.slice(mark).filter((r) => r.method !== "GET")).toEqual([]);
    expect(liveNames().users).toEqual(["admin", "alice", "scaletest-lookalike"]);
  });

  it("leaves other owners' scaletest-named workspaces unless a ledger records them or the flag says so, and prints the plan by run first", async () => {
    const alice = await user("alice", "alice@example.com");
    await workspace(alice.id, "scaletest-alice-ws");
    await workspace(sim.owner.id, "scaletest-admin-ws");
    await workspace(sim.owner.id, "scaletest-hostlogin-0");
    const run = await recorded("create-workspaces-1", "Rec00001-0");
    const unrecorded = await user("scaletest-Free0000-0", "Free0000-0@scaletest.local");
    await workspace(unrecorded.id, "scaletest-Free0000-0");
    // A host-login run recorded its workspace under the owner's name.
    const hostLogin = await Ledger.open(dir, { url: sim.url, run: "create-workspaces-2" });
    await hostLogin.append({ op: "create-workspace", owner: "admin", name: "scaletest-hostlogin-0" });
    await hostLogin.close();

    const lines: string[] = [];
    const mutatingWhenPrinted: number[] = [];
    const mutating = () => sim.requests.filter((r) => r.method !== "GET").length;
    const before = mutating();
    const report = await cleanupScaletest(admin, cfg(), {
      signal: signal(),
      stateDir: dir,
      scope: sweep(),
      progress: (l) => {
        lines.push(l);
        mutatingWhenPrinted.push(mutating() - before);
      },
    });
    expect(report.ok).toBe(true);
    expect(liveNames()).toEqual({ users: ["admin", "alice"], workspaces: ["scaletest-admin-ws", "scaletest-alice-ws"] });
    const planAt = lines.findIndex((l) => l.startsWith("Cleanup plan:"));
    expect(lines.slice(planAt, planAt + 12)).toEqual([
      "Cleanup plan: delete 3 workspaces and 2 users",
      "  run create-workspaces-1: 1 workspace, 1 user",
      `    workspace ${run.username}/${run.workspace}`,
      `    user ${run.username}`,
      "  run create-workspaces-2: 1 workspace, 0 users",
      "    workspace admin/scaletest-hostlogin-0",
      "  no ledger: 1 workspace, 1 user",
      "    workspace scaletest-Free0000-0/scaletest-Free0000-0",
      "    user scaletest-Free0000-0",
      "  not deleting 2: its owner is not a scaletest user and no ledger records it (--include-others-workspaces deletes it)",
      "    workspace admin/scaletest-admin-ws",
      "    workspace alice/scaletest-alice-ws",
    ]);
    // Printed before anything was deleted.
    expect(mutatingWhenPrinted[planAt]).toBe(0);

    const all = await cleanupScaletest(admin, cfg(), { signal: signal(), stateDir: dir, scope: sweep(true) });
    expect(all.ok).toBe(true);
    expect(all.workspaces.results.total_runs).toBe(2);
    expect(liveNames()).toEqual({ users: ["admin", "alice"], workspaces: [] });
  });

  it("the runner's own scope: only ledger entries of runs that are neither alive nor kept", async () => {
    const crashed = await recorded("crashed-run", "Crash000-0");
    writeForeignLock(dir, "crashed-run", { pid: deadPid() });
    const finished = await recorded("finished-run", "Done0000-0"); // ended normally, kept nothing: its leftovers are fair game
    const alive = await recorded("alive-run", "Alive000-0");
    liveForeignLock(dir, "alive-run");
    const kept = await recorded("kept-run", "Kept0000-0", { keep: true });
    const unrecorded = await user("scaletest-Free0000-0", "Free0000-0@scaletest.local");
    await workspace(unrecorded.id, "scaletest-Free0000-0");

    const lines: string[] = [];
    const report = await cleanupScaletest(admin, cfg(), { signal: signal(), stateDir: dir, scope: ledgerOnly, progress: (l) => lines.push(l) });
    expect(report.ok).toBe(true);
    expect(liveNames()).toEqual({
      users: ["admin", alive.username, kept.username, "scaletest-Free0000-0"].sort(),
      workspaces: [alive.workspace, kept.workspace, "scaletest-Free0000-0"].sort(),
    });
    expect(liveNames().users).not.toContain(crashed.username);
    expect(liveNames().users).not.toContain(finished.username);
    expect(lines.join("\n")).toMatch(new RegExp(`not deleting 2: run alive-run is still running \\(pid ${process.ppid} on [^)]+\\); it cleans up after itself`));
    expect(lines.join("\n")).toContain("not deleting 2: run kept-run keeps its resources (--no-cleanup); `scaletest cleanup` deletes them");

    // The operator's sweep takes the kept run and the unrecorded scaletest user, never the live run.
    const operator = await cleanupScaletest(admin, cfg(), { signal: signal(), stateDir: dir, scope: sweep(true) });
    expect(operator.ok).toBe(true);
    expect(liveNames()).toEqual({ users: ["admin", alive.username], workspaces: [alive.workspace] });
  });

  it("lists once and looks up only what the listings missed, in parallel", async () => {
    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => recorded(`r${i}`, `List000${i}-${i}`)));
    // Two announced creates whose POST never landed: only these need a GET.
    const ledger = await Ledger.open(dir, { url: sim.url, run: "r-lost" });
    await ledger.append({ op: "create-workspace", owner: "scaletest-Lost0000-0", name: "scaletest-Lost0000-0" });
    await ledger.append({ op: "create-user", username: "scaletest-Lost0000-0", email: "Lost0000-0@scaletest.local" });
    await ledger.close();
    sim.setKnobs({ slowResponseMs: 100 });
    const mark = sim.requests.length;
    const report = await cleanupScaletest(admin, cfg(), { signal: signal(), stateDir: dir, scope: ledgerOnly });
    expect(report.ok).toBe(true);
    expect(report.workspaces.results.total_runs).toBe(runs.length);
    expect(report.plan.lookups).toBe(2);
    expect(report.plan.gone).toEqual({ workspaces: [{ owner: "scaletest-Lost0000-0", name: "scaletest-Lost0000-0" }], users: ["scaletest-Lost0000-0"] });
    const gets = sim.requests.slice(mark).filter((r) => r.method === "GET");
    expect(gets.filter((r) => r.path === "/api/v2/workspaces")).toHaveLength(2); // one page, then the empty page
    expect(gets.filter((r) => r.path === "/api/v2/users")).toHaveLength(2);
    expect(gets.filter((r) => /^\/api\/v2\/users\/[^/]+(\/workspace\/[^/]+)?$/.test(r.path))).toHaveLength(2);
    // The gone entries are settled in the ledger: a second cleanup makes no lookup.
    const again = await cleanupScaletest(admin, cfg(), { signal: signal(), stateDir: dir, scope: ledgerOnly });
    expect(again.plan.lookups).toBe(0);
  });

  it("--template narrows the workspaces but not the users, as upstream", async () => {
    const st = await user("scaletest-Tmpl0000-0", "Tmpl0000-0@scaletest.local");
    await workspace(st.id, "scaletest-Tmpl0000-0");
    const other = sim.templates.find((t) => t.id !== sim.template.id);
    const c = { ...cfg(), template: other?.name ?? "no-such-template" };
    const report = await cleanupScaletest(admin, c, { signal: signal(), stateDir: dir });
    // The workspace is of another template, so it stays; its owner still owns it, so the user delete fails (417), as upstream.
    expect(report.workspaces.results.total_runs).toBe(0);
    expect(liveNames().workspaces).toContain("scaletest-Tmpl0000-0");
    expect(report.users?.results.total_fail).toBe(1);
    expect(Object.values(report.users!.results.runs)[0]!.error).toMatch(/417/);
    expect(report.notDeleted).toEqual(["user scaletest-Tmpl0000-0"]);
    const all = await cleanupScaletest(admin, cfg(), { signal: signal(), stateDir: dir });
    expect(all.ok).toBe(true);
    expect(liveNames()).toEqual({ users: ["admin"], workspaces: [] });
  });
});
