// What each runner script does, as functions of (typed config, options) → exit code; the scripts parse the env once and call these.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CoderClient } from "../coder/client.ts";
import { clientConnection } from "../coder/headers.ts";
import { formatSetting } from "../config/settings.ts";
import { connectionFromConfig, loadRunnerConfig, RUNNER_SETTINGS, type RunnerConfig } from "./config.ts";
import { ConfigError, EXIT, getErrorMessage } from "../errors.ts";
import { GRAFANA_DASHBOARD } from "../metrics/names.ts";
import { Annotator } from "../grafana/annotations.ts";
import { buildSlackMessage, postSlack, type ReportEvent } from "../report/slack.ts";
import { renderSummary, scenarioLine, type RunSummary } from "../report/summary.ts";
import { defaultStateDir } from "../state/ledger.ts";
import { RunLock, RunLockedError } from "../state/run-lock.ts";
import { failedStatus, writeStatus } from "../state/status.ts";
import { cleanupForEvent } from "./cleanup.ts";
import { shouldCleanup, type CleanupEvent } from "./cleanup-policy.ts";
import { dryRun } from "./dry-run.ts";
import { preflightProblems } from "./preflight.ts";
import type { RunMetrics } from "../metrics/run-metrics.ts";
import { RunRecorder, runPaths } from "./recorder.ts";
import { createRunnerToken, deleteRunnerToken, removeRunnerToken, runnerClient } from "./session.ts";
import type { ConnectSettings } from "../scenarios/context.ts";
import { EXIT_TERMINATED, runStaged } from "./staged.ts";
import { syncVariants } from "./variants.ts";
import { planRun } from "./plan.ts";
import { runThresholds, watchPlan } from "./watch.ts";
import { runsSharded } from "./sharded.ts";
import { SCENARIOS } from "../scenarios/index.ts";
import { RunWatch, type RunWatchOptions } from "../report/run-watch.ts";
import { hasVerdict, verdictExitCode, verdictLines, VERDICT_EXIT } from "../verdict/evaluate.ts";
import { prometheusTarget } from "../verdict/prometheus.ts";
import { parseResolve, type ResolveEntry } from "../traffic/resolve.ts";

export { EXIT } from "../errors.ts";


/** Shared options of every script function. */
export interface ScriptOptions {
  /** The first SIGTERM/SIGINT: traffic stops, results are written, cleanup runs per the strategy. */
  signal?: AbortSignal;
  /** The second: cleanup stops; the run still writes results and status, names what is left and revokes its token. */
  insist?: AbortSignal;
  /** Registers a synchronous last-resort step for a forced exit (a third signal). */
  atForcedExit?: (fn: () => void) => void;
  /** Progress and diagnostics (stderr). */
  log?: (line: string) => void;
  /** Results and summaries (stdout). */
  out?: (text: string) => void;
}

const stderr = (l: string) => process.stderr.write(`${l}\n`);
const stdout = (t: string) => process.stdout.write(t);

/** Loads and validates the config; a bad setting is printed naming the env var and returns undefined. */
export function loadConfig(env: NodeJS.ProcessEnv, log: (l: string) => void = stderr): RunnerConfig | undefined {
  try {
    return loadRunnerConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log(`invalid settings, nothing was done:\n${err.message}`);
    return undefined;
  }
}

/** Loads the config once from the env and runs `fn` with it; a bad setting is printed (naming the env var) and exits 2. */
export async function withConfig(env: NodeJS.ProcessEnv, fn: (cfg: RunnerConfig) => Promise<number>, log: (l: string) => void = stderr): Promise<number> {
  const cfg = loadConfig(env, log);
  return cfg ? fn(cfg) : EXIT.usage;
}

/** The annotator for a run: Grafana from the config, recorded in the run's state dir, off in dry-run. */
export function runAnnotator(cfg: RunnerConfig, log: (l: string) => void): Annotator {
  return new Annotator({
    url: cfg.grafanaUrl,
    token: cfg.grafanaApiToken,
    dryRun: cfg.dryRun,
    recordFile: runPaths(cfg.runDir).annotations,
    log,
  });
}

export function pidPath(cfg: RunnerConfig): string {
  return join(runPaths(cfg.runDir).state, "run.pid");
}

/** Options of prepare beyond the env (tests point it at another variants directory). */
export interface PrepareOptions extends ScriptOptions {
  /** Directory with one sub-directory per workspace template variant (default: the bundled template/variants). */
  variantsDir?: string;
}

