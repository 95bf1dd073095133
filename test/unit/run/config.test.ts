// Runner config: the env table loads into typed values and bad input is reported by env var and template parameter.
import { describe, expect, it } from "vitest";
import { ConfigError, redact } from "../../../src/errors.ts";
import { loadRunnerConfig, runIdFromStartTime, scenarioLoad, validateRunnerConfig, defaultRunnerConfig } from "../../../src/run/config.ts";
import { DEFAULT_SCENARIOS as SCENARIO_NAMES } from "../../../src/scenarios/index.ts";

const now = new Date("2026-11-23T18:44:19.123Z");

function problemsOf(env: Record<string, string>) {
  try {
    loadRunnerConfig(env, { now, cwd: "/w" });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("loadRunnerConfig", () => {
  it("returns the documented defaults for an empty environment, with derived run id and dir", () => {
    const cfg = loadRunnerConfig({}, { now, cwd: "/w" });
    expect(cfg.dryRun).toBe(true);
    expect(cfg.numWorkspaces).toBe(100);
    expect(cfg.loadScenarios).toEqual([...SCENARIO_NAMES]);
    expect(cfg.sshDuration).toBe(30 * 60_000);
    expect(cfg.sshTickInterval).toBe(100);
    expect(cfg.cleanupStrategy).toBe("always");
    expect(cfg.runStartTime).toBe("2026-11-23T18:44:19Z");
    expect(cfg.runId).toBe("scaletest-2026-11-23T18-44-19Z");
    expect(cfg.runDir).toBe("/w/scaletest-runs/scaletest-2026-11-23T18-44-19Z");
  });

  it("parses every kind: ints, bools, enums, Go durations and JSON lists", () => {
    const cfg = loadRunnerConfig(
      {
        SCALETEST_PARAM_NUM_WORKSPACES: "40",
        SCALETEST_PARAM_DRY_RUN: "false",
        SCALETEST_PARAM_GREEDY_AGENT: "1",
        SCALETEST_PARAM_TEMPLATE: "kubernetes-minimal",
        SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_DURATION: "1h30m",
        SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_TICK_INTERVAL: "250ms",
        SCALETEST_PARAM_LOAD_SCENARIOS: '["App Traffic","SSH Traffic"]',
        SCALETEST_RUN_ID: "scaletest-x",
      },
      { now },
    );
    expect(cfg.numWorkspaces).toBe(40);
    expect(cfg.dryRun).toBe(false);
    expect(cfg.greedyAgent).toBe(true);
    expect(cfg.sshDuration).toBe(90 * 60_000);
    expect(cfg.appTickInterval).toBe(250);
    expect(cfg.loadScenarios).toEqual(["App Traffic", "SSH Traffic"]);
    expect(cfg.runId).toBe("scaletest-x");
    expect(scenarioLoad(cfg, "SSH Traffic")).toEqual({ durationMs: 90 * 60_000, percentage: 100, bytesPerTick: 1024, tickIntervalMs: 100 });
    expect(scenarioLoad(cfg, "Dashboard Traffic")).toEqual({ durationMs: 30 * 60_000, percentage: 100 });
  });

  it("reports every problem at once, naming the env var, the template parameter and the allowed range", () => {
    const problems = problemsOf({
      SCALETEST_PARAM_NUM_WORKSPACES: "0",
      SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_PERCENTAGE: "101",
      SCALETEST_PARAM_DRY_RUN: "maybe",
      SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_DURATION: "0s",
    });
    expect(problems.map((p) => p.path).sort()).toEqual([
      "SCALETEST_PARAM_DRY_RUN",
      "SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_PERCENTAGE",
      "SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_DURATION",
      "SCALETEST_PARAM_NUM_WORKSPACES",
    ]);
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    expect(byPath.SCALETEST_PARAM_NUM_WORKSPACES).toBe(
      'must be an integer from 1 to 2000 (template parameter "Number of workspaces to create"), got 0',
    );
    expect(byPath.SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_PERCENTAGE).toContain('"SSH Traffic Percentage"');
    expect(byPath.SCALETEST_PARAM_DRY_RUN).toBe('must be true or false (template parameter "Dry-run"), got "maybe"');
    expect(byPath.SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_DURATION).toBe(
      'must be a duration from 1s to 24h0m0s, or a number of minutes (the template parameter allows 1m0s and up) (template parameter "Web Terminal Traffic Duration"); the parameter is in minutes, got 0s',
    );
  });

  it("renders the ConfigError as 'validate <ENV>: ...' lines", () => {
    try {
      loadRunnerConfig({ SCALETEST_PARAM_CREATE_CONCURRENCY: "1000" }, { now });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe(
        'validate SCALETEST_PARAM_CREATE_CONCURRENCY: must be an integer from 1 to 100 (template parameter "Create concurrency"), got 1000',
      );
    }
  });

  it("names an unknown scenario and lists the allowed names", () => {
    const [p] = problemsOf({ SCALETEST_PARAM_LOAD_SCENARIOS: '["SSH Traffic","Chat Traffic"]' });
    expect(p?.path).toBe("SCALETEST_PARAM_LOAD_SCENARIOS");
    expect(p?.message).toBe(
      'unknown entry "Chat Traffic" (template parameter "Load Scenarios"): allowed entries are "SSH Traffic", "Web Terminal Traffic", "App Traffic", "Dashboard Traffic", "debug:success", "debug:error", "debug:greedy_agent_traffic"',
    );
  });

  it("rejects a scenario list that is not a JSON array of strings, and duplicates", () => {
    expect(problemsOf({ SCALETEST_PARAM_LOAD_SCENARIOS: "SSH Traffic" })[0]?.message).toMatch(/^must be a JSON array of at least 1 of "SSH Traffic"/);
    expect(problemsOf({ SCALETEST_PARAM_LOAD_SCENARIOS: '["SSH Traffic","SSH Traffic"]' })[0]?.message).toContain("listed twice");
  });

  it("rejects a malformed duration and an unknown enum value", () => {
    const problems = problemsOf({ SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "5 minutes", SCALETEST_PARAM_CLEANUP_STRATEGY: "never" });
    expect([...problems].sort((x, y) => x.path.localeCompare(y.path))).toEqual([
      {
        path: "SCALETEST_PARAM_CLEANUP_STRATEGY",
        message: 'must be one of "always", "on_stop", "on_success", "on_error" (template parameter "Cleanup strategy"), got "never"',
      },
      {
        path: "SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION",
        message: 'must be a duration from 0s to 1h0m0s, or a number of minutes (template parameter "Baseline Wait Duration"), got "5 minutes"',
      },
    ]);
  });

  it("never echoes a secret in a problem and registers it for redaction", () => {
    const problems = problemsOf({ SLACK_WEBHOOK_URL: "not-a-url-secret-value" });
    expect(problems[0]?.path).toBe("SLACK_WEBHOOK_URL");
    expect(problems[0]?.message).not.toContain("not-a-url-secret-value");
    expect(redact("posting to not-a-url-secret-value")).toBe("posting to [REDACTED]");
  });
});

describe("validateRunnerConfig cross-setting rules", () => {
  it("is clean for the defaults", () => {
    const cfg = { ...defaultRunnerConfig(), runId: "r", runDir: "/r", runStartTime: "2026-01-01T00:00:00Z" };
    expect(validateRunnerConfig(cfg)).toEqual([]);
  });

  it("requires the greedy template to differ from the workspace template when greedy is on", () => {
    const cfg = { ...defaultRunnerConfig(), greedyAgent: true, greedyAgentTemplate: "kubernetes-minimal" as const };
    const [p] = validateRunnerConfig(cfg);
    expect(p?.path).toBe("SCALETEST_PARAM_GREEDY_AGENT_TEMPLATE");
    expect(p?.message).toContain('template parameter "Greedy Agent Template"');
    expect(validateRunnerConfig({ ...cfg, greedyAgent: false })).toEqual([]);
  });

  it("requires kubernetes-minimal for App Traffic, the only variant with the wsec/wsra/wsdi apps", () => {
    const cfg = { ...defaultRunnerConfig(), workspaceTemplate: "kubernetes-large" as const };
    expect(validateRunnerConfig(cfg).map((p) => p.path)).toEqual(["SCALETEST_PARAM_TEMPLATE"]);
    expect(validateRunnerConfig({ ...cfg, loadScenarios: ["SSH Traffic"] })).toEqual([]);
  });

  it("requires dashboard jitter below the interval", () => {
    const cfg = { ...defaultRunnerConfig(), dashboardJitter: 10_000 };
    expect(validateRunnerConfig(cfg).map((p) => p.path)).toEqual(["SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_JITTER"]);
  });

  it("requires concurrent scenario percentages to fit the workspaces", () => {
    const cfg = { ...defaultRunnerConfig(), runConcurrently: true };
    const [p] = validateRunnerConfig(cfg);
    expect(p?.path).toBe("SCALETEST_PARAM_LOAD_SCENARIO_RUN_CONCURRENTLY");
    expect(p?.message).toContain("got 400 (SSH Traffic 100% + Web Terminal Traffic 100% + App Traffic 100% + Dashboard Traffic 100%");
    const fits = { ...cfg, sshPercentage: 25, webTerminalPercentage: 25, appPercentage: 25, dashboardPercentage: 25 };
    expect(validateRunnerConfig(fits)).toEqual([]);
  });

  it("requires every scenario to get at least one workspace", () => {
    const cfg = { ...defaultRunnerConfig(), numWorkspaces: 3, loadScenarios: ["SSH Traffic" as const], sshPercentage: 10 };
    const [p] = validateRunnerConfig(cfg);
    expect(p).toEqual({
      path: "SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_PERCENTAGE",
      message: 'gives "SSH Traffic" 0 of 3 workspaces; must be at least 34 (template parameter "SSH Traffic Percentage") so the scenario targets at least 1 workspace',
    });
    expect(validateRunnerConfig({ ...cfg, sshPercentage: 34 })).toEqual([]);
  });

  it("derives run ids the way upstream does", () => {
    expect(runIdFromStartTime("2024-09-18T11:47:53Z")).toBe("scaletest-2024-09-18T11-47-53Z");
  });
});
