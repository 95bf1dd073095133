// An operator moving from upstream's runner template keeps its env: the complete block it sets gives the plan our template's defaults give.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadRunnerConfig } from "../../../src/run/config.ts";
import { planRun, renderPlan } from "../../../src/run/plan.ts";
import { readTemplate } from "../../../tools/template/model.ts";

const START = "2024-09-18T11:47:53Z";
const RUN_ID = "scaletest-2024-09-18T11-47-53Z";

/** Every env var upstream's scaletest-runner main.tf sets on its agent and container, at its parameter defaults. */
const UPSTREAM_ENV: Record<string, string> = {
  VERBOSE: "0",
  DRY_RUN: "1",
  CODER_CONFIG_DIR: "/home/coder/.config/coderv2",
  CODER_USER_TOKEN: "upstream-session-token-value",
  CODER_URL: "https://coder.example.com",
  CODER_USER: "admin",
  CODER_WORKSPACE: "scaletest-runner",
  CODER_SCALETEST_PROMETHEUS_ADDRESS: "0.0.0.0:21112",
  CODER_SCALETEST_PROMETHEUS_WAIT: "60s",
  CODER_SCALETEST_CONCURRENCY: "0",
  CODER_SCALETEST_CLEANUP_CONCURRENCY: "10",
  SCALETEST_PARAM_SCALETEST_CONCURRENCY: "0",
  SCALETEST_PARAM_SCALETEST_CLEANUP_CONCURRENCY: "10",
  SCALETEST_RUN_ID: RUN_ID,
  SCALETEST_RUN_DIR: `/home/coder/${RUN_ID}`,
  SCALETEST_RUN_START_TIME: START,
  SCALETEST_PROMETHEUS_START_PORT: "21112",
  SCALETEST_COMMENT: "No comment provided",
  SCALETEST_PARAM_TEMPLATE: "kubernetes-minimal",
  SCALETEST_PARAM_REPO_BRANCH: "main",
  SCALETEST_PARAM_NUM_WORKSPACES: "100",
  SCALETEST_PARAM_SKIP_CREATE_WORKSPACES: "0",
  SCALETEST_PARAM_CREATE_CONCURRENCY: "10",
  SCALETEST_PARAM_CLEANUP_STRATEGY: "always",
  SCALETEST_PARAM_CLEANUP_PREPARE: "1",
  SCALETEST_PARAM_LOAD_SCENARIOS: '["SSH Traffic","Web Terminal Traffic","App Traffic","Dashboard Traffic"]',
  SCALETEST_PARAM_LOAD_SCENARIO_RUN_CONCURRENTLY: "0",
  SCALETEST_PARAM_LOAD_SCENARIO_CONCURRENCY_STAGGER_DELAY_MINS: "3",
  SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_DURATION: "30",
  SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_BYTES_PER_TICK: "1024",
  SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_TICK_INTERVAL: "100",
  SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_PERCENTAGE: "100",
  SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_DURATION: "30",
  SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_BYTES_PER_TICK: "1024",
  SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_TICK_INTERVAL: "100",
  SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_PERCENTAGE: "100",
  SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_DURATION: "30",
  SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_BYTES_PER_TICK: "1024",
  SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_TICK_INTERVAL: "100",
  SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_PERCENTAGE: "100",
  SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_MODE: "wsec",
  SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_DURATION: "30",
  SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_PERCENTAGE: "100",
  SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "5",
  SCALETEST_PARAM_GREEDY_AGENT: "0",
  SCALETEST_PARAM_GREEDY_AGENT_TEMPLATE: "kubernetes-medium-greedy",
  GRAFANA_URL: "https://grafana.corp.tld",
  SCRIPTS_ZIP: "UEsDBAo=",
  SCRIPTS_DIR: "/tmp/scripts",
  CODER_AGENT_TOKEN: "agent-token-value",
  CODER_AGENT_LOG_DIR: `/home/coder/${RUN_ID}/logs`,
  GRAFANA_API_TOKEN: "grafana-token-value",
  SLACK_WEBHOOK_URL: "https://hooks.slack.example/services/T/B/x",
};

/** What our main.tf sets for each parameter at its default (the number plus the unit suffix it appends), and the same context. */
async function ourTemplateEnv(): Promise<Record<string, string>> {
  const model = await readTemplate(fileURLToPath(new URL("../../../template/main.tf", import.meta.url)));
  const env: Record<string, string> = {};
  for (const e of model.env) {
    if (!e.parameter) continue;
    const p = model.parameters.find((x) => x.label === e.parameter!.label)!;
    env[e.name] = `${p.default ?? ""}${e.parameter.suffix}`;
  }
  return {
    ...env,
    CODER_URL: UPSTREAM_ENV.CODER_URL!,
    CODER_SESSION_TOKEN: UPSTREAM_ENV.CODER_USER_TOKEN!,
    CODER_USER: UPSTREAM_ENV.CODER_USER!,
    CODER_WORKSPACE: UPSTREAM_ENV.CODER_WORKSPACE!,
    SCALETEST_RUN_ID: RUN_ID,
    SCALETEST_RUN_DIR: UPSTREAM_ENV.SCALETEST_RUN_DIR!,
    SCALETEST_RUN_START_TIME: START,
    SCALETEST_PARAM_COMMENT: UPSTREAM_ENV.SCALETEST_COMMENT!,
    SCALETEST_PARAM_GRAFANA_URL: UPSTREAM_ENV.GRAFANA_URL!,
    SCALETEST_PARAM_METRICS_LINGER: "60s",
  };
}

describe("upstream's runner env", () => {
  it("is accepted as upstream writes it: bare minutes, millisecond ticks, 1/0 booleans, its own names", () => {
    const cfg = loadRunnerConfig(UPSTREAM_ENV);
    expect(cfg.sshDuration).toBe(30 * 60_000);
    expect(cfg.webTerminalTickInterval).toBe(100);
    expect(cfg.baselineDuration).toBe(5 * 60_000);
    expect(cfg.staggerDelay).toBe(3 * 60_000);
    expect(cfg.dryRun).toBe(true);
    expect(cfg.verbose).toBe(false);
    expect(cfg.comment).toBe("No comment provided");
    expect(cfg.sessionToken).toBe("upstream-session-token-value");
    expect(cfg.grafanaUrl).toBe("https://grafana.corp.tld");
    expect(cfg.metricsLinger).toBe(60_000);
  });

  it("gives the same plan as our template at its defaults", async () => {
    const ours = loadRunnerConfig(await ourTemplateEnv());
    const theirs = loadRunnerConfig(UPSTREAM_ENV);
    expect(planRun(theirs)).toEqual(planRun(ours));
    expect(renderPlan(planRun(theirs))).toBe(renderPlan(planRun(ours)));
  });

  it("our own name wins where both are set", () => {
    const cfg = loadRunnerConfig({ ...UPSTREAM_ENV, SCALETEST_PARAM_COMMENT: "ours", SCALETEST_PARAM_DRY_RUN: "false" });
    expect(cfg.comment).toBe("ours");
    expect(cfg.dryRun).toBe(false);
  });
});
