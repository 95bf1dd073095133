// Scenario slices: percentages become disjoint workspace ranges in concurrent mode, as upstream run.sh lays them out.
import { describe, expect, it } from "vitest";
import { defaultRunnerConfig } from "../../../src/run/config.ts";
import { planSlices } from "../../../src/run/slices.ts";

const base = defaultRunnerConfig();

describe("planSlices", () => {
  it("lays concurrent slices end to end so they never share a workspace", () => {
    const slices = planSlices({
      ...base,
      numWorkspaces: 10,
      runConcurrently: true,
      sshPercentage: 50,
      webTerminalPercentage: 30,
      appPercentage: 10,
      dashboardPercentage: 10,
    });
    expect(slices.map((s) => [s.scenario, s.target, s.count])).toEqual([
      ["SSH Traffic", "0:5", 5],
      ["Web Terminal Traffic", "5:8", 3],
      ["App Traffic", "8:9", 1],
      ["Dashboard Traffic", "9:10", 1],
    ]);
  });

  it("rounds each slice down, as upstream's floor(percentage/100 * N)", () => {
    const [s] = planSlices({ ...base, numWorkspaces: 7, loadScenarios: ["SSH Traffic"], sshPercentage: 50 });
    expect(s).toEqual({ scenario: "SSH Traffic", start: 0, end: 3, count: 3, target: "0:3" });
  });

  it("wraps a slice that would pass the last workspace back to 0 (sequential mode reuses workspaces)", () => {
    const slices = planSlices({ ...base, numWorkspaces: 4, loadScenarios: ["SSH Traffic", "App Traffic"], sshPercentage: 75, appPercentage: 50 });
    expect(slices.map((s) => s.target)).toEqual(["0:3", "0:2"]);
  });

  it("gives every scenario all workspaces at the 100% defaults in sequential mode", () => {
    expect(planSlices({ ...base, numWorkspaces: 100 }).map((s) => s.target)).toEqual(["0:100", "0:100", "0:100", "0:100"]);
  });

  it("follows the order of the Load Scenarios list", () => {
    const slices = planSlices({ ...base, numWorkspaces: 2, runConcurrently: true, loadScenarios: ["Dashboard Traffic", "SSH Traffic"], sshPercentage: 50, dashboardPercentage: 50 });
    expect(slices.map((s) => `${s.scenario}=${s.target}`)).toEqual(["Dashboard Traffic=0:1", "SSH Traffic=1:2"]);
  });
});
