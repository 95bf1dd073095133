// `scaletest dashboard`: upstream's flags and defaults; real Chromium per scaletest user, metrics server, results, token cleanup.
import type { Command } from "commander";
import { DESCRIPTIONS } from "./commands.ts";
import { findChromium } from "../browser/chromium.ts";
import { getErrorMessage, type ConfigProblem } from "../errors.ts";
import { validateStrategyConfig } from "../harness/strategies.ts";
import { createRegistry, JobMetrics } from "../metrics/registry.ts";
import { startMetricsServer } from "../metrics/server.ts";
import { Progress } from "../report/progress.ts";
import { runDashboardPhase } from "../scenarios/dashboard/phase.ts";
import { DashboardTally } from "../scenarios/dashboard/tally.ts";
import { validateWalkTiming } from "../scenarios/dashboard/setup.ts";
import { parseTargetRange } from "../scenarios/targets.ts";
import { CLEANUP_STRATEGY_FLAGS, FlagReader, GLOBAL_FLAGS, OUTPUT_FLAGS, PROMETHEUS_FLAGS, STRATEGY_FLAGS, defineCommand, readCleanupStrategy, readPrometheus, readStrategy, type FlagSpec } from "./flags.ts";
import { SIMULATOR_STARTS_EMPTY, openDeployment } from "./deployment.ts";
import { interrupts } from "../util/signals.ts";
import { resultsExitCode, settleFlags, verboseTee, waitForScrape, writeOutputs } from "./output.ts";
import { SHARD_FLAGS, labelShard, printShardResults, printShardTotals, readShardFlags, startGate } from "./shard.ts";

const FLAGS: readonly FlagSpec[] = [
  { flags: "--target-users <start:end>", env: "CODER_SCALETEST_DASHBOARD_TARGET_USERS", kind: "string", description: "range START:END (END exclusive) over the sorted scaletest users; empty = all" },
  { flags: "--interval <duration>", env: "CODER_SCALETEST_DASHBOARD_INTERVAL", kind: "duration", default: "10s", description: "base time between actions (> 0)" },
  { flags: "--jitter <duration>", env: "CODER_SCALETEST_DASHBOARD_JITTER", kind: "duration", default: "5s", description: "each wait is interval ± jitter (< interval)" },
  { flags: "--headless [bool]", env: "CODER_SCALETEST_DASHBOARD_HEADLESS", kind: "bool", default: "true", description: "run Chromium headless; --headless=false shows the windows (debugging)" },
  { flags: "--rand-seed <n>", env: "CODER_SCALETEST_DASHBOARD_RAND_SEED", kind: "int", default: "0", description: "seed of the random walk (every user walks the same sequence)" },
  { flags: "--chromium-path <path>", env: "SCALETEST_CHROMIUM_PATH", kind: "string", description: "Chromium or Chrome binary (default: chromium, chromium-browser or google-chrome on PATH, else the Chromium npm installed with this package)" },
  { flags: "--run-dir <dir>", env: "SCALETEST_RUN_DIR", kind: "string", default: ".", description: "where screenshots of failed actions are written" },
];

const HELP_AFTER = `
Each targeted scaletest user (email @scaletest.local) gets an API token and a real Chromium signed in with it,
which does a seeded random walk over the dashboard (workspaces, builds, templates, docs, source, versions, users,
starter templates), recording coderd_scaletest_dashboard_duration_seconds{action} and
coderd_scaletest_dashboard_errors_total{action}. A failed action leaves a screenshot in --run-dir.

Unlike upstream: the tokens are deleted at the end; the metrics server stays up during --scaletest-prometheus-wait;
template_files opens the Source Code tab (upstream clicks the docs link and always times out); the browser may only
talk to the deployment. Not supported: tracing flags.
Sharded (--shard-count N): the users are selected as one process would, then this shard keeps those whose user ID
hashes to --shard-index (tokens only for them); every series carries shard="i" and jobs are counted
(coderd_scaletest_jobs_total); after the usual outputs the line "scaletest-shard-results i/N <results JSON>"
and then "scaletest-shard-totals i/N <totals JSON>" (the metrics summed over series) go to stdout for the coordinator.

Without a deployment (no --url, no CODER_URL, no url file in the config dir) the command refuses (exit 2):
the built-in simulator starts with no scaletest users to browse as. \`scaletest run\` runs the whole staged test,
Dashboard Traffic included, against it instead.

Exit codes: 0 all runs passed; 1 a run failed; 2 bad input (nothing was created).`;