/**
 * prepare: status Preparing; a dedicated API token for the run (the owner's session dies on stop), stored 0600;
 * the workspace (and greedy) templates made to match the bundled variants (a failure stops here, before any
 * workspace exists); then "Cleanup before scaletest" removes what earlier runs left. Dry-run: only checks (GETs).
 */
export async function prepare(cfg: RunnerConfig, o: PrepareOptions = {}): Promise<number> {
  const log = o.log ?? stderr;
  const signal = o.signal ?? new AbortController().signal;
  const paths = runPaths(cfg.runDir);
  mkdirSync(paths.state, { recursive: true });
  writeFileSync(join(cfg.runDir, "environ.txt"), environText(cfg));
  const annotator = runAnnotator(cfg, log);
  const recorder = new RunRecorder(paths.state, annotator, { dryRun: cfg.dryRun, log });
  try {
    recorder.status("Preparing");
    if (cfg.dryRun) {
      log("Dry-run: not creating a runner token, not pushing templates, not cleaning up.");
      if (cfg.coderUrl) {
        // Only compares (GETs); the dry-run run reports a missing template or a non-owner token as a problem.
        try {
          await syncVariants(cfg, runnerClient(cfg, { storedToken: false }), { dryRun: true, signal, log, variantsDir: o.variantsDir });
        } catch (err) {
          log(`Dry-run: templates not compared with the bundled variants: ${getErrorMessage(err)}`);
        }
      }
      return EXIT.ok;
    }
    if (await refusedByPreflight(cfg, log)) return EXIT.usage;
    const owner = runnerClient(cfg, { storedToken: false });
    await createRunnerToken(owner, cfg.runDir, { signal });
    log("prepare: created the runner's API token (stored with mode 0600)");
    const client = runnerClient(cfg);
    await syncVariants(cfg, client, { signal, log, variantsDir: o.variantsDir });
    const result = await cleanupForEvent("prepare", {
      cfg,
      client,
      recorder,
      ledgerDir: stateDir(cfg),
      signal,
      log,
    });
    return result.ok ? EXIT.ok : EXIT.failed;
  } catch (err) {
    if (err instanceof ConfigError) {
      log(err.message);
      return EXIT.usage;
    }
    log(`prepare failed: ${getErrorMessage(err)}`);
    return EXIT.failed;
  } finally {
    await annotator.flush();
  }
}

/** Options of the run script beyond the config (the demo and tests use them). */
export interface RunOptions extends ScriptOptions {
  metricsPort?: (port: number) => number;
  onRecorder?: (r: RunRecorder) => void;
  onMetrics?: (m: RunMetrics) => void;
  /** Where the live progress line goes (default: stderr when no `log` is given). */
  progress?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Sampling and evaluation intervals of the run watch (tests shorten them). */
  watchIntervals?: RunWatchOptions["intervals"];
}

/**
 * run: the staged test, then cleanup per the strategy (on_success / on_error; on SIGTERM as the matrix says),
 * then the summary. Dry-run prints the plan and checks it with GETs only.
 */
