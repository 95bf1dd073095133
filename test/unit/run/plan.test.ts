import { describe, expect, it } from "vitest";
import { loadRunnerConfig } from "../../../src/run/config.ts";
import { planRun, renderPlan, shortDuration, waitPhaseName } from "../../../src/run/plan.ts";
import { dryRun } from "../../../src/run/dry-run.ts";
import { shardLoadProblems } from "../../../src/run/shard-plan.ts";
import { ConfigError, type ConfigProblem } from "../../../src/errors.ts";
import { BYTES_PER_SECOND_PER_WORKER, CONNECTIONS_PER_WORKER, runnerCapacity } from "../../../src/traffic/capacity.ts";

const env = (extra: Record<string, string> = {}) =>
  loadRunnerConfig(
    {
      SCALETEST_RUN_ID: "scaletest-test",
      SCALETEST_RUN_DIR: "/tmp/x",
      SCALETEST_PARAM_NUM_WORKSPACES: "10",
      SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "5m",
      ...extra,
    },
    { now: new Date(0) },
  );

describe("shortDuration", () => {
  it.each([
    [0, "0s"],
    [30_000, "30s"],
    [300_000, "5m"],
    [90_000, "1m30s"],
    [3_600_000, "1h"],
    [5_400_000, "1h30m"],
    [500, "500ms"],
  ])("%d ms → %s", (ms, text) => expect(shortDuration(ms)).toBe(text));
});

describe("planRun", () => {
  it("plans create → baseline → one phase per scenario with a baseline after each (sequential)", () => {
    const plan = planRun(env({ SCALETEST_PARAM_LOAD_SCENARIOS: '["SSH Traffic","Web Terminal Traffic"]', SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_DURATION: "10m" }));
    expect(plan.mode).toBe("sequential");
    expect(plan.phases.map((p) => [p.name, p.offsetMs, p.durationMs])).toEqual([
      ["Creating workspaces", undefined, undefined],
      [waitPhaseName(300_000), 0, 300_000],
      ["Load scenario: SSH Traffic", 300_000, 600_000],
      [waitPhaseName(300_000), 900_000, 300_000],
      ["Load scenario: Web Terminal Traffic", 1_200_000, 1_800_000],
      [waitPhaseName(300_000), 3_000_000, 300_000],
    ]);
    const ssh = plan.phases[2]!.scenarios[0]!;
    // Sequential scenarios each take their own percentage from 0, wrapping as upstream.
    expect([ssh.range, ssh.count, ssh.connections]).toEqual(["0:10", 10, 10]);
    expect(ssh.bytesPerSecond).toBe(10 * 1024 * 10);
    expect(ssh.metricsPort).toBe(21112);
    expect(ssh.resultsFile).toBe("traffic-ssh.json");
    expect(plan.afterCreateMs).toBe(3_300_000);
  });

  it("plans one concurrent phase with disjoint slices and staggered starts", () => {
    const plan = planRun(
      env({
        SCALETEST_PARAM_LOAD_SCENARIO_RUN_CONCURRENTLY: "1",
        SCALETEST_PARAM_LOAD_SCENARIOS: '["SSH Traffic","App Traffic","Dashboard Traffic"]',
        SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_PERCENTAGE: "50",
        SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_PERCENTAGE: "30",
        SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_PERCENTAGE: "20",
        SCALETEST_PARAM_LOAD_SCENARIO_CONCURRENCY_STAGGER_DELAY: "1m",
      }),
    );
    const load = plan.phases.filter((p) => p.kind === "load");
    expect(load).toHaveLength(1);
    expect(load[0]!.name).toBe("Load scenarios: SSH Traffic, App Traffic, Dashboard Traffic");
    expect(load[0]!.scenarios.map((s) => [s.name, s.range, s.offsetMs, s.metricsPort])).toEqual([
      ["SSH Traffic", "0:5", 300_000, 21112],
      ["App Traffic", "5:8", 360_000, 21112],
      ["Dashboard Traffic", "8:10", 420_000, 21113],
    ]);
    // The phase lasts until the last staggered scenario ends.
    expect(load[0]!.durationMs).toBe(120_000 + 1_800_000);
    expect(load[0]!.scenarios[2]!.targets).toBe("users");
    expect(load[0]!.scenarios[2]!.bytesPerSecond).toBeUndefined();
  });

  it("adds the greedy workspace and a greedy window in the middle third of traffic scenarios", () => {
    const plan = planRun(
      env({
        SCALETEST_PARAM_GREEDY_AGENT: "1",
        SCALETEST_PARAM_LOAD_SCENARIOS: '["SSH Traffic","Dashboard Traffic"]',
        SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_DURATION: "30m",
      }),
    );
    expect(plan.phases.map((p) => p.name).slice(0, 4)).toEqual([
      "Creating workspaces",
      waitPhaseName(300_000),
      "Creating greedy agent",
      waitPhaseName(300_000),
    ]);
    const ssh = plan.phases.find((p) => p.name === "Load scenario: SSH Traffic")!.scenarios[0]!;
    expect(ssh.greedy).toEqual({ offsetMs: 600_000 + 600_000, durationMs: 600_000, bytesPerSecond: 25 * 1024 * 1024 * 25, mode: "ssh" });
    expect(plan.phases.find((p) => p.name === "Load scenario: Dashboard Traffic")!.scenarios[0]!.greedy).toBeUndefined();
  });

  it("skips creation and zero-length baselines when asked", () => {
    const plan = planRun(env({ SCALETEST_PARAM_SKIP_CREATE_WORKSPACES: "1", SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "0s", SCALETEST_PARAM_LOAD_SCENARIOS: '["App Traffic"]' }));
    expect(plan.phases.map((p) => p.name)).toEqual(["Load scenario: App Traffic"]);
  });

  it("renders the plan readably", () => {
    const text = renderPlan(planRun(env({ SCALETEST_PARAM_LOAD_SCENARIOS: '["SSH Traffic"]', SCALETEST_PARAM_CLEANUP_STRATEGY: "on_error" })));
    expect(text).toContain("Plan for scaletest-test (DRY-RUN: nothing will be created, changed or deleted)");
    expect(text).toContain("Deployment: the built-in Coder simulator");
    expect(text).toContain("create 10 users and 10 workspaces from kubernetes-minimal, 10 at a time");
    expect(text).toContain("3. Load scenario: SSH Traffic: T+5m, for 30m");
    expect(text).toContain("SSH Traffic: workspaces 0:10 (10), 10 connection(s), 100.0 KiB/s written; metrics :21112; results traffic-ssh.json");
    expect(text).toContain("Cleanup (strategy on_error): delete this run's workspaces, then its users, when the run fails");
    expect(text).toContain("Metrics: runner :21114, traffic :21112, dashboard :21113");
  });
});