const GROUPS = [FLAGS, SHARD_FLAGS, PROMETHEUS_FLAGS, STRATEGY_FLAGS, CLEANUP_STRATEGY_FLAGS, OUTPUT_FLAGS, GLOBAL_FLAGS];

export function register(program: Command): void {
  defineCommand(program, {
    name: "dashboard",
    description: DESCRIPTIONS.dashboard,
    helpAfter: HELP_AFTER,
    groups: GROUPS,
    action: dashboardCommand,
  });
}

/** Flags → settings; one ConfigError with every problem (exit 2) before anything is sent. Interval and jitter are checked first, as upstream. */
export function readDashboardFlags(cmd: Command, env: NodeJS.ProcessEnv = process.env) {
  const r = new FlagReader(cmd, GROUPS, env);
  const intervalMs = r.duration("interval");
  const jitterMs = r.duration("jitter");
  const targetUsers = r.string("target-users");
  const headless = r.bool("headless");
  const seed = r.int("rand-seed");
  const strategy = readStrategy(r);
  readCleanupStrategy(r); // accepted and parsed as upstream, never used: the dashboard has nothing to clean up per run
  const more: ConfigProblem[] = [];
  const { promAddress, promWaitMs } = readPrometheus(r, more);
  const sharding = readShardFlags(r, env, more);
  const { outputs, globals } = settleFlags(r, env, [], () => {
    validateWalkTiming(intervalMs, jitterMs);
    more.push(...validateStrategyConfig(strategy, { concurrency: "--concurrency", timeout: "--timeout", jobTimeout: "--job-timeout" }));
    try {
      parseTargetRange(targetUsers, "users");
    } catch (err) {
      more.push({ path: "--target-users", message: `${getErrorMessage(err)}; must be START:END with END > START, or empty for all users` });
    }
    return more;
  });
  const chromiumPath = findChromium({ path: r.string("chromium-path"), env });
  return { intervalMs, jitterMs, targetUsers, headless, seed, strategy, promAddress, promWaitMs, chromiumPath, runDir: r.string("run-dir"), outputs, globals, ...sharding };
}

async function dashboardCommand(cmd: Command): Promise<number> {
  const stderr = process.stderr;
  const f = readDashboardFlags(cmd);
  const sig = interrupts(stderr);
  const registry = createRegistry();
  labelShard(registry, f);
  const log = (line: string) => stderr.write(`${line}\n`);
  const server = await startMetricsServer(registry, f.promAddress, log);
  if (f.shard && server.url) log(`Shard ${f.shard.index}/${f.shard.count}: serving metrics at ${server.url}`);
  const tally = new DashboardTally();
  // Set once the users have tokens and browsers (the phase asks for its events then): only then is there something to scrape.
  let progress: Progress | undefined;
  try {
    const { client } = await openDeployment(f.globals, { without: { hint: SIMULATOR_STARTS_EMPTY }, signal: sig.run });
    // Upstream's dashboard keeps the normal transport: no rate-limit bypass header.
    const admin = client.withToken(f.globals.token ?? "");
    const { results } = await runDashboardPhase({
      client: admin,
      targetUsers: f.targetUsers,
      intervalMs: f.intervalMs,
      jitterMs: f.jitterMs,
      seed: f.seed,
      headless: f.headless,
      chromiumPath: f.chromiumPath,
      registry,
      tally,
      runDir: f.runDir,
      shard: f.shard,
      strategy: f.strategy,
      // A shard counts its jobs as the staged run's in-process phase does, so its totals line carries them; unsharded,
      // the command keeps upstream's metric set.
      jobs: f.shard ? new JobMetrics(registry) : undefined,
      events: (total) => (progress = new Progress({ stream: stderr, label: "dashboard", total, detail: () => actionsText(tally) })).events,
      tee: verboseTee(f.globals, stderr),
      signal: sig.run,
      cleanupSignal: sig.cleanup,
      log,
      beforeStart: startGate(f, log),
    });
    progress?.stop();
    writeOutputs(results, f.outputs);
    printShardResults(f.shard, results);
    await printShardTotals(f.shard, registry);
    return resultsExitCode(results, stderr);
  } finally {
    progress?.stop();
    // Without browsers nothing ran: nothing to scrape. Upstream closes the server before this wait, which makes it
    // useless; ours serves until the wait ends.
    if (progress) await waitForScrape(server, f.promWaitMs, sig.cleanup, stderr);
    await server.close();
    sig.dispose();
  }
}

function actionsText(tally: DashboardTally): string {
  const { actions, errors } = tally.counts();
  return `actions ${actions}  action errors ${errors}`;
}
