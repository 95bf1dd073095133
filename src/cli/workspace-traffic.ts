// `scaletest workspace-traffic`: upstream's flags and flow (owner check, metrics server, targets, one job per workspace).
import type { Command } from "commander";
import { DESCRIPTIONS } from "./commands.ts";
import { type ConfigProblem } from "../errors.ts";
import { RunnerHealth } from "../metrics/health.ts";
import { createRegistry, JobMetrics, TrafficMetrics } from "../metrics/registry.ts";
import { startMetricsServer } from "../metrics/server.ts";
import { LiveProgress } from "../report/live-progress.ts";
import { defaultWorkspaceTrafficConfig, trafficMode, validateWorkspaceTrafficConfig, type WorkspaceTrafficConfig } from "../scenarios/workspace-traffic/config.ts";
import { runWorkspaceTrafficPhase } from "../scenarios/workspace-traffic/phase.ts";
import { parseResolve, type ResolveEntry } from "../traffic/resolve.ts";
import { BYTES_PER_TICK, DIAL_CONCURRENCY, TICK_INTERVAL_MS } from "../traffic/limits.ts";
import { Scheduler } from "../traffic/scheduler.ts";
import { MAX_WORKERS, parseWorkers } from "../scenarios/workspace-traffic/workers.ts";
import { formatGoDuration } from "../util/duration.ts";
import { findOnPath } from "../util/which.ts";
import { CLEANUP_STRATEGY_FLAGS, FlagReader, GLOBAL_FLAGS, OUTPUT_FLAGS, PROMETHEUS_FLAGS, STRATEGY_FLAGS, defineCommand, readPrometheus, readStrategy, type FlagSpec } from "./flags.ts";
import { SIMULATOR_STARTS_EMPTY, openDeployment } from "./deployment.ts";
import { interrupts } from "../util/signals.ts";
import { resultsExitCode, settleFlags, verboseTee, waitForScrape, writeOutputs } from "./output.ts";
import { SHARD_FLAGS, labelShard, printShardResults, printShardTotals, readShardFlags, startGate } from "./shard.ts";

const FLAGS: readonly FlagSpec[] = [
  { flags: "-t, --template <name>", env: "CODER_SCALETEST_TEMPLATE", kind: "string", description: "only workspaces of this template" },
  { flags: "--target-workspaces <start:end>", env: "CODER_SCALETEST_TARGET_WORKSPACES", kind: "string", description: "range of the sorted scaletest workspaces, END exclusive" },
  { flags: "--bytes-per-tick <n>", env: "CODER_SCALETEST_WORKSPACE_TRAFFIC_BYTES_PER_TICK", kind: "int", default: String(BYTES_PER_TICK.default), description: "bytes written per tick (> 0)" },
  { flags: "--tick-interval <duration>", env: "CODER_SCALETEST_WORKSPACE_TRAFFIC_TICK_INTERVAL", kind: "duration", default: formatGoDuration(TICK_INTERVAL_MS.default), description: "time between ticks (1ms to 1m)" },
  { flags: "--ssh", env: "CODER_SCALETEST_WORKSPACE_TRAFFIC_SSH", kind: "bool", description: "send traffic over SSH (coder ssh --stdio) instead of the web terminal" },
  { flags: "--app <slug>", env: "CODER_SCALETEST_WORKSPACE_TRAFFIC_APP", kind: "string", description: "send WebSocket traffic to this workspace app (wsec, wsra, wsdi)" },
  { flags: "--use-host-login", env: "CODER_SCALETEST_USE_HOST_LOGIN", kind: "bool", description: "only target workspaces owned by the logged-in user" },
  // Ours:
  { flags: "--coder-binary <path>", env: "CODER_BINARY", kind: "string", description: "the coder CLI used for `coder ssh --stdio` (default: coder on PATH)" },
  { flags: "--ssh-identity-file <path>", env: "CODER_SCALETEST_SSH_IDENTITY_FILE", kind: "string", description: "private key tried after \"none\" auth (Coder's agent needs none)" },
  { flags: "--resolve <host:port:address>", env: "CODER_SCALETEST_RESOLVE", kind: "list", description: "dial host:port at address, like curl --resolve; host may be *.domain" },
  { flags: "--no-verify-echo", env: "CODER_SCALETEST_NO_VERIFY_ECHO", kind: "bool", description: "do not check echoed bytes or time round trips (agents whose terminal adds output)" },
  { flags: "--no-per-workspace-labels", env: "CODER_SCALETEST_NO_PER_WORKSPACE_LABELS", kind: "bool", description: "drop username/workspace_name/agent_name labels (runs with thousands of targets)" },
  { flags: "--dial-concurrency <n>", env: "CODER_SCALETEST_DIAL_CONCURRENCY", kind: "int", default: String(DIAL_CONCURRENCY.default), description: `connections being opened at once (${DIAL_CONCURRENCY.min}-${DIAL_CONCURRENCY.max}; 0 = no limit, every job dials at once as upstream)` },
  { flags: "--progress-interval <duration>", env: "CODER_SCALETEST_PROGRESS_INTERVAL", kind: "duration", default: "0", description: "time between progress lines on stderr (0 = 1s on a terminal, 10s otherwise)" },
  { flags: "--workers <n>", env: "CODER_SCALETEST_WORKERS", kind: "string", description: `threads that share the connections, split by workspace ID as shards are (1-${MAX_WORKERS}; default: the CPU limit; 1 = the main thread)` },
];

