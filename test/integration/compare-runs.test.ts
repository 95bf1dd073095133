// `scaletest compare` on staged runs against the simulator: injected API latency in the second run is flagged with exit 1; two equal runs are not.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli.ts";
import { compareRuns } from "../../src/report/compare.ts";
import { loadRun } from "../../src/report/run-data.ts";
import { runStagedTest, scenarioDurations, simulatorConnectEnv, SIMULATOR_RUN_DEFAULTS } from "../../src/run/cli-run.ts";
import type { Knobs } from "../../src/simulator/knobs.ts";
import { startSimulator } from "../../src/simulator/index.ts";
import { loadRunnerConfig } from "../../src/run/config.ts";

/** One small staged run (3 workspaces, 1 s of web terminal traffic) against a fresh simulator with `knobs`; returns its run dir. */
async function stagedRun(root: string, name: string, knobs: Partial<Knobs>): Promise<string> {
  const sim = await startSimulator({ port: 0, knobs: { pendingMs: 100, runningMs: 200, jitterMs: 0, agentConnectDelayMs: 100, ...knobs } });
  const runDir = join(root, name);
  try {
    const env: NodeJS.ProcessEnv = {
      ...SIMULATOR_RUN_DEFAULTS,
      ...simulatorConnectEnv(sim),
      SCALETEST_RUN_ID: `scaletest-${name}`,
      SCALETEST_RUN_DIR: runDir,
      SCALETEST_STATE_DIR: join(root, `${name}-ledger`),
      SCALETEST_PARAM_DRY_RUN: "0",
      CODER_WORKSPACE: "runner",
      SCALETEST_PARAM_NUM_WORKSPACES: "3",
      SCALETEST_PARAM_CREATE_CONCURRENCY: "3",
      SCALETEST_PARAM_LOAD_SCENARIOS: JSON.stringify(["Web Terminal Traffic"]),
      ...scenarioDurations("1s"),
      SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "1s",
      SCALETEST_PARAM_GREEDY_AGENT: "false",
      SCALETEST_PARAM_CLEANUP_STRATEGY: "always",
    };
    const code = await runStagedTest(loadRunnerConfig(env), { signal: new AbortController().signal, sim, log: () => {}, out: () => {} });
    expect(code, `run ${name}`).toBe(0);
  } finally {
    await sim.close();
  }
  return runDir;
}

describe("scaletest compare", () => {
  let root: string;
  let base: string;
  let same: string;
  let slow: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "compare-runs-"));
    base = await stagedRun(root, "base", {});
    same = await stagedRun(root, "same", {});
    // Every API response 300 ms late: each workspace's user, login, create, build and agent calls add up.
    slow = await stagedRun(root, "slow", { slowResponseMs: 300 });
  }, 120_000);

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("flags the run with injected latency as regressed, by its build times, and exits 1", async () => {
    const c = compareRuns(loadRun(base), loadRun(slow), { tolerance: 0.5 });
    const regressed = c.rows.filter((r) => r.regressed).map((r) => r.key);
    expect(regressed).toEqual(expect.arrayContaining(["build.p50", "build.p95"]));
    const p50 = c.rows.find((r) => r.key === "build.p50")!;
    // At least three of each job's API calls were held 300 ms.
    expect(p50.b! - p50.a!).toBeGreaterThan(900);
    const html = join(root, "compare.html");
    expect(await main(["compare", base, join(slow, "results", "summary.json"), "--tolerance", "50%", "--html", html])).toBe(1);
    expect(await readFile(html, "utf8")).toMatch(/<h1>B regressed<\/h1>[\s\S]*<tr class="regressed"><td>run<\/td><td>build\.p50<\/td>[\s\S]*<figure id="plot-compare-builds">[\s\S]*<svg/);
  });

  it("does not flag two runs with the same settings, and exits 0", async () => {
    const c = compareRuns(loadRun(base), loadRun(same), { tolerance: 0.5 });
    expect(c.rows.filter((r) => r.regressed).map((r) => `${r.key} ${r.a} -> ${r.b}`)).toEqual([]);
    expect(c.rows.find((r) => r.key === "build.p50")?.a).toBeGreaterThan(0);
    expect(await main(["compare", base, same, "--tolerance", "50%"])).toBe(0);
  });

  it("rejects bad input with exit 2", async () => {
    expect(await main(["compare", base])).toBe(2);
    expect(await main(["compare", base, same, "--tolerance", "lots"])).toBe(2);
    expect(await main(["compare", base, join(root, "nowhere")])).toBe(2);
  });
});
