// SIGTERM (workspace stop) in the middle of a scenario: traffic stops, results are written, cleanup runs, status Failed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readResults, stagedEnv, type StagedEnv } from "./staged-env.ts";

let t: StagedEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const SCENARIO = "Load scenario: Web Terminal Traffic";

async function startLongRun(strategy: string) {
  t = await stagedEnv({
    SCALETEST_PARAM_CLEANUP_STRATEGY: strategy,
    SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_DURATION: "10m",
    SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "0s",
  });
  expect((await t.script("prepare")).exitCode).toBe(0);
  const child = t.spawn("run");
  await t.phaseEvent((e) => e.kind === "START" && e.name === SCENARIO);
  // Then wait until the jobs are registered and connecting (the scenario logs it), so there is traffic to stop.
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes("[Web Terminal Traffic] Running load test: rpty traffic to 2 workspace(s)")) {
        child.stderr?.off("data", onData);
        resolve();
      }
    };
    child.stderr?.on("data", onData);
    child.once("exit", () => reject(new Error(`run exited before its traffic started: ${seen}`)));
  });
  return { s: t, child };
}

function expectStoppedAndCleaned(s: StagedEnv, event: string) {
  expect(s.status()).toBe("Failed (exit=143)");
  const lines = s.phaseLines();
  const start = lines.indexOf(`START:3: ${SCENARIO}`);
  expect(lines.slice(start)).toEqual([`START:3: ${SCENARIO}`, `END:3: ${SCENARIO}`, `START:4: Cleanup (${event})`, `END:4: Cleanup (${event})`]);
  // The scenario's results were written with every job stopped from outside.
  const r = readResults(join(s.env.SCALETEST_RUN_DIR!, "results", "traffic-web-terminal.json"));
  expect(r.total_runs).toBe(2);
  expect(r.total_fail).toBe(2);
  const phase = [...s.grafana.annotations.values()].find((a) => a.text === SCENARIO)!;
  expect(phase.tags).toContain("error");
  expect(phase.timeEnd).toBeGreaterThan(phase.time);
}

describe("SIGTERM during a scenario", () => {
  it("stops traffic, writes results, cleans up (always) and ends Failed", async () => {
    const { s, child } = await startLongRun("always");
    const t0 = Date.now();
    child.kill("SIGTERM");
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(143);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expectStoppedAndCleaned(s, "on_error");
    expect(await s.leftovers()).toEqual({ workspaces: 0, users: 0 });
    expect(String(r.stdout)).toContain("Scaletest scaletest-e2e: Failed (exit=143)");
    // report.html is written for a stopped run too, and names the phase the stop cut short.
    const html = readFileSync(join(s.env.SCALETEST_RUN_DIR!, "report.html"), "utf8");
    expect(html).toContain("<title>Scale test scaletest-e2e: Failed (exit=143)</title>");
    expect(html).toMatch(new RegExp(`STOP \\d+\\. ${SCENARIO}`));
    expect(html).toContain("STOP Web Terminal Traffic: canceled, 0/2 jobs passed");
    expect(html).toContain("SIGTERM: the runner is stopping");
  });

  it("shutdown stops a run in progress, which cleans up on stop (on_stop)", async () => {
    const { s, child } = await startLongRun("on_stop");
    const shutdown = await s.script("shutdown");
    expect(shutdown.exitCode, shutdown.stderr).toBe(0);
    expect(shutdown.stderr).toContain("stopping the run in progress");
    expect((await child).exitCode).toBe(143);
    expect(await s.leftovers()).toEqual({ workspaces: 0, users: 0 });
    expect(s.status()).toBe("Failed (exit=143)");
    // The run cleaned up; shutdown's own on_stop cleanup then found nothing left.
    expect(s.phaseLines().filter((l) => l.includes("Cleanup (on_"))).toEqual([
      "START:4: Cleanup (on_error)",
      "END:4: Cleanup (on_error)",
      "START:5: Cleanup (on_stop)",
      "END:5: Cleanup (on_stop)",
    ]);
  });
});
