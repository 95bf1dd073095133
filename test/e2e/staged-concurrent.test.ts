// A real staged run with all four scenarios at once, each on its own slice of the workspaces.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readResults, stagedEnv, type StagedEnv } from "./staged-env.ts";

const SCENARIOS = ["SSH Traffic", "Web Terminal Traffic", "App Traffic", "Dashboard Traffic"];
const NAME = `Load scenarios: ${SCENARIOS.join(", ")}`;

describe("staged run, concurrent", () => {
  let t: StagedEnv;
  let run: Awaited<ReturnType<StagedEnv["script"]>>;

  beforeAll(async () => {
    t = await stagedEnv({
      SCALETEST_PARAM_NUM_WORKSPACES: "4",
      SCALETEST_PARAM_LOAD_SCENARIOS: JSON.stringify(SCENARIOS),
      SCALETEST_PARAM_LOAD_SCENARIO_RUN_CONCURRENTLY: "1",
      SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_PERCENTAGE: "25",
      SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_PERCENTAGE: "25",
      SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_PERCENTAGE: "25",
      SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_PERCENTAGE: "25",
      SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_DURATION: "2s",
      SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "0s",
      SCALETEST_PARAM_CLEANUP_STRATEGY: "on_success",
      SCALETEST_PARAM_CLEANUP_PREPARE: "0",
    });
    run = await t.script("run");
  });
  afterAll(() => t?.close());

  it("runs one load phase between creation and cleanup", () => {
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(t.phaseLines()).toEqual([
      "START:1: Creating workspaces",
      "END:1: Creating workspaces",
      `START:2: ${NAME}`,
      `END:2: ${NAME}`,
      "START:3: Cleanup (on_success)",
      "END:3: Cleanup (on_success)",
    ]);
  });

  it("gives each scenario its own disjoint slice and writes its results", () => {
    const results = join(t.env.SCALETEST_RUN_DIR!, "results");
    const ids = (file: string) => Object.keys(readResults(join(results, file)).runs);
    // Traffic job IDs are indexes in the sorted workspace list: one workspace each, none shared.
    const ssh = ids("traffic-ssh.json");
    const wt = ids("traffic-web-terminal.json");
    const app = ids("traffic-app.json");
    expect([ssh, wt, app]).toEqual([["workspace-traffic/0"], ["workspace-traffic/1"], ["workspace-traffic/2"]]);
    const dash = readResults(join(results, "traffic-dashboard.json"));
    expect(dash.total_runs).toBe(1);
    for (const f of ["traffic-ssh.json", "traffic-web-terminal.json", "traffic-app.json", "traffic-dashboard.json"]) {
      expect(readResults(join(results, f)).total_fail, f).toBe(0);
    }
  });

  it("annotates each scenario inside the one phase", () => {
    expect(t.grafana.problems()).toEqual([]);
    const scenarios = [...t.grafana.annotations.values()].filter((a) => a.tags.includes("scenario"));
    expect(scenarios.map((a) => a.text).sort()).toEqual(SCENARIOS.map((s) => `Load scenario: ${s}`).sort());
    for (const a of scenarios) {
      expect(a.tags).toEqual(["scaletest", "runner", "scenario"]);
      expect(a.timeEnd).toBeGreaterThanOrEqual(a.time);
    }
  });

  it("reports bytes and round trips per scenario in the summary", () => {
    expect(run.stdout).toMatch(/ok {3}SSH Traffic: passed, 1\/1 jobs passed\n\s+written [\d.]+ KiB; read [\d.]+ KiB; round trip p50/);
    expect(run.stdout).toMatch(/ok {3}App Traffic: passed, 1\/1 jobs passed/);
  });
});
