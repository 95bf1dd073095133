// Each cleanup strategy leaves exactly what it should: after a passing run, a failing run, and at workspace stop.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stagedEnv, type StagedEnv } from "./staged-env.ts";

let t: StagedEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const ALL = { workspaces: 2, users: 2 };
const NONE = { workspaces: 0, users: 0 };

/** Runs prepare + run; `fail` drops every traffic socket so the scenario (and the run) fails. */
async function runWith(strategy: string, fail: boolean) {
  t = await stagedEnv({ SCALETEST_PARAM_CLEANUP_STRATEGY: strategy, SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "0s" });
  expect((await t.script("prepare")).exitCode).toBe(0);
  if (fail) t.sim.setKnobs({ dropSocketsRate: 1 });
  const r = await t.script("run");
  expect(r.exitCode, r.stdout + r.stderr).toBe(fail ? 1 : 0);
  expect(t.status()).toBe(fail ? "Failed (exit=1)" : "Complete");
  return t;
}

const cleanupPhases = (s: StagedEnv) => s.phaseLines().filter((l) => l.includes("Cleanup (") && !l.includes("prepare"));

describe("cleanup strategies", () => {
  it("always: cleans up after a passing run", async () => {
    const s = await runWith("always", false);
    expect(await s.leftovers()).toEqual(NONE);
    expect(cleanupPhases(s)).toEqual(["START:4: Cleanup (on_success)", "END:4: Cleanup (on_success)"]);
  });

  it("always: cleans up after a failing run too", async () => {
    const s = await runWith("always", true);
    expect(await s.leftovers()).toEqual(NONE);
    expect(cleanupPhases(s)).toEqual(["START:4: Cleanup (on_error)", "END:4: Cleanup (on_error)"]);
    // The failed scenario's phase annotation carries the error tag.
    const phase = [...s.grafana.annotations.values()].find((a) => a.text === "Load scenario: Web Terminal Traffic")!;
    expect(phase.tags).toContain("error");
  });

  it("on_success: keeps a failed run's workspaces until a confirmed manual cleanup", async () => {
    const s = await runWith("on_success", true);
    expect(await s.leftovers()).toEqual(ALL);
    expect(cleanupPhases(s)).toEqual([]);
    const manual = await s.script("cleanup", ["manual", "--yes"]);
    expect(manual.exitCode, manual.stderr).toBe(0);
    expect(await s.leftovers()).toEqual(NONE);
  });

  it("on_error: keeps a passing run's workspaces", async () => {
    const s = await runWith("on_error", false);
    expect(await s.leftovers()).toEqual(ALL);
    // The end-of-run events do nothing under this strategy.
    expect((await s.script("cleanup", ["on_success"])).exitCode).toBe(0);
    expect(await s.leftovers()).toEqual(ALL);
  });

  it("on_error: cleans up after a failing run", async () => {
    const s = await runWith("on_error", true);
    expect(await s.leftovers()).toEqual(NONE);
  });

  it("on_stop: keeps everything until the workspace stops, then shutdown cleans up and drops the token", async () => {
    const s = await runWith("on_stop", false);
    expect(await s.leftovers()).toEqual(ALL);
    const tokenFile = join(s.stateDir, "session-token");
    expect(existsSync(tokenFile)).toBe(true);
    const r = await s.script("shutdown");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await s.leftovers()).toEqual(NONE);
    expect(existsSync(tokenFile)).toBe(false);
    expect(s.phaseLines().slice(-2)).toEqual(["START:4: Cleanup (on_stop)", "END:4: Cleanup (on_stop)"]);
  });
});
