// The fault matrix: a seeded simulator failing 10% of builds, answering 5% of API requests with 500 and 2% with 429,
// cutting 1% of traffic sockets, with latency on every answer and build. Create, traffic in every mode (web terminal,
// SSH through the coder shim, app), cleanup: every job is accounted for, traffic passes 99% of the jobs whose socket
// was not cut, and nothing scaletest is left. The faults must have fired (failed builds, injected 500s and 429s), and a
// short seeded run at a higher drop rate cuts sockets every time, so the "drops aside" accounting is always exercised.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Results } from "../../src/harness/results.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { trafficControls } from "../../src/simulator/traffic-host.ts";
import { cleanupFor, createFor, scaletestLeft, trafficFor, type TrafficMode } from "../helpers/fault-run.ts";

const WORKSPACES = 40;
const SSH_TARGETS = 16;
/** The extra traffic run that always cuts sockets: targets, and the seed of its PRNG sequence. */
const DROP_TARGETS = 12;
const DROP_SEED = 15;
const MATRIX = { buildFailureRate: 0.1, http5xxRate: 0.05, http429Rate: 0.02, dropSocketsRate: 0.01, slowResponseMs: 15, jitterMs: 40, seed: 20_241_207 };

let sim: Simulator;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fault-matrix-"));
  sim = await startSimulator({ knobs: { pendingMs: 20, runningMs: 60, agentConnectDelayMs: 20, ...MATRIX } });
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const accounted = (r: Results) => r.total_pass + r.total_fail === r.total_runs;

describe("fault matrix (10% failed builds, 5% 500, 2% 429, 1% dropped sockets, latency)", () => {
  it("creates, sends traffic in every mode and cleans up: every job accounted for, 99% of traffic passing, nothing left", async () => {
    const stateDir = join(dir, "state");
    const created = await createFor(sim, stateDir, WORKSPACES);
    expect(accounted(created.results)).toBe(true);
    expect(created.results.total_runs).toBe(WORKSPACES);
    // Failed builds get new start builds (--retry 5) and every transient answer is retried: all are created.
    expect(created.results.total_pass, JSON.stringify(created.results.runs, null, 1)).toBe(WORKSPACES);
    const failedBuilds = [...sim.state.builds.values()].filter((b) => b.transition === "start" && b.job.status === "failed").length;
    // The faults fired: a matrix that injected nothing would prove nothing.
    expect(failedBuilds).toBeGreaterThan(0);

    const sockets = trafficControls(sim.ctx).sockets;
    const figures: Record<string, { jobs: number; passed: number; drops: number }> = {};
    for (const [mode, targets] of [["web terminal", ""], ["ssh", `0:${SSH_TARGETS}`], ["app", ""]] as Array<[TrafficMode, string]>) {
      const dropsBefore = sockets.injectedDrops;
      const r = await trafficFor(sim, mode, { dir, durationMs: 2_000, targets });
      const drops = sockets.injectedDrops - dropsBefore;
      const written = JSON.parse(readFileSync(r.resultsPath, "utf8")) as Results;
      expect(written.total_runs).toBe(r.results.total_runs);
      expect(accounted(r.results), mode).toBe(true);
      expect(r.results.total_runs, mode).toBe(targets ? SSH_TARGETS : WORKSPACES);
      // A cut socket fails at most its own job; of the others, 99% pass.
      const failures = Object.values(r.results.runs).filter((x) => x.error !== "<nil>").map((x) => `${x.full_id}: ${x.error}`);
      expect(r.results.total_pass, `${mode}: ${drops} drop(s); ${failures.join("\n")}`).toBeGreaterThanOrEqual(Math.ceil(0.99 * (r.results.total_runs - drops)));
      figures[mode] = { jobs: r.results.total_runs, passed: r.results.total_pass, drops };
    }

    // At 1% a three-mode run may cut no socket at all, so the "drops aside" accounting runs once more at a rate that
    // always cuts some: only drops draw from the reseeded PRNG here (API faults off), so the same count is cut each time.
    sim.setKnobs({ http5xxRate: 0, http429Rate: 0, dropSocketsRate: 0.25, seed: DROP_SEED });
    const dropsBefore = sockets.injectedDrops;
    const dropped = await trafficFor(sim, "web terminal", { dir, durationMs: 1_000, targets: `0:${DROP_TARGETS}` });
    const drops = sockets.injectedDrops - dropsBefore;
    sim.setKnobs(MATRIX);
    expect(drops).toBeGreaterThan(0);
    expect(drops).toBeLessThan(DROP_TARGETS);
    expect(accounted(dropped.results)).toBe(true);
    expect(dropped.results.total_runs).toBe(DROP_TARGETS);
    // Each cut socket fails its own job (a read error), and only its own: every other job passes.
    const cut = Object.values(dropped.results.runs).filter((x) => x.error !== "<nil>");
    expect(cut.length, cut.map((x) => `${x.full_id}: ${x.error}`).join("\n")).toBe(drops);
    for (const x of cut) expect(x.error).toMatch(/read from agent: websocket closed with status 1006/);
    figures["web terminal, drop run"] = { jobs: dropped.results.total_runs, passed: dropped.results.total_pass, drops };

    const cleanup = await cleanupFor(sim, stateDir);
    expect(cleanup.ok, cleanup.notDeleted.join(", ")).toBe(true);
    expect(accounted(cleanup.workspaces.results) && accounted(cleanup.users!.results)).toBe(true);
    expect(cleanup.workspaces.results.total_runs).toBe(WORKSPACES);
    expect(cleanup.users!.results.total_runs).toBe(WORKSPACES);
    expect(scaletestLeft(sim)).toEqual({ workspaces: 0, users: 0 });

    const injected500 = sim.requests.filter((r) => r.status === 500).length;
    const injected429 = sim.requests.filter((r) => r.status === 429).length;
    expect(injected500).toBeGreaterThan(0);
    expect(injected429).toBeGreaterThan(0);
    const injected = injected500 + injected429;
    process.stdout.write(
      `fault matrix: ${WORKSPACES} workspaces created (${failedBuilds} failed builds rebuilt), ${injected} injected answers (${injected500} 500, ${injected429} 429); ` +
        `${Object.entries(figures).map(([m, f]) => `${m} ${f.passed}/${f.jobs} passed (${f.drops} socket(s) cut)`).join(", ")}; ` +
        `cleanup ${cleanup.workspaces.results.total_pass}/${WORKSPACES} workspaces, ${cleanup.users!.results.total_pass}/${WORKSPACES} users; 0 left\n`,
    );
  });
});