/** Bounds of --progress-interval when set. */
const PROGRESS_INTERVAL_MS = { min: 100, max: 3_600_000 } as const;

const GROUPS = [FLAGS, SHARD_FLAGS, PROMETHEUS_FLAGS, STRATEGY_FLAGS, CLEANUP_STRATEGY_FLAGS, OUTPUT_FLAGS, GLOBAL_FLAGS];

const HELP_AFTER = `
Ours beyond upstream: every echo (web terminal, SSH, wsec) is checked byte for byte and timed
(coderd_scaletest_round_trip_seconds); runner health metrics; --no-per-workspace-labels; --resolve;
--dial-concurrency (at most 200 connections being opened at once by default; 0 dials every job at once, as upstream).
Sharded (--shard-count N): the targets are selected as one process would, then this shard keeps those whose
workspace ID hashes to --shard-index; job IDs keep their index; every series carries shard="i"; after the usual
outputs the line "scaletest-shard-results i/N <results JSON>" and then "scaletest-shard-totals i/N <totals JSON>"
(the metrics summed over series) go to stdout for the coordinator.
Not supported: tracing flags. The cleanup flags are accepted and unused, as upstream.

Without a deployment (no --url, no CODER_URL, no url file in the config dir) the command refuses (exit 2):
the built-in simulator starts with no workspaces to send traffic to. \`scaletest run\` runs the whole staged
test (create workspaces, SSH / web terminal / app / dashboard traffic, cleanup) against it instead.

Exit codes: 0 all jobs passed; 1 a job failed; 2 bad input (nothing was started).`;

export function register(program: Command): void {
  defineCommand(program, {
    name: "workspace-traffic",
    description: DESCRIPTIONS["workspace-traffic"],
    helpAfter: HELP_AFTER,
    groups: GROUPS,
    action: workspaceTrafficCommand,
  });
}

/** Flags → settings; throws one ConfigError with every problem (exit 2) before anything is sent. */
export function readWorkspaceTrafficFlags(cmd: Command, env: NodeJS.ProcessEnv = process.env) {
  const r = new FlagReader(cmd, GROUPS, env);
  const strategy = readStrategy(r);
  const problems: ConfigProblem[] = [];
  const resolve: ResolveEntry[] = [];
  for (const spec of r.list("resolve")) {
    try {
      resolve.push(parseResolve(spec));
    } catch (err) {
      problems.push({ path: "--resolve", message: (err as Error).message });
    }
  }
  const cfg: WorkspaceTrafficConfig = {
    ...defaultWorkspaceTrafficConfig,
    template: r.string("template"),
    targetWorkspaces: r.string("target-workspaces"),
    bytesPerTick: r.int("bytes-per-tick"),
    tickIntervalMs: r.duration("tick-interval"),
    durationMs: strategy.timeoutMs,
    ssh: r.bool("ssh"),
    app: r.string("app"),
    useHostLogin: r.bool("use-host-login"),
    verifyEcho: !r.bool("no-verify-echo"),
    sshIdentityFile: r.string("ssh-identity-file") || undefined,
    resolve,
    dialConcurrency: r.int("dial-concurrency"),
  };
  const perWorkspaceLabels = !r.bool("no-per-workspace-labels");
  const progressIntervalMs = r.duration("progress-interval");
  if (progressIntervalMs !== 0 && !(progressIntervalMs >= PROGRESS_INTERVAL_MS.min && progressIntervalMs <= PROGRESS_INTERVAL_MS.max)) {
    problems.push({
      path: "--progress-interval",
      message: `must be 0 (1s on a terminal, 10s otherwise) or a duration from ${formatGoDuration(PROGRESS_INTERVAL_MS.min)} to ${formatGoDuration(PROGRESS_INTERVAL_MS.max)}, got ${formatGoDuration(progressIntervalMs)}`,
    });
  }
  const workers = parseWorkers(r.string("workers"));
  if (workers.problem) problems.push(workers.problem);
  const { promAddress, promWaitMs } = readPrometheus(r, problems);
  const sharding = readShardFlags(r, env, problems);
  if (cfg.ssh) {
    const bin = r.string("coder-binary") || findOnPath("coder", env);
    if (!bin) problems.push({ path: "--coder-binary", message: "SSH mode needs the coder CLI: set --coder-binary or CODER_BINARY, or put coder on PATH" });
    cfg.coderBinary = bin;
  }
  const { outputs, globals } = settleFlags(r, env, problems, () => validateWorkspaceTrafficConfig(cfg));
  return { cfg, strategy, outputs, globals, perWorkspaceLabels, promAddress, promWaitMs, progressIntervalMs, workers: workers.workers ?? 1, ...sharding };
}

