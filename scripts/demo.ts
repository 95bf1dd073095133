// `npm run demo`: the whole staged scale test (prepare, create, baseline, SSH / web terminal / app / dashboard traffic, greedy
// agent, cleanup, summary) against the built-in simulator, in about two minutes. DEMO_COUNT, DEMO_SCENARIO_DURATION and
// DEMO_BASELINE make it smaller or longer.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getErrorMessage } from "../src/errors.ts";
import { runStagedTest, scenarioDurations, simulatorConnectEnv, SIMULATOR_RUN_DEFAULTS } from "../src/run/cli-run.ts";
import { withConfig } from "../src/run/lifecycle.ts";
import { stopOnSignals } from "../src/util/signals.ts";
import { startSimulator } from "../src/simulator/index.ts";

const workspaces = process.env.DEMO_COUNT || "8";
// Provisioning takes a second or two, a few builds fail (create retries them), agents connect half a second after the build.
const sim = await startSimulator({
  port: 0,
  knobs: { pendingMs: 250, runningMs: 900, jitterMs: 600, agentConnectDelayMs: 400, buildFailureRate: 0.05, seed: 2024 },
});
// Results stay after the demo (their path is printed last); only the ledger's temp dir goes.
const stateDir = mkdtempSync(join(tmpdir(), "scaletest-demo-"));
const runDir = mkdtempSync(join(tmpdir(), "scaletest-demo-run-"));
process.stderr.write(`Coder simulator on ${sim.url}\n`);

let exitCode = 1;
try {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...SIMULATOR_RUN_DEFAULTS,
    ...simulatorConnectEnv(sim),
    CODER_WORKSPACE: "runner",
    SCALETEST_RUN_ID: `scaletest-demo-${new Date().toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-")}`,
    SCALETEST_RUN_DIR: runDir,
    SCALETEST_STATE_DIR: join(stateDir, "ledger"),
    SCALETEST_PARAM_DRY_RUN: "false",
    SCALETEST_PARAM_COMMENT: "npm run demo against the built-in simulator",
    SCALETEST_PARAM_NUM_WORKSPACES: workspaces,
    SCALETEST_PARAM_CREATE_CONCURRENCY: workspaces,
    ...scenarioDurations(process.env.DEMO_SCENARIO_DURATION || "20s"),
    SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: process.env.DEMO_BASELINE || "5s",
    SCALETEST_PARAM_CLEANUP_STRATEGY: "always",
    // A verdict at the end: figures a busy laptop does not distort (latency thresholds belong to a real deployment).
    SCALETEST_PARAM_THRESHOLDS: process.env.DEMO_THRESHOLDS ?? "error_rate < 1%\nbuild.p95 < 2m",
  };
  // runStagedTest counts what is left on the simulator at the end and fails the run if anything is.
  const io = { ...stopOnSignals(), log: (l: string) => process.stderr.write(`${l}\n`), out: (t: string) => process.stdout.write(t), sim, progress: process.stderr };
  exitCode = await withConfig(env, (cfg) => runStagedTest(cfg, io));
} catch (err) {
  process.stderr.write(`demo failed: ${getErrorMessage(err)}\n`);
} finally {
  await sim.close();
  rmSync(stateDir, { recursive: true, force: true });
}
process.exitCode = exitCode;
