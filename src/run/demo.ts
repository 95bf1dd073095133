// The staged demo: the whole runner lifecycle (prepare, staged run, cleanup, summary) against a simulator, small and short.
import type { Simulator } from "../simulator/index.ts";
import { prepare, run } from "./lifecycle.ts";

/** Demo sizes; about two minutes with the defaults. */
export interface StagedDemoSettings {
  workspaces: number;
  /** Each scenario's duration (Go duration string). */
  scenarioDuration: string;
  baseline: string;
  runDir: string;
  ledgerDir: string;
  /** Path of the simulator's `coder` shim, for SSH Traffic. */
  coderBinary: string;
}

/** Runs prepare and the staged run in this process against `sim`; metrics on free loopback ports, printed at start. */
export async function runStagedDemo(sim: Simulator, s: StagedDemoSettings, io: { signal: AbortSignal; log: (l: string) => void; out: (t: string) => void }): Promise<number> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CODER_URL: sim.url,
    CODER_SESSION_TOKEN: sim.sessionToken,
    CODER_USER: sim.owner.username,
    CODER_WORKSPACE: "runner",
    CODER_BINARY: s.coderBinary,
    // The simulator's wildcard app host (*.apps.localhost:<port>) resolves to the simulator itself.
    CODER_SCALETEST_RESOLVE: `*.apps.localhost:${sim.port}:127.0.0.1`,
    SCALETEST_RUN_ID: `scaletest-demo-${new Date().toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-")}`,
    SCALETEST_RUN_DIR: s.runDir,
    SCALETEST_STATE_DIR: s.ledgerDir,
    SCALETEST_TRAFFIC_METRICS_PORT: "0",
    SCALETEST_DASHBOARD_METRICS_PORT: "0",
    SCALETEST_RUNNER_METRICS_PORT: "0",
    SCALETEST_PARAM_DRY_RUN: "0",
    SCALETEST_PARAM_COMMENT: "npm run demo against the built-in simulator",
    SCALETEST_PARAM_NUM_WORKSPACES: String(s.workspaces),
    SCALETEST_PARAM_CREATE_CONCURRENCY: String(s.workspaces),
    SCALETEST_PARAM_LOAD_SCENARIOS: JSON.stringify(["SSH Traffic", "Web Terminal Traffic", "App Traffic", "Dashboard Traffic"]),
    SCALETEST_PARAM_LOAD_SCENARIO_SSH_TRAFFIC_DURATION: s.scenarioDuration,
    SCALETEST_PARAM_LOAD_SCENARIO_WEB_TERMINAL_TRAFFIC_DURATION: s.scenarioDuration,
    SCALETEST_PARAM_LOAD_SCENARIO_APP_TRAFFIC_DURATION: s.scenarioDuration,
    SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_DURATION: s.scenarioDuration,
    SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_PERCENTAGE: "50",
    SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_INTERVAL: "2s",
    SCALETEST_PARAM_LOAD_SCENARIO_DASHBOARD_TRAFFIC_JITTER: "1s",
    SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: s.baseline,
    SCALETEST_PARAM_GREEDY_AGENT: "1",
    SCALETEST_PARAM_METRICS_LINGER: "0s",
    SCALETEST_PARAM_CLEANUP_STRATEGY: "always",
  };
  const opts = { signal: io.signal, log: io.log, out: io.out };
  const code = await prepare(env, opts);
  if (code !== 0) return code;
  return run(env, {
    ...opts,
    // The greedy workspace gets 16 KiB every 50 ms here (upstream sends 25 MiB every 40 ms to a real cluster).
    greedyTraffic: { bytesPerTick: 16 * 1024, tickIntervalMs: 50 },
    onMetrics: (m) => io.log(`metrics: runner ${m.urls.runner}/metrics, traffic ${m.urls.traffic}/metrics (serving while the run lasts)`),
  });
}
