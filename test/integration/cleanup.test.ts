// cleanup against the simulator in-process: only scaletest-prefixed resources go, whatever a (tampered) ledger
// says; ledger-announced resources are found; a second cleanup sends no mutating request.
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

    const report = await cleanupScaletest(admin, cfg(), { signal: new AbortController().signal, stateDir: dir });
    expect(report.ok).toBe(true);
    expect(report.workspaces.results.total_runs).toBe(2);
    expect(report.users?.results.total_runs).toBe(1);
    expect(report.refused.sort()).toEqual(["user admin", "user alice", "workspace admin/keepme", "workspace alice/alice-dev"]);
    expect(liveNames()).toEqual({ users: ["admin", "alice", "scaletest-lookalike"], workspaces: ["alice-dev", "keepme"] });

    const mark = sim.requests.length;
    const again = await cleanupScaletest(admin, cfg(), { signal: new AbortController().signal, stateDir: dir });
    expect(again.ok).toBe(true);
    expect(again.workspaces.results.total_runs).toBe(0);
    expect(again.users?.results.total_runs).toBe(0);
    expect(sim.requests.slice(mark).filter((r) => r.method !== "GET")).toEqual([]);
    expect(liveNames().users).toEqual(["admin", "alice", "scaletest-lookalike"]);
  });

  it("--template narrows the workspaces but not the users, as upstream", async () => {
    const st = await user("scaletest-Tmpl0000-0", "Tmpl0000-0@scaletest.local");
    await workspace(st.id, "scaletest-Tmpl0000-0");
    const other = sim.templates.find((t) => t.id !== sim.template.id);
    const c = { ...cfg(), template: other?.name ?? "no-such-template" };
    const report = await cleanupScaletest(admin, c, { signal: new AbortController().signal, stateDir: dir });
    // The workspace is of another template, so it stays; its owner still owns it, so the user delete fails (417), as upstream.
    expect(report.workspaces.results.total_runs).toBe(0);
    expect(liveNames().workspaces).toContain("scaletest-Tmpl0000-0");
    expect(report.users?.results.total_fail).toBe(1);
    expect(Object.values(report.users!.results.runs)[0]!.error).toMatch(/417/);
    const all = await cleanupScaletest(admin, cfg(), { signal: new AbortController().signal, stateDir: dir });
    expect(all.ok).toBe(true);
    expect(liveNames()).toEqual({ users: ["admin"], workspaces: [] });
  });
});
