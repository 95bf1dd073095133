// A real staged run (sequential) against the simulator: phase file, results JSON, annotations, metadata, cleanup.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Results } from "../../src/harness/results.ts";
import { readResults, stagedEnv, type StagedEnv } from "./staged-env.ts";

const SCENARIOS = ["Web Terminal Traffic", "App Traffic", "Dashboard Traffic"];
const WAIT = "Waiting 300ms to establish baseline";

describe("staged run, sequential", () => {
  let t: StagedEnv;
  let prepare: Awaited<ReturnType<StagedEnv["script"]>>;
  let run: Awaited<ReturnType<StagedEnv["script"]>>;

  beforeAll(async () => {
    t = await stagedEnv({ SCALETEST_PARAM_LOAD_SCENARIOS: JSON.stringify(SCENARIOS), SCALETEST_PARAM_CLEANUP_STRATEGY: "always" });
    prepare = await t.script("prepare");
    // The first traffic dial of the run (Web Terminal Traffic's) is refused once: its retry must reach the results.
    t.sim.setKnobs({ refuseUpgrades: 1 });
    run = await t.script("run");
  });
  afterAll(() => t?.close());

  it("passes and prints the summary with the results path", () => {
    expect(prepare.exitCode, prepare.stderr).toBe(0);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain("Scaletest scaletest-e2e: Complete");
    expect(run.stdout).toContain(`Results: ${join(t.env.SCALETEST_RUN_DIR!, "results")}`);
    expect(t.status()).toBe("Complete");
  });

  it("says what Dashboard Traffic did: actions with duration percentiles and errors, as its users' logs count them", () => {
    const m = /ok {3}Dashboard Traffic: passed, 2\/2 jobs passed\n {12}(\d+) actions?(?:, duration p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms)?; (\d+) errors?/.exec(run.stdout);
    expect(m, run.stdout).not.toBeNull();
    const dashboard: Results = JSON.parse(readFileSync(join(t.env.SCALETEST_RUN_DIR!, "results", "traffic-dashboard.json"), "utf8"));
    const logs = Object.values(dashboard.runs).map((r) => r.logs);
    const counted = logs.map((l) => /dashboard actions: (\d+) ok, (\d+) failed/.exec(l)!).map((c) => [Number(c[1]), Number(c[2])]);
    expect(Number(m![1])).toBe(counted.reduce((a, [ok, failed]) => a + ok! + failed!, 0));
    expect(Number(m![2])).toBe(counted.reduce((a, [, failed]) => a + failed!, 0));
  });

  it("writes START/END for each phase in order: prepare cleanup, create, baseline, one phase per scenario with a baseline after each, cleanup", () => {
    const expected = [
      "Cleanup (prepare)",
      "Creating workspaces",
      WAIT,
      ...SCENARIOS.flatMap((s) => [`Load scenario: ${s}`, WAIT]),
      "Cleanup (on_success)",
    ].flatMap((name, i) => [`START:${i + 1}: ${name}`, `END:${i + 1}: ${name}`]);
    expect(t.phaseLines()).toEqual(expected);
  });

  it("writes each scenario's results JSON in the upstream shape", () => {
    const results = join(t.env.SCALETEST_RUN_DIR!, "results");
    const create = readResults(join(results, "create-workspaces.json"));
    expect(create).toMatchObject({ total_runs: 2, total_pass: 2, total_fail: 0 });
    expect(Object.keys(create.runs)).toEqual(["workspacebuild/0", "workspacebuild/1"]);
    for (const [file, test] of [
      ["traffic-web-terminal.json", "workspace-traffic"],
      ["traffic-app.json", "workspace-traffic"],
      ["traffic-dashboard.json", "dashboard"],
    ] as const) {
      const r = readResults(join(results, file));
      expect(Object.keys(r)).toEqual(["total_runs", "total_pass", "total_fail", "elapsed", "elapsed_ms", "runs"]);
      expect(r.total_runs, file).toBe(2);
      expect(r.total_fail, file).toBe(0);
      for (const run of Object.values(r.runs)) {
        expect(run.full_id.startsWith(`${test}/`)).toBe(true);
        expect(run.error).toBe("<nil>");
      }
    }
    expect(existsSync(join(results, "cleanup-on_success.txt"))).toBe(true);
    expect(existsSync(join(results, "summary.json"))).toBe(true);
  });

  it("shows the refused dial's retry in its job's log, the scenario's totals in summary.json and the summary text", () => {
    const results = join(t.env.SCALETEST_RUN_DIR!, "results");
    const terminal: Results = JSON.parse(readFileSync(join(results, "traffic-web-terminal.json"), "utf8"));
    expect(Object.values(terminal.runs).filter((r) => r.logs.includes("retry websocket after 503 (attempt 1)")).length).toBe(1);
    const summary = JSON.parse(readFileSync(join(results, "summary.json"), "utf8")) as { phases: Array<{ scenarios: Array<{ name: string; retries?: unknown }> }> };
    const byName = Object.fromEntries(summary.phases.flatMap((p) => p.scenarios).map((s) => [s.name, s.retries]));
    expect(byName["Web Terminal Traffic"]).toEqual({ total: 1, byReason: { "websocket 503": 1 } });
    expect(byName["App Traffic"]).toEqual({ total: 0, byReason: {} });
    expect(run.stdout).toMatch(/ok {3}Web Terminal Traffic: passed, 2\/2 jobs passed\n(?: {12}.*\n)* {12}retries: 1 \(websocket 503 ×1\)\n/);
  });

  it("posts annotations Grafana accepts, each with the right tags and an end time", () => {
    expect(t.grafana.problems()).toEqual([]);
    const all = [...t.grafana.annotations.values()];
    for (const a of all) {
      expect(a.tags.slice(0, 2), a.text).toEqual(["scaletest", "runner"]);
      if (a.tags.includes("workspace")) continue; // "Agent running" spans the workspace's life, closed by shutdown
      expect(a.timeEnd, a.text).toBeGreaterThanOrEqual(a.time);
    }
    const byText = (text: string) => all.filter((a) => a.text === text);
    expect(byText("Load scenario: App Traffic")[0]!.tags).toEqual(["scaletest", "runner", "phase", "phase-default"]);
    expect(byText(WAIT).map((a) => a.tags)).toEqual(Array(4).fill(["scaletest", "runner", "phase", "phase-wait"]));
    expect(all.filter((a) => a.tags.includes("status")).map((a) => a.text)).toEqual(["Preparing", "Running", "Complete"]);
    expect(byText("Start scaletest: No comment provided")[0]!.tags).toEqual(["scaletest", "runner"]);
    expect(all.some((a) => a.tags.includes("error"))).toBe(false);
  });

  it("leaves nothing behind with strategy always", async () => {
    expect(await t.leftovers()).toEqual({ workspaces: 0, users: 0 });
  });

  it("answers the metadata items", async () => {
    expect((await t.script("metadata", ["status"])).stdout).toBe("Complete");
    expect((await t.script("metadata", ["phase"])).stdout).toBe("Cleanup (on_success) [done]");
    expect((await t.script("metadata", ["previous-phase"])).stdout).toBe(WAIT);
  });
});