export async function run(cfg: RunnerConfig, o: RunOptions = {}): Promise<number> {
  const log = o.log ?? stderr;
  const out = o.out ?? stdout;
  const signal = o.signal ?? new AbortController().signal;
  const paths = runPaths(cfg.runDir);
  mkdirSync(paths.state, { recursive: true });
  const annotator = runAnnotator(cfg, log);

  if (cfg.dryRun) {
    let client: CoderClient | undefined;
    try {
      client = cfg.coderUrl ? runnerClient(cfg) : undefined;
    } catch (err) {
      log(getErrorMessage(err));
      return EXIT.usage;
    }
    const report = await dryRun(cfg, client, { signal, log: (l) => out(`${l}\n`) });
    writeStatus(paths.state, report.problems.length > 0 ? failedStatus(EXIT.usage) : "Complete", { dryRun: true });
    return report.problems.length > 0 ? EXIT.usage : EXIT.ok;
  }

  if (await refusedByPreflight(cfg, log)) {
    writeStatus(paths.state, failedStatus(EXIT.usage), { dryRun: false });
    return EXIT.usage;
  }
  let client: CoderClient;
  let connect: ConnectSettings;
  try {
    client = runnerClient(cfg);
    connect = connectSettings(cfg);
  } catch (err) {
    log(getErrorMessage(err));
    return EXIT.usage;
  }
  const ledgerDir = stateDir(cfg);
  // The liveness mark: while this process lives, no other cleanup touches what this run's ledger entries record.
  let lock: RunLock;
  try {
    lock = RunLock.acquire(ledgerDir, cfg.runId);
  } catch (err) {
    if (!(err instanceof RunLockedError)) throw err;
    log(`invalid settings, nothing was done: SCALETEST_RUN_ID: ${err.message}; give each concurrent run its own id`);
    return EXIT.usage;
  }
  writeFileSync(pidPath(cfg), `${process.pid}\n`);
  // The watch records the time series, judges saturation and thresholds, and stops the run on an abortOnFail one.
  let watch: RunWatch | undefined;
  let result: Awaited<ReturnType<typeof runStaged>> | undefined;
  try {
    const stop = new AbortController();
    result = await runStaged({
      cfg,
      client,
      signal: AbortSignal.any([signal, stop.signal]),
      annotator,
      ledgerDir,
      log,
      metricsPort: o.metricsPort,
      connect,
      onRecorder: o.onRecorder,
      onMetrics: (m) => {
        watch = new RunWatch({
          runDir: cfg.runDir,
          sources: m,
          plan: watchPlan(planRun(cfg), cfg, (name) => runsSharded(cfg, SCENARIOS[name])),
          thresholds: runThresholds(cfg),
          prometheus: cfg.prometheusUrl ? prometheusTarget(cfg.prometheusUrl) : undefined,
          progress: o.progress ?? (o.log ? undefined : process.stderr),
          log,
          onAbort: (t) => stop.abort(new Error(`threshold failed: ${t}`)),
          intervals: o.watchIntervals,
        });
        o.onMetrics?.(m);
      },
      onPhase: (name, running) => watch?.phase(name, running),
      onBuild: (b) => watch?.build(b),
      stopExitCode: () => (watch?.abortedBy && !signal.aborted ? VERDICT_EXIT.thresholdsFailed : undefined),
    });
    // Results are written; now the strategy decides. Cleanup gets its own signal: SIGTERM must not stop it.
    const terminated = result.exitCode === EXIT_TERMINATED;
    const event: CleanupEvent = result.exitCode === 0 ? "on_success" : "on_error";
    const clean = shouldCleanup(cfg.cleanupStrategy, terminated ? "terminated" : event);
    const recorder = new RunRecorder(paths.state, annotator, { log });
    // A forced exit must not leave a valid token on disk.
    o.atForcedExit?.(() => removeRunnerToken(cfg.runDir));
    if (clean) {
      const r = await cleanupForEvent(event, { cfg, client, recorder, ledgerDir, force: true, signal: o.insist ?? new AbortController().signal, log });
      result.summary.phases.push(...recorder.phases);
      if (!r.ok && result.exitCode === 0) result.exitCode = EXIT.failed;
    } else {
      log(`cleanup: strategy "${cfg.cleanupStrategy}" keeps the workspaces after ${terminated ? "a stop" : event === "on_success" ? "a successful run" : "a failed run"}`);
    }
    result.summary.endedAt = Date.now();
    if (watch) {
      const verdict = await watch.finish(result.summary, { client });
      result.exitCode = verdictExitCode(result.exitCode, verdict);
      // Every line: the verdict, then each threshold with its observed value.
      if (hasVerdict(verdict)) void annotator.end(annotator.start("status", verdictLines(verdict).map((l) => l.trim()).join("\n")), { error: verdict.status !== "pass" });
    }
    result.summary.annotationFailures = annotator.failures;
    writeSummary(cfg, result.summary);
    out(renderSummary(result.summary));
    if (o.insist?.aborted) await revokeAfterInsist(cfg, client, log);
    return result.exitCode;
  } finally {
    // report.html for every run that got as far as a summary, also when something above threw.
    if (result) await watch?.report(result.summary);
    lock.release();
    rmSync(pidPath(cfg), { force: true });
    await annotator.flush();
  }
}

/** How long a revocation after a second signal may take (the operator is waiting for the exit). */
const INSISTED_REVOKE_MS = 10_000;

/**
 * After a second signal the operator wants out, and nobody may be left holding a valid token: the runner's API
 * token is revoked now (its file is removed first, so even a failed revocation leaves nothing usable on disk).
 */
