// The debug rows: debug:success and debug:error run one job that passes or fails on purpose; debug:greedy_agent_traffic needs the greedy agent.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { scenarioDurations } from "../../../src/run/cli-run.ts";
import type { ScenarioContext } from "../../../src/scenarios/context.ts";
import { DEBUG_ERROR, DEBUG_GREEDY_AGENT_TRAFFIC, DEBUG_SUCCESS } from "../../../src/scenarios/debug/rows.ts";
import { runDebugJob, runGreedyOnly } from "../../../src/scenarios/debug/run.ts";
import { SCENARIOS } from "../../../src/scenarios/index.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "debug-scenario-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// What runDebugJob reads of the context: its name, duration, results path and signal.
function ctx(name: string, durationMs: number, signal = new AbortController().signal): ScenarioContext {
  return { name, load: { durationMs, percentage: 0 }, resultsPath: join(dir, `${name.replace(":", "-")}.json`), signal, log: () => {} } as unknown as ScenarioContext;
}

const facts = { workspaceTemplate: "kubernetes-minimal", workspaceTemplateSetting: "SCALETEST_PARAM_TEMPLATE", greedyAgentSetting: "SCALETEST_PARAM_GREEDY_AGENT" };

describe("debug scenarios", () => {
  it("debug:success: one job that waits the duration, then passes; results JSON written", async () => {
    const c = ctx("debug:success", 30);
    const t0 = Date.now();
    const out = await runDebugJob(c, true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    expect(out.outcome).toBe("passed");
    expect(out.error).toBeUndefined();
    expect(out.results).toMatchObject({ total_runs: 1, total_pass: 1, total_fail: 0 });
    const written = JSON.parse(readFileSync(c.resultsPath, "utf8")) as { total_pass: number; runs: Record<string, { logs: string }> };
    expect(written.total_pass).toBe(1);
    expect(written.runs["debug:success/0"]!.logs).toContain("waiting 30ms");
  });

  it("debug:error: the job fails on purpose, named in the results and the error", async () => {
    const c = ctx("debug:error", 10);
    const out = await runDebugJob(c, false);
    expect(out.outcome).toBe("failed");
    expect(out.error).toBe("1 of 1 jobs did not pass");
    expect(out.results).toMatchObject({ total_runs: 1, total_pass: 0, total_fail: 1 });
    const written = JSON.parse(readFileSync(c.resultsPath, "utf8")) as { runs: Record<string, { error: string }> };
    expect(written.runs["debug:error/0"]!.error).toContain("debug:error: failed on purpose");
  });

  it("stops at once when its signal aborts: canceled, not passed", async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const pending = runDebugJob(ctx("debug:success", 60_000, ac.signal), true);
    ac.abort();
    const out = await pending;
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(out.outcome).toBe("canceled");
    expect(out.results).toMatchObject({ total_runs: 1, total_pass: 0 });
  });

  it("debug:greedy_agent_traffic is refused without the greedy agent, naming its setting, and fails if run without one", async () => {
    expect(DEBUG_GREEDY_AGENT_TRAFFIC.validate!({ debugDuration: 1000 }, { ...facts, greedyAgent: false })).toEqual([
      { path: "SCALETEST_PARAM_GREEDY_AGENT", message: expect.stringContaining('"debug:greedy_agent_traffic" is selected') },
    ]);
    expect(DEBUG_GREEDY_AGENT_TRAFFIC.validate!({ debugDuration: 1000 }, { ...facts, greedyAgent: true })).toEqual([]);
    const out = await runGreedyOnly(ctx("debug:greedy_agent_traffic", 10));
    expect(out).toEqual({ outcome: "failed", error: expect.stringContaining("needs the greedy agent") });
  });

  it("share one duration setting, which a scenario-wide duration (DEMO_SCENARIO_DURATION) sets too", () => {
    const env = DEBUG_SUCCESS.settings.debugDuration.env;
    expect([DEBUG_ERROR, DEBUG_GREEDY_AGENT_TRAFFIC].map((r) => r.settings[r.durationField].env)).toEqual([env, env]);
    const durations = scenarioDurations("7s");
    expect(durations[env]).toBe("7s");
    // One entry per distinct duration setting of the table, every row's included.
    const all = new Set(Object.values(SCENARIOS).map((r) => (r.settings[r.durationField] as { env: string }).env));
    expect(Object.keys(durations).sort()).toEqual([...all].sort());
    expect(all.size).toBe(5);
  });
});
