// Dry-run (the template's default) sends no mutating request; invalid settings stop before anything is created.
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { stagedEnv, type StagedEnv } from "./staged-env.ts";

let t: StagedEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("dry-run", () => {
  it("prints the plan, checks with GETs only, and changes nothing", async () => {
    t = await stagedEnv({
      SCALETEST_PARAM_DRY_RUN: undefined, // unset: the default is a dry-run
      SCALETEST_PARAM_NUM_WORKSPACES: "10",
      SCALETEST_PARAM_LOAD_SCENARIOS: '["SSH Traffic","App Traffic"]',
      SCALETEST_PARAM_LOAD_SCENARIO_RUN_CONCURRENTLY: "1",
      SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_PERCENTAGE: "60",
      SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_PERCENTAGE: "40",
      SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_DURATION: "10m",
      SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_DURATION: "5m",
      SCALETEST_PARAM_LOAD_SCENARIO_CONCURRENCY_STAGGER_DELAY: "1m",
      SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "5m",
    });
    const outs = [];
    for (const [name, args] of [["prepare", []], ["run", []], ["cleanup", ["manual", "--yes"]], ["report", ["completed"]], ["shutdown", []]] as const) {
      const r = await t.script(name, [...args]);
      expect(r.exitCode, `${name}: ${r.stderr}`).toBe(0);
      outs.push(r.stdout + r.stderr);
    }
    // prepare compares the templates with the bundled variants (the built-in ones keep no archive, so they differ).
    expect(outs[0]).toContain("DRYRUN: template kubernetes-minimal: would push a new version (README.md, main.tf, ws-apps.pl)");
    const plan = outs[1]!;
    expect(plan).toContain("Plan for scaletest-e2e (DRY-RUN: nothing will be created, changed or deleted)");
    expect(plan).toContain("3. Load scenarios: SSH Traffic, App Traffic: T+5m, for 10m");
    expect(plan).toContain("SSH Traffic: T+5m for 10m, workspaces 0:6 (6), 6 connection(s), 60.0 KiB/s written");
    expect(plan).toContain("App Traffic: T+6m for 5m, workspaces 6:10 (4), 4 connection(s), 40.0 KiB/s written");
    expect(plan).toContain("Dry-run: template kubernetes-minimal found");
    expect(plan).toContain("Dry-run: OK, nothing was changed.");
    expect(t.mutatingRequests()).toEqual([]);
    expect(t.grafana.requests).toEqual([]);
    expect(t.status()).toBe("Complete (dry-run)");
  });

  it("says so when the deployment is unreachable, and still prints the plan", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    t = await stagedEnv({ SCALETEST_PARAM_DRY_RUN: "1", CODER_URL: `http://127.0.0.1:${port}` });
    const r = await t.script("run");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("Plan for scaletest-e2e");
    expect(r.stdout).toMatch(/cannot reach the deployment: ECONNREFUSED.*; the plan is not checked against the deployment/);
  });

  it("exits 2 naming CODER_SESSION_TOKEN when a deployment is given without a token", async () => {
    t = await stagedEnv({ SCALETEST_PARAM_DRY_RUN: "1", CODER_SESSION_TOKEN: "" });
    const r = await t.script("run");
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain("CODER_SESSION_TOKEN");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(t.mutatingRequests()).toEqual([]);
  });
});

describe("invalid settings stop before anything is created", () => {
  it.each([
    ["a percentage of 0", { SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_PERCENTAGE: "0" }, "SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_PERCENTAGE", /from 1 to 100/],
    ["a percentage of 150", { SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_PERCENTAGE: "150" }, "SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_PERCENTAGE", /got 150/],
    ["an unknown scenario", { SCALETEST_PARAM_LOAD_SCENARIOS: '["SSH Traffic","Disk Traffic"]' }, "SCALETEST_PARAM_LOAD_SCENARIOS", /unknown entry "Disk Traffic"/],
    [
      "concurrent slices that do not fit",
      {
        SCALETEST_PARAM_LOAD_SCENARIO_RUN_CONCURRENTLY: "1",
        SCALETEST_PARAM_LOAD_SCENARIOS: '["SSH Traffic","Web Terminal Traffic"]',
        SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_PERCENTAGE: "60",
        SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_PERCENTAGE: "60",
      },
      "SCALETEST_PARAM_LOAD_SCENARIO_RUN_CONCURRENTLY",
      /must add up to at most 100, got 120/,
    ],
  ] as const)("%s", async (_what, params, envName, message) => {
    t = await stagedEnv({ ...params, SCALETEST_PARAM_DRY_RUN: "0" });
    for (const name of ["prepare", "run"]) {
      const r = await t.script(name);
      expect(r.exitCode, name).toBe(2);
      expect(r.stderr).toContain(`validate ${envName}:`);
      expect(r.stderr).toMatch(message);
    }
    expect(t.sim.requests).toEqual([]);
    expect(existsSync(t.stateDir)).toBe(false);
  });

  it("refuses a manual cleanup without a terminal or --yes", async () => {
    t = await stagedEnv();
    const r = await t.script("cleanup", ["manual"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("refusing without confirmation");
    expect(t.sim.requests).toEqual([]);
  });
});