async function revokeAfterInsist(cfg: RunnerConfig, client: CoderClient, log: (l: string) => void): Promise<void> {
  try {
    await deleteRunnerToken(client, cfg.runDir, { signal: AbortSignal.timeout(INSISTED_REVOKE_MS) });
    log("stopped again: revoked the runner's API token");
  } catch (err) {
    log(`stopped again: removed the runner's API token from disk, but could not revoke it: ${getErrorMessage(err)}`);
  }
}

/** CODER_BINARY (the coder CLI for SSH traffic) and CODER_SCALETEST_RESOLVE (comma-separated host:port:address), parsed. */
export function connectSettings(cfg: Pick<RunnerConfig, "coderBinary" | "resolve">): ConnectSettings {
  const resolve: ResolveEntry[] = [];
  for (const spec of cfg.resolve.split(",").filter((x) => x.trim())) {
    try {
      resolve.push(parseResolve(spec));
    } catch (err) {
      throw new ConfigError([{ path: "CODER_SCALETEST_RESOLVE", message: getErrorMessage(err) }]);
    }
  }
  return { coderBinary: cfg.coderBinary || undefined, resolve };
}

/** Logs every scenario that cannot run here; true when there is one (nothing may be created then). */
async function refusedByPreflight(cfg: RunnerConfig, log: (l: string) => void): Promise<boolean> {
  const problems = await preflightProblems(cfg);
  for (const p of problems) log(`invalid settings, nothing was done: ${p}`);
  return problems.length > 0;
}

/** Where the run ledgers live. */
export function stateDir(cfg: Pick<RunnerConfig, "stateDir">): string {
  return cfg.stateDir || defaultStateDir({});
}

function writeSummary(cfg: RunnerConfig, summary: RunSummary): void {
  const { results } = runPaths(cfg.runDir);
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, "summary.json"), `${JSON.stringify(summary, (k, v) => (k === "results" ? undefined : v), 2)}\n`);
  writeFileSync(join(results, "summary.txt"), renderSummary(summary));
}

/** Reads the summary the run wrote, if any. */
export function readSummary(cfg: RunnerConfig): RunSummary | undefined {
  const path = join(runPaths(cfg.runDir).results, "summary.json");
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as RunSummary) : undefined;
}

/** How the manual cleanup asks for confirmation. */
export interface ConfirmOptions {
  /** --yes: skip the question. */
  yes?: boolean;
  /** Whether stdin is a terminal (no TTY and no --yes: refuse). */
  isTTY?: boolean;
  /** Asks a question and resolves to the answer (a TTY prompt). */
  ask?: (question: string) => Promise<string>;
}

/** cleanup <event>: the strategy decides for on_* events; manual asks first; prepare follows its switch. */
export async function cleanup(cfg: RunnerConfig, event: CleanupEvent, o: ScriptOptions & ConfirmOptions = {}): Promise<number> {
  const log = o.log ?? stderr;
  if (cfg.dryRun) {
    log(`Dry-run: cleanup (${event}) would ${shouldCleanup(cfg.cleanupStrategy, event, cfg.cleanupPrepare) ? "delete the scaletest workspaces and users" : "do nothing"}; nothing was changed.`);
    return EXIT.ok;
  }
  if (event === "manual" && !o.yes) {
    if (!o.isTTY || !o.ask) {
      log("cleanup manual: refusing without confirmation; run it in a terminal or pass --yes");
      return EXIT.usage;
    }
    const answer = (await o.ask("Delete every scaletest workspace and user on this deployment? [y/N] ")).trim().toLowerCase();
    if (answer !== "y" && answer !== "yes") {
      log("cleanup manual: not confirmed; nothing was deleted");
      return EXIT.ok;
    }
  }
  const annotator = runAnnotator(cfg, log);
  try {
    const recorder = new RunRecorder(runPaths(cfg.runDir).state, annotator, { log });
    const r = await cleanupForEvent(event, {
      cfg,
      client: runnerClient(cfg),
      recorder,
      ledgerDir: stateDir(cfg),
      signal: o.signal ?? new AbortController().signal,
      log,
    });
    return r.ok ? EXIT.ok : EXIT.failed;
  } catch (err) {
    log(`cleanup (${event}) failed: ${getErrorMessage(err)}`);
    return err instanceof ConfigError ? EXIT.usage : EXIT.failed;
  } finally {
    await annotator.flush();
  }
}