describe("the greedy agent in the plan", () => {
  it("shows the rate the run will use: upstream's 625 MiB/s by default, the simulator run's 320 KiB/s there", async () => {
    const { SIMULATOR_RUN_DEFAULTS } = await import("../../../src/run/cli-run.ts");
    const upstream = planRun(env({ SCALETEST_PARAM_GREEDY_AGENT: "1", SCALETEST_PARAM_LOAD_SCENARIOS: '["SSH Traffic"]' }));
    expect(upstream.phases.flatMap((p) => p.scenarios).find((s) => s.greedy)?.greedy?.bytesPerSecond).toBe((25 * 1024 * 1024 * 1000) / 40);
    const sim = planRun(env({ ...SIMULATOR_RUN_DEFAULTS, SCALETEST_PARAM_LOAD_SCENARIOS: '["SSH Traffic"]' }));
    const g = sim.phases.flatMap((p) => p.scenarios).find((s) => s.greedy)?.greedy;
    expect(g?.bytesPerSecond).toBe(320 * 1024);
    expect(renderPlan(sim)).toContain("greedy agent (ssh): T+");
    expect(renderPlan(sim)).toContain("320.0 KiB/s written");
  });
});

describe("the sharded plan (Runner shards > 1)", () => {
  const cap = runnerCapacity(1);
  const problemsOf = (extra: Record<string, string>): ConfigProblem[] => {
    try {
      env(extra);
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };
  const webTerminal = (n: number, shards: number, bytesPerTick = 1024) => ({
    SCALETEST_PARAM_NUM_WORKSPACES: String(n),
    SCALETEST_PARAM_RUNNER_SHARDS: String(shards),
    // What the template sets beside the parameter: the secret the shard pods read their token from.
    SCALETEST_SHARD_SECRET: "runner-shard-token",
    SCALETEST_PARAM_LOAD_SCENARIOS: '["Web Terminal Traffic","Dashboard Traffic"]',
    SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_PERCENTAGE: "10",
    SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_BYTES_PER_TICK: String(bytesPerTick),
  });

  it("keeps the single-pod plan as it was: no shard figures, no shard lines", () => {
    const plan = planRun(env(webTerminal(300, 1)));
    expect(plan.shards).toBe(1);
    expect(plan.phases.flatMap((p) => p.scenarios).map((s) => s.perShard)).toEqual([undefined, undefined]);
    expect(renderPlan(plan)).not.toMatch(/shard/i);
  });

  it("shows shards, connections and bytes/s per shard for each traffic phase", () => {
    const plan = planRun(env(webTerminal(300, 4)));
    const [wt, db] = plan.phases.flatMap((p) => p.scenarios);
    // 300 connections over 4 shards: an even split gives at most 75 each, at 10 KiB/s per connection.
    expect(wt!.perShard).toEqual({ shards: 4, connections: 75, bytesPerSecond: 75 * 10 * 1024 });
    expect(db!.perShard).toEqual({ shards: 4, connections: 8, bytesPerSecond: undefined });
    const text = renderPlan(plan);
    expect(text).toContain("  Runner shards: each traffic phase runs as 4 shard pods, targets split by workspace ID (user ID for dashboard)");
    expect(text).toContain("           4 shards: up to 75 connection(s) and 750.0 KiB/s written per shard (one runner process sustains 1000 and 9.8 MiB/s)");
    expect(text).toContain("           4 shards: up to 8 browser session(s) per shard");
  });

  it("takes the limit from the one capacity figure (the bench row): exactly at it is fine", () => {
    expect(cap).toEqual({ connections: CONNECTIONS_PER_WORKER, bytesPerSecond: BYTES_PER_SECOND_PER_WORKER });
    expect(runnerCapacity(3)).toEqual({ connections: 3000, bytesPerSecond: 30_720_000 });
    // 2000 × 1 KiB / 100 ms over 2 shards: 1000 connections and 10,240,000 B/s each, the bench figure itself.
    expect(problemsOf(webTerminal(2000, 2))).toEqual([]);
    expect(shardLoadProblems(env(webTerminal(2000, 2)), 1)).toEqual([]);
  });

  it("refuses (exit 2) a per-shard load above it, naming Runner shards, the scenario, the limit and the count that fits", () => {
    expect(problemsOf(webTerminal(2000, 2, 4096))).toEqual([
      {
        path: "SCALETEST_PARAM_RUNNER_SHARDS",
        message:
          '2 shards leave "Web Terminal Traffic" 1000 connections and 39.1 MiB/s written per shard; one runner process sustains 1000 connections and 9.8 MiB/s ' +
          '(npm run bench, 1 worker thread); use at least 8 (template parameter "Runner shards")',
      },
    ]);
    // Too many connections at a light rate: the connection count decides (2400 × 1 KiB / 1 s over 2 shards; the
    // workspace count is past its setting's range of 2000, which the 1000-connection limit never meets otherwise).
    const light = shardLoadProblems({ ...env(webTerminal(2000, 2)), numWorkspaces: 2400, webTerminalTickInterval: 1000 });
    expect(light.map((p) => p.message)).toEqual([expect.stringMatching(/^2 shards leave "Web Terminal Traffic" 1200 connections and 1\.2 MiB\/s written per shard; .*; use at least 3 /)]);
    // More worker threads per shard raise the limit: 4 threads carry 4 × the bench figure.
    const heavy = { ...env(webTerminal(2000, 1, 4096)), runnerShards: 2 };
    expect(shardLoadProblems(heavy, 4)).toEqual([]);
    expect(shardLoadProblems(heavy, 3).map((p) => p.message)).toEqual([expect.stringMatching(/sustains 3000 connections and 29\.3 MiB\/s \(npm run bench, 3 worker threads\); use at least 3 /)]);
  });

  it("says when no shard count within the setting's range fits, or when one connection alone is too much", () => {
    const huge = problemsOf({ ...webTerminal(2000, 50), SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_BYTES_PER_TICK: "524288" });
    expect(huge).toHaveLength(1);
    expect(huge[0]!.message).toMatch(/^50 shards leave "Web Terminal Traffic" 40 connections and 200\.0 MiB\/s written per shard; .*; it needs 2000, more than the 100 allowed: lower the scenario's percentage or its bytes per tick \(template parameter "Runner shards"\)$/);
    const single = problemsOf({ ...webTerminal(100, 100), SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_BYTES_PER_TICK: "33554432", SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_TICK_INTERVAL: "100ms" });
    expect(single[0]!.message).toMatch(/one connection alone writes 320\.0 MiB\/s: lower the scenario's bytes per tick or raise its tick interval/);
  });

  it("never refuses browser sessions: the bench measured byte streams", () => {
    expect(problemsOf({ ...webTerminal(2000, 2), SCALETEST_PARAM_LOAD_SCENARIOS: '["Dashboard Traffic"]', SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_PERCENTAGE: "100" })).toEqual([]);
  });

  it("prints the shard lines in the dry-run", async () => {
    const lines: string[] = [];
    const report = await dryRun(env(webTerminal(300, 4)), undefined, { log: (l) => lines.push(l) });
    expect(report.plan.shards).toBe(4);
    expect(lines.join("\n")).toContain("4 shards: up to 75 connection(s) and 750.0 KiB/s written per shard");
  });
});
