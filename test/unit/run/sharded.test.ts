// Runner shards > 1: what the config refuses before anything is created, and each row's phase as a shard command.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.ts";
import { loadRunnerConfig, scenarioLoad, scenarioValues } from "../../../src/run/config.ts";
import { runsSharded } from "../../../src/run/sharded.ts";
import type { ScenarioContext } from "../../../src/scenarios/context.ts";
import { SCENARIOS, type ScenarioName } from "../../../src/scenarios/index.ts";

const now = new Date("2026-12-07T08:00:00Z");

function problems(env: Record<string, string>): { path: string; message: string }[] {
  try {
    loadRunnerConfig(env, { now, cwd: "/w" });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe("Runner shards > 1 in the config", () => {
  it("needs the shard secret, naming the setting and the parameter", () => {
    expect(problems({ SCALETEST_PARAM_RUNNER_SHARDS: "3" })).toEqual([
      { path: "SCALETEST_SHARD_SECRET", message: 'must name the Kubernetes secret (key `token`) the shard pods read the Coder token from when SCALETEST_PARAM_RUNNER_SHARDS (template parameter "Runner shards") is 3' },
    ]);
    expect(problems({ SCALETEST_PARAM_RUNNER_SHARDS: "3", SCALETEST_SHARD_SECRET: "runner-shard-token" })).toEqual([]);
    expect(problems({ SCALETEST_PARAM_RUNNER_SHARDS: "1" })).toEqual([]);
  });

  it("refuses what could reach the pods only through the Job spec: a header command (a URL with credentials is refused anyway)", () => {
    const base = { SCALETEST_PARAM_RUNNER_SHARDS: "2", SCALETEST_SHARD_SECRET: "s" };
    expect(problems({ ...base, CODER_HEADER_COMMAND: "printf X-Auth=1" }).map((p) => p.path)).toEqual(["CODER_HEADER_COMMAND"]);
    const withCreds = problems({ ...base, CODER_URL: "https://user:hunter2@coder.example.com" });
    expect(withCreds.map((p) => p.path)).toEqual(["CODER_URL"]);
    expect(JSON.stringify(withCreds)).not.toContain("hunter2");
  });

  it("refuses a shared-start lead out of range", () => {
    expect(problems({ SCALETEST_SHARD_START_LEAD: "10h" }).map((p) => p.path)).toEqual(["SCALETEST_SHARD_START_LEAD"]);
  });
});

describe("each traffic row as a shard command", () => {
  const cfg = loadRunnerConfig(
    {
      SCALETEST_PARAM_RUNNER_SHARDS: "3",
      SCALETEST_SHARD_SECRET: "s",
      SCALETEST_PARAM_SCALETEST_CONCURRENCY: "50",
      SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_DURATION: "10m",
      SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_MODE: "wsra",
    },
    { now, cwd: "/w" },
  );
  const ctx = (name: ScenarioName): ScenarioContext => {
    const row = SCENARIOS[name];
    return { name, settings: scenarioValues(cfg, row), load: scenarioLoad(cfg, name), jobConcurrency: cfg.jobConcurrency, slice: { start: 0, end: 40, count: 40, target: "0:40" }, template: "kubernetes-minimal" } as unknown as ScenarioContext;
  };

  it("Web Terminal: the same slice, rate, duration and job slack as the in-process run", () => {
    expect(SCENARIOS["Web Terminal Traffic"].shardCommand!(ctx("Web Terminal Traffic"))).toEqual({
      args: ["workspace-traffic", "--template", "kubernetes-minimal", "--target-workspaces", "0:40", "--bytes-per-tick", "1024", "--tick-interval", "100ms", "--timeout", "10m0s", "--job-timeout", "10m30s", "--concurrency", "50"],
      workMs: 630_000,
      prelude: undefined,
    });
  });

  it("SSH fetches the deployment's coder CLI first and points --coder-binary at it; App passes its mode", () => {
    const ssh = SCENARIOS["SSH Traffic"].shardCommand!(ctx("SSH Traffic"));
    expect(ssh.args.slice(-3)).toEqual(["--ssh", "--coder-binary", "/tmp/coder"]);
    expect(ssh.prelude).toContain('curl -fsSL --retry 5 -o /tmp/coder "${CODER_URL%/}/bin/coder-linux-$arch"');
    expect(SCENARIOS["App Traffic"].shardCommand!(ctx("App Traffic")).args.slice(-2)).toEqual(["--app", "wsra"]);
  });

  it("Dashboard: every user at once for the duration", () => {
    const d = SCENARIOS["Dashboard Traffic"].shardCommand!(ctx("Dashboard Traffic"));
    expect(d.args.slice(0, 3)).toEqual(["dashboard", "--target-users", "0:40"]);
    expect(d.args).toEqual(expect.arrayContaining(["--concurrency", "0", "--timeout", "30m0s"]));
  });

  it("debug rows have no shard command and stay in-process; 1 shard keeps everything in-process", () => {
    expect(runsSharded(cfg, SCENARIOS["debug:success"])).toBe(false);
    expect(runsSharded(cfg, SCENARIOS["App Traffic"])).toBe(true);
    expect(runsSharded({ runnerShards: 1 }, SCENARIOS["App Traffic"])).toBe(false);
  });
});
