// coderd restarting: the simulator stops listening for 10 s (every connection cut, then refused) and comes back on
// the same port with the same state. Traffic that was running ends with its results; a cleanup that was deleting
// rides the outage out and finishes after the restart with nothing left.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Results } from "../../src/harness/results.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { trafficControls } from "../../src/simulator/traffic-host.ts";
import { sleep } from "../../src/util/abort.ts";
import { cleanupFor, createFor, scaletestLeft, trafficFor } from "../helpers/fault-run.ts";
import { until } from "../helpers/sim-api.ts";

const OUTAGE_MS = 10_000;

let sim: Simulator;
let dir: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "coderd-restart-"));
  sim = await startSimulator({ knobs: { pendingMs: 20, runningMs: 60, agentConnectDelayMs: 20 } });
});
afterEach(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The outage: cut and refuse everything for OUTAGE_MS (the length of the restart is the scenario, not a wait), then come back. */
async function restart(): Promise<{ downAt: number; upAt: number }> {
  await sim.stopListening();
  const downAt = Date.now();
  await sleep(OUTAGE_MS);
  await sim.resumeListening();
  return { downAt, upAt: Date.now() };
}

describe("coderd restart", () => {
  it("during traffic: the run ends with results for every job, and cleanup works once coderd is back", async () => {
    const stateDir = join(dir, "state");
    expect((await createFor(sim, stateDir, 6)).results.total_pass).toBe(6);
    const sockets = trafficControls(sim.ctx).sockets;
    let outage: Promise<{ downAt: number; upAt: number }> | undefined;
    const traffic = trafficFor(sim, "web terminal", {
      dir,
      durationMs: 4_000,
      // Once every terminal is connected, coderd goes away.
      onStart: () => void (outage = until(() => sockets.count("pty") === 6, 20_000).then(restart)),
    });
    const r = await traffic;
    const ended = Date.now();
    expect(outage).toBeDefined();
    const { downAt, upAt } = await outage!;
    // The run did not wait for coderd: it ended (with results) while coderd was still down.
    expect(ended).toBeLessThan(upAt);
    expect(ended).toBeGreaterThan(downAt);
    const written = JSON.parse(readFileSync(r.resultsPath, "utf8")) as Results;
    expect(written.total_runs).toBe(6);
    expect(written.total_pass + written.total_fail).toBe(6);
    expect(Object.keys(written.runs).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `workspace-traffic/${i}`));
    process.stdout.write(`coderd restart during traffic: the 4 s run ended ${((ended - downAt) / 1000).toFixed(1)} s into the 10 s outage; ${written.total_pass}/6 jobs passed\n`);

    const cleanup = await cleanupFor(sim, stateDir);
    expect(cleanup.ok, cleanup.notDeleted.join(", ")).toBe(true);
    expect(scaletestLeft(sim)).toEqual({ workspaces: 0, users: 0 });
  });

  it("during cleanup: the deletes ride out the outage and finish after the restart, nothing left", async () => {
    const stateDir = join(dir, "state");
    expect((await createFor(sim, stateDir, 8)).results.total_pass).toBe(8);
    let outage: Promise<{ downAt: number; upAt: number }> | undefined;
    const report = await cleanupFor(sim, stateDir, { concurrency: 4, onDeleteStarted: () => void (outage = restart()) });
    const finished = Date.now();
    const { upAt } = await outage!;
    expect(report.ok, report.notDeleted.join(", ")).toBe(true);
    expect(report.workspaces.results.total_pass).toBe(8);
    expect(report.users!.results.total_pass).toBe(8);
    // It finished after coderd came back, not before.
    expect(finished).toBeGreaterThanOrEqual(upAt);
    expect(scaletestLeft(sim)).toEqual({ workspaces: 0, users: 0 });
    process.stdout.write(`coderd restart during cleanup: 8 workspaces and 8 users deleted, finished ${((finished - upAt) / 1000).toFixed(1)} s after coderd came back\n`);
  });
});