async function workspaceTrafficCommand(cmd: Command): Promise<number> {
  const stderr = process.stderr;
  const s = readWorkspaceTrafficFlags(cmd);
  if (s.strategy.jobTimeoutMs > 0 && s.strategy.jobTimeoutMs < s.cfg.durationMs) {
    stderr.write(
      `WARN: --job-timeout (${formatGoDuration(s.strategy.jobTimeoutMs)}) is shorter than --timeout (${formatGoDuration(s.cfg.durationMs)}): ` +
        `every job stops at its job timeout and is reported as timed out (set --job-timeout to --timeout + 30s)\n`,
    );
  }
  const sig = interrupts(stderr);
  const log = (l: string) => stderr.write(`${l}\n`);
  try {
    const { client } = await openDeployment(s.globals, { without: { hint: SIMULATOR_STARTS_EMPTY }, signal: sig.run });
    const registry = createRegistry();
    labelShard(registry, s);
    const health = new RunnerHealth(registry);
    const server = await startMetricsServer(registry, s.promAddress, log);
    if (s.shard && server.url) log(`Shard ${s.shard.index}/${s.shard.count}: serving metrics at ${server.url}`);
    const scheduler = new Scheduler({ health });
    // The staged run's progress line over this command's registry: shown once the first job starts.
    let progress: LiveProgress | undefined;
    let startedAt: number | undefined;
    let jobs = 0;
    const perJob = (s.cfg.bytesPerTick * 1000) / s.cfg.tickIntervalMs;
    const phase = () =>
      startedAt === undefined
        ? undefined
        : { name: `workspace-traffic (${trafficMode(s.cfg)})`, kind: "load" as const, endsAt: startedAt + s.cfg.durationMs, targets: { [trafficMode(s.cfg)]: jobs * perJob } };
    try {
      const { results } = await runWorkspaceTrafficPhase({
        client,
        cfg: s.cfg,
        strategy: s.strategy,
        scheduler,
        traffic: new TrafficMetrics(registry, { perWorkspaceLabels: s.perWorkspaceLabels }),
        health,
        jobs: new JobMetrics(registry),
        signal: sig.run,
        log,
        out: (l) => process.stdout.write(`${l}\n`),
        events: (total) => {
          jobs = total;
          progress = new LiveProgress({ stream: stderr, sources: { runner: registry, traffic: registry }, phase, intervalMs: s.progressIntervalMs || undefined });
          progress.start();
          return { runStarted: () => void (startedAt ??= Date.now()) };
        },
        tee: verboseTee(s.globals, stderr),
        workers: s.workers > 1 ? { count: s.workers, perWorkspaceLabels: s.perWorkspaceLabels, registry } : undefined,
        shard: s.shard,
        beforeStart: startGate(s, log),
      });
      await progress?.stop();
      writeOutputs(results, s.outputs);
      printShardResults(s.shard, results);
      await printShardTotals(s.shard, registry);
      await waitForScrape(server, s.promWaitMs, sig.run, stderr);
      return resultsExitCode(results, stderr);
    } finally {
      await progress?.stop();
      scheduler.close();
      await server.close();
    }
  } finally {
    sig.dispose();
  }
}