/** report <started|completed|failed>: the Slack message (dry-run: printed, not posted). */
export async function report(cfg: RunnerConfig, event: ReportEvent, o: ScriptOptions & { fetchVersion?: boolean } = {}): Promise<number> {
  const log = o.log ?? stderr;
  const summary = event === "started" ? undefined : readSummary(cfg);
  let version: string | undefined;
  if (cfg.coderUrl && o.fetchVersion !== false) {
    try {
      const connection = clientConnection(connectionFromConfig(cfg), cfg.coderUrl);
      version = (await new CoderClient({ url: cfg.coderUrl, ...connection }).buildInfo({ signal: o.signal ?? AbortSignal.timeout(10_000) })).version;
    } catch (err) {
      log(`report: could not read the Coder version: ${getErrorMessage(err)}`);
    }
  }
  const coderUrl = cfg.coderUrl.replace(/\/+$/, "");
  const message = buildSlackMessage({
    event,
    runId: cfg.runId,
    comment: cfg.comment,
    initiator: cfg.ownerName,
    coderUrl: coderUrl || "the built-in simulator",
    version,
    workspaceUrl: coderUrl && cfg.ownerName && cfg.workspaceName ? `${coderUrl}/@${cfg.ownerName}/${cfg.workspaceName}` : undefined,
    grafanaUrl: cfg.grafanaUrl || undefined,
    dashboardUid: GRAFANA_DASHBOARD.uid,
    dashboardSlug: GRAFANA_DASHBOARD.slug,
    startedAt: Date.parse(cfg.runStartTime),
    endedAt: event === "started" ? undefined : (summary?.endedAt ?? Date.now()),
    parameters: event === "started" ? reportParameters(cfg) : undefined,
    outcomes: summary?.phases.flatMap((p) => p.scenarios.map(scenarioLine)),
    resultsDir: summary?.resultsDir,
    verdict: summary && hasVerdict(summary.verdict) ? verdictLines(summary.verdict) : undefined,
  });
  if (cfg.dryRun || !cfg.slackWebhookUrl) (o.out ?? stdout)(`${message.blocks.map((b) => b.text.text).join("\n")}\n`);
  await postSlack(cfg.slackWebhookUrl || undefined, message, { dryRun: cfg.dryRun, signal: o.signal, log });
  return EXIT.ok;
}

/** The run's settings in their env form (what the template would set), by env name, secrets left out. */
function settingsByEnv(cfg: RunnerConfig, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  const c = cfg as unknown as Record<string, unknown>;
  for (const [field, s] of RUNNER_SETTINGS) if (s.env.startsWith(prefix) && !s.secret) out[s.env] = formatSetting(s, c[field]);
  return out;
}

/** Every SCALETEST_PARAM_* setting, as the run resolved it (never a secret: secrets are read from other names). */
function reportParameters(cfg: RunnerConfig): Record<string, string> {
  return settingsByEnv(cfg, "SCALETEST_PARAM_");
}

/** environ.txt: every SCALETEST_* setting the run used, one `NAME=value` a line, sorted. */
function environText(cfg: RunnerConfig): string {
  const all = settingsByEnv(cfg, "SCALETEST_");
  return `${Object.keys(all).sort().map((k) => `${k}=${all[k]}`).join("\n")}\n`;
}

/**
 * startup: what the agent's startup script runs: "Agent running" annotation, report started, prepare, run,
 * report completed/failed. Returns the run's exit code.
 */
export async function startup(cfg: RunnerConfig, o: RunOptions = {}): Promise<number> {
  const log = o.log ?? stderr;
  mkdirSync(runPaths(cfg.runDir).state, { recursive: true });
  // Written before prepare (which may clean up for a long time), so a workspace stop finds and signals us.
  writeFileSync(pidPath(cfg), `${process.pid}\n`);
  try {
    const annotator = runAnnotator(cfg, log);
    annotator.start("workspace", "Agent running");
    await annotator.flush();
    await report(cfg, "started", o);
    let code = await prepare(cfg, o);
    if (code === EXIT.ok) code = await run(cfg, o);
    else {
      try {
        writeStatus(runPaths(cfg.runDir).state, failedStatus(code), { dryRun: cfg.dryRun });
      } catch {
        // already locked by a failure
      }
    }
    if (!o.signal?.aborted) await report(cfg, code === EXIT.ok ? "completed" : "failed", o);
    return code;
  } finally {
    rmSync(pidPath(cfg), { force: true });
  }
}
