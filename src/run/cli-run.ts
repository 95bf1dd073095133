// The staged scale test in one process (`scaletest run`, `npm run demo`): prepare, run, cleanup per the strategy,
// summary, then the runner token deleted; against a deployment or a simulator.
import { CoderClient } from "../coder/client.ts";
import { isScaletestName } from "../coder/names.ts";
import { RUNNER_ENV } from "./settings.ts";
import { DEFAULT_SCENARIOS, scenarioDurationEnvs } from "../scenarios/index.ts";
import { getErrorMessage } from "../errors.ts";
import { coderShimPath } from "../simulator/coder-shim/index.ts";
import type { Simulator } from "../simulator/index.ts";
import { failedStatus, writeStatus } from "../state/status.ts";
import { shouldCleanup } from "./cleanup-policy.ts";
import type { RunnerConfig } from "./config.ts";
import { EXIT, prepare, run, type ScriptOptions } from "./lifecycle.ts";
import { runPaths } from "./recorder.ts";
import { deleteRunnerToken, runnerClient } from "./session.ts";
import { EXIT_TERMINATED } from "./staged.ts";

/** Every scenario's duration env var set to `duration` (a Go duration). */
export function scenarioDurations(duration: string): Record<string, string> {
  return Object.fromEntries(scenarioDurationEnvs().map((env) => [env, duration]));
}

/**
 * What a run against a simulator defaults to, below the env and the flags: the demo's sizes (8 workspaces, the
 * four scenarios for 20 s each, the greedy agent), a few minutes on a laptop instead of the template's hours.
 */
export const SIMULATOR_RUN_DEFAULTS: Readonly<Record<string, string>> = {
  [RUNNER_ENV.comment.env]: "scaletest run against the built-in simulator",
  [RUNNER_ENV.numWorkspaces.env]: "8",
  [RUNNER_ENV.createConcurrency.env]: "8",
  [RUNNER_ENV.loadScenarios.env]: JSON.stringify(DEFAULT_SCENARIOS),
  ...scenarioDurations("20s"),
  [RUNNER_ENV.dashboardPercentage.env]: "50",
  [RUNNER_ENV.dashboardInterval.env]: "2s",
  [RUNNER_ENV.dashboardJitter.env]: "1s",
  [RUNNER_ENV.baselineDuration.env]: "5s",
  [RUNNER_ENV.greedyAgent.env]: "true",
  [RUNNER_ENV.metricsLinger.env]: "0s",
  // Greedy side traffic in this process: 16 KiB every 50 ms (upstream sends 25 MiB every 40 ms to a cluster).
  [RUNNER_ENV.greedyBytesPerTick.env]: String(16 * 1024),
  [RUNNER_ENV.greedyTickInterval.env]: "50ms",
  // Free loopback ports: nothing scrapes a laptop's 21112-21114, and two runs never clash.
  [RUNNER_ENV.trafficMetricsPort.env]: "0",
  [RUNNER_ENV.dashboardMetricsPort.env]: "0",
  [RUNNER_ENV.runnerMetricsPort.env]: "0",
};

/** How a simulator is reached: URL, owner token, its `coder` shim for SSH Traffic, its wildcard app host on loopback. */
export function simulatorConnectEnv(sim: Simulator): Record<string, string> {
  return {
    CODER_URL: sim.url,
    CODER_SESSION_TOKEN: sim.sessionToken,
    CODER_USER: sim.owner.username,
    CODER_BINARY: coderShimPath(),
    CODER_SCALETEST_RESOLVE: `*.apps.localhost:${sim.port}:127.0.0.1`,
  };
}


/** Options of `runStagedTest`. */
export interface StagedTestOptions extends ScriptOptions {
  signal: AbortSignal;
  /** The simulator `env` points at, if any: greedy traffic is scaled down and leftovers are counted at the end. */
  sim?: Simulator;
  /** Where the live progress line goes (a terminal gets one redrawn line, anything else a line every few seconds). */
  progress?: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * The template's lifecycle in one process: prepare (runner token, cleanup of earlier leftovers), the staged run
 * (results, phase and status files, cleanup per the strategy, summary), then the runner token is deleted, as the
 * template's shutdown does when its workspace stops. Against a simulator, what is left is counted: a strategy that
 * cleaned up and left something fails the run. Returns the exit code (2: bad settings, nothing was done).
 */
export async function runStagedTest(cfg: RunnerConfig, o: StagedTestOptions): Promise<number> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const io = { signal: o.signal, insist: o.insist, atForcedExit: o.atForcedExit, log, out: o.out };
  let code = await prepare(cfg, io);
  if (code === EXIT.ok) {
    code = await run(cfg, {
      ...io,
      progress: o.progress,
      onMetrics: (m) => log(`metrics: ${Object.entries(m.urls).filter(([, url]) => url).map(([name, url]) => `${name} ${url}/metrics`).join(", ")} (serving while the run lasts)`),
    });
  } else {
    try {
      writeStatus(runPaths(cfg.runDir).state, failedStatus(code), { dryRun: cfg.dryRun });
    } catch {
      // already locked by the failure
    }
  }
  if (cfg.dryRun) return code;
  try {
    // After a second signal the run has revoked it already; whatever is left gets a short deadline.
    await deleteRunnerToken(runnerClient(cfg), cfg.runDir, { signal: o.insist?.aborted ? AbortSignal.timeout(10_000) : undefined });
  } catch (err) {
    log(`could not delete the runner's API token: ${getErrorMessage(err)}`);
  }
  if (!o.sim) return code;
  const left = await scaletestLeft(o.sim);
  const cleaned = shouldCleanup(cfg.cleanupStrategy, code === EXIT_TERMINATED ? "terminated" : code === EXIT.ok ? "on_success" : "on_error");
  const clean = left.workspaces + left.users === 0;
  log(`built-in simulator: ${left.workspaces} scaletest workspace(s) and ${left.users} scaletest user(s) left${clean ? " (clean)" : cleaned ? " after cleanup (NOT CLEAN)" : `, kept by the cleanup strategy "${cfg.cleanupStrategy}" until the simulator ends with this process`}`);
  return cleaned && !clean && code === EXIT.ok ? EXIT.failed : code;
}

/** Scaletest workspaces and users on a simulator now. */
async function scaletestLeft(sim: Simulator): Promise<{ workspaces: number; users: number }> {
  const admin = new CoderClient({ url: sim.url, token: sim.sessionToken, bypassRateLimit: true });
  const workspaces = (await admin.allWorkspaces('name:"scaletest-"')).filter((w) => isScaletestName(w.name));
  const users = (await admin.allUsers("scaletest-")).filter((u) => isScaletestName(u.username));
  return { workspaces: workspaces.length, users: users.length };
}
