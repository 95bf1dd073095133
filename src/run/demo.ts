// The staged demo: the whole runner lifecycle (prepare, staged run, cleanup, summary) against a simulator, small and short, as `scaletest run` without a deployment.
import type { Simulator } from "../simulator/index.ts";
import { runStagedTest, scenarioDurations, simulatorConnectEnv, SIMULATOR_RUN_DEFAULTS } from "./cli-run.ts";

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

/** Runs the staged test in this process against `sim` (the path `scaletest run` takes); metrics on free loopback ports, printed at start. */
export async function runStagedDemo(sim: Simulator, s: StagedDemoSettings, io: { signal: AbortSignal; log: (l: string) => void; out: (t: string) => void }): Promise<number> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...SIMULATOR_RUN_DEFAULTS,
    ...simulatorConnectEnv(sim),
    CODER_WORKSPACE: "runner",
    CODER_BINARY: s.coderBinary,
    SCALETEST_RUN_ID: `scaletest-demo-${new Date().toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-")}`,
    SCALETEST_RUN_DIR: s.runDir,
    SCALETEST_STATE_DIR: s.ledgerDir,
    SCALETEST_PARAM_DRY_RUN: "0",
    SCALETEST_PARAM_COMMENT: "npm run demo against the built-in simulator",
    SCALETEST_PARAM_NUM_WORKSPACES: String(s.workspaces),
    SCALETEST_PARAM_CREATE_CONCURRENCY: String(s.workspaces),
    ...scenarioDurations(s.scenarioDuration),
    SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: s.baseline,
    SCALETEST_PARAM_CLEANUP_STRATEGY: "always",
  };
  return runStagedTest(env, { ...io, sim });
}
