// `scaletest create-workspaces`: flags as upstream's, validated before any side effect; runs, writes results, cleans up.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { DESCRIPTIONS } from "./commands.ts";
import { ConfigError, getErrorMessage, type ConfigProblem } from "../errors.ts";
import { CleanupError, runPhase } from "../harness/harness.ts";
import type { TestRun } from "../harness/test-run.ts";
import { Progress } from "../report/progress.ts";
import { defaultCreateWorkspacesConfig, validateCreateWorkspacesConfig, type CreateWorkspacesConfig } from "../scenarios/create-workspaces/config.ts";
import { prepareCreateWorkspaces } from "../scenarios/create-workspaces/parameters.ts";
import { runCreateWorkspacesPhase } from "../scenarios/create-workspaces/phase.ts";
import { Ledger } from "../state/ledger.ts";
import { RunLock } from "../state/run-lock.ts";
import { CLEANUP_STRATEGY_FLAGS, FlagReader, GLOBAL_FLAGS, OUTPUT_FLAGS, STRATEGY_FLAGS, defineCommand, readCleanupStrategy, readStrategy, type FlagSpec } from "./flags.ts";
import { EXIT } from "../errors.ts";
import { interrupts } from "../util/signals.ts";
import { openDeployment, type Deployment } from "./deployment.ts";
import { resultsExitCode, settleFlags, verboseTee, writeOutputs, type OutputSpec } from "./output.ts";

const FLAGS: readonly FlagSpec[] = [
  { flags: "-c, --count <n>", env: "CODER_SCALETEST_COUNT", kind: "int", default: "1", description: "number of users and workspaces to create (> 0)" },
  { flags: "--retry <n>", env: "CODER_SCALETEST_RETRY", kind: "int", default: "0", description: "new start builds after a failed build; also retries transient 5xx answers" },
  { flags: "-t, --template <name|id>", env: "CODER_SCALETEST_TEMPLATE", kind: "string", description: "template name or UUID (required)" },
  { flags: "--no-cleanup", env: "CODER_SCALETEST_NO_CLEANUP", kind: "bool", description: "keep the users and workspaces (remove them later with `scaletest cleanup`)" },
  { flags: "--no-wait-for-agents", env: "CODER_SCALETEST_NO_WAIT_FOR_AGENTS", kind: "bool", description: "a job passes once its build succeeds" },
  { flags: "--run-command <command>", env: "CODER_SCALETEST_RUN_COMMAND", kind: "string", description: "command run in each workspace through the web terminal (reconnecting PTY) once its agents are connected" },
  { flags: "--run-timeout <duration>", env: "CODER_SCALETEST_RUN_TIMEOUT", kind: "duration", default: "5s", description: "time the command gets to finish (end of its output)" },
  { flags: "--run-expect-timeout", env: "CODER_SCALETEST_RUN_EXPECT_TIMEOUT", kind: "bool", description: "pass only if the command is still running at --run-timeout" },
  { flags: "--run-expect-output <text>", env: "CODER_SCALETEST_RUN_EXPECT_OUTPUT", kind: "string", description: "fail unless some output line contains this text" },
  { flags: "--run-log-output", env: "CODER_SCALETEST_RUN_LOG_OUTPUT", kind: "bool", description: "copy the command's output into the job log" },
  { flags: "--use-host-login", env: "CODER_SCALETEST_USE_HOST_LOGIN", kind: "bool", description: "create no users; workspaces belong to the logged-in owner" },
  { flags: "--parameter <name=value>", env: "CODER_RICH_PARAMETER", kind: "list", description: "rich parameter value; repeatable and comma-separated" },
  { flags: "--rich-parameter-file <path>", env: "CODER_RICH_PARAMETER_FILE", kind: "string", description: "YAML map of rich parameter values (--parameter overrides it)" },
];

const GROUPS = [FLAGS, STRATEGY_FLAGS, CLEANUP_STRATEGY_FLAGS, OUTPUT_FLAGS, GLOBAL_FLAGS];

const HELP_AFTER = `
--run-command runs in a fresh web-terminal session as the job's user, with no input; --no-wait-for-agents
skips it. Not supported (yet): --connect-* (tailnet), tracing flags. The template
dry run is skipped; parameters are checked against the template instead. Upstream prompts for parameters;
this command uses their defaults.

Every user and workspace is recorded in the run ledger (--state-dir) before it is created, so
\`scaletest cleanup\` also removes what a crashed run left behind.

Without a deployment (no --url, no CODER_URL, no url file in the config dir) the command runs against the
built-in Coder simulator started in this process (templates kubernetes-minimal, -small, -medium,
-medium-greedy, -large; builds take a second or two), then cleans up as usual. With --no-cleanup the
workspaces end with the simulator, when the command exits.

Exit codes: 0 all jobs passed; 1 a job or the cleanup failed; 2 bad input (nothing was created).`;

export function register(program: Command): void {
  defineCommand(program, {
    name: "create-workspaces",
    description: DESCRIPTIONS["create-workspaces"],
    helpAfter: HELP_AFTER,
    groups: GROUPS,
    action: createWorkspacesCommand,
  });
}

/** Flags → config; throws one ConfigError with every problem (exit 2) before anything is sent. */
export function readCreateWorkspacesFlags(cmd: Command, env: NodeJS.ProcessEnv = process.env) {
  const r = new FlagReader(cmd, GROUPS, env);
  const cfg: CreateWorkspacesConfig = {
    ...defaultCreateWorkspacesConfig(),
    count: r.int("count"),
    retry: r.int("retry"),
    template: r.string("template"),
    noCleanup: r.bool("no-cleanup"),
    noWaitForAgents: r.bool("no-wait-for-agents"),
    useHostLogin: r.bool("use-host-login"),
    runCommand: r.string("run-command"),
    runTimeoutMs: r.duration("run-timeout"),
    runExpectTimeout: r.bool("run-expect-timeout"),
    runExpectOutput: r.string("run-expect-output"),
    runLogOutput: r.bool("run-log-output"),
    strategy: readStrategy(r),
    cleanup: readCleanupStrategy(r),
  };
  const problems: ConfigProblem[] = [];
  const file = r.string("rich-parameter-file");
  if (file) {
    try {
      Object.assign(cfg.parameters, parseParameterYaml(readFileSync(file, "utf8")));
    } catch (err) {
      problems.push({ path: "--rich-parameter-file", message: `${file}: ${getErrorMessage(err)}` });
    }
  }
  for (const p of r.list("parameter")) {
    const i = p.indexOf("=");
    if (i <= 0) problems.push({ path: "--parameter", message: `must be name=value, got ${JSON.stringify(p)}` });
    else cfg.parameters[p.slice(0, i)] = p.slice(i + 1);
  }
  const { outputs, globals } = settleFlags(r, env, problems, () => validateCreateWorkspacesConfig(cfg));
  return { cfg, outputs, globals };
}

async function createWorkspacesCommand(cmd: Command): Promise<number> {
  const stderr = process.stderr;
  const { cfg, outputs, globals } = readCreateWorkspacesFlags(cmd);
  const sig = interrupts(stderr);
  try {
    const deployment = await openDeployment(globals, { without: "simulator", retry: { retries5xx: cfg.retry }, signal: sig.run, stderr });
    try {
      return await createAndCleanUp(deployment, cfg, outputs, sig, stderr);
    } finally {
      await deployment.close();
    }
  } finally {
    sig.dispose();
  }
}

async function createAndCleanUp(
  { client, me, globals, simulator }: Deployment,
  cfg: CreateWorkspacesConfig,
  outputs: OutputSpec[],
  sig: ReturnType<typeof interrupts>,
  stderr: NodeJS.WritableStream,
): Promise<number> {
  const prepared = await prepareCreateWorkspaces(client, me, cfg, { signal: sig.run });
  if (simulator && cfg.noCleanup) stderr.write("WARN: --no-cleanup with the built-in simulator: the users and workspaces end with the simulator when this command exits.\n");
  const run = `create-workspaces-${Date.now()}-${process.pid}`;
  const ledger = await Ledger.open(globals.stateDir, { url: client.url, run }).catch((err: unknown) => {
    throw new ConfigError([{ path: "--state-dir", message: `cannot open the run ledger in ${globals.stateDir}: ${getErrorMessage(err)}` }]);
  });
  // Held until this command's own cleanup is done: no other cleanup deletes what it is creating or still uses.
  const lock = RunLock.acquire(globals.stateDir, run);
  try {
    // Kept on purpose: the runner's own cleanups leave these alone; `scaletest cleanup` deletes them.
    if (cfg.noCleanup) await ledger.append({ op: "keep", reason: "--no-cleanup" });
    const progress = new Progress({ stream: stderr, label: "create-workspaces", total: cfg.count });
    let cleanupProgress: Progress | undefined;
    const events = {
      ...progress.events,
      cleanupStarted: (run: TestRun) => cleanupProgress?.events.cleanupStarted?.(run),
      cleanupFinished: (run: TestRun) => cleanupProgress?.events.cleanupFinished?.(run),
    };
    let phase: Awaited<ReturnType<typeof runCreateWorkspacesPhase>>;
    try {
      phase = await runCreateWorkspacesPhase({ client, prepared, cfg, ledger, signal: sig.run, log: (l) => stderr.write(`${l}\n`), events, tee: verboseTee(globals, stderr) });
    } finally {
      progress.stop();
    }
    const { harness, results } = phase;
    writeOutputs(results, outputs);
    const o = harness.outcomes();
    stderr.write(`Outcomes: ok ${o.ok}, failed ${o.failed}, canceled ${o.canceled}, timed out ${o.timed_out} (of ${o.total})\n`);
    let cleanupFailed = false;
    if (cfg.noCleanup) {
      for (const run of harness.runs) run.log.line("skipping cleanup");
      if (!simulator) stderr.write("Skipping cleanup (--no-cleanup); remove the users and workspaces later with `scaletest cleanup`.\n");
    } else {
      stderr.write("Cleaning up...\n");
      sig.enterCleanup();
      const cp = new Progress({ stream: stderr, label: "cleanup", total: harness.runs.filter((r) => r.finished).length });
      cleanupProgress = cp;
      try {
        await runPhase(harness, "cleanup", sig.cleanup, cfg.cleanup.timeoutMs);
      } catch (err) {
        if (!(err instanceof CleanupError)) throw err;
        cleanupFailed = true;
        stderr.write(`cleanup tests: ${err.message}\n`);
      } finally {
        cp.stop();
      }
    }
    return cleanupFailed ? EXIT.failed : resultsExitCode(results, stderr);
  } finally {
    lock.release();
    await ledger.close();
  }
}

/**
 * Reads the `--rich-parameter-file` YAML: a flat map `name: value`. Scalars are used as written (quotes removed);
 * lists (`[a, b]` or `- a` lines) become JSON strings, as upstream does.
 */
export function parseParameterYaml(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let listKey: string | undefined;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!.replace(/\s+#.*$/, "");
    if (!raw.trim() || raw.trim().startsWith("#") || raw.trim() === "---") continue;
    const item = /^\s+-\s*(.*)$/.exec(raw) ?? /^-\s+(.*)$/.exec(raw);
    if (item && listKey !== undefined) {
      const list = JSON.parse(out[listKey]!) as string[];
      list.push(unquote(item[1]!.trim()));
      out[listKey] = JSON.stringify(list);
      continue;
    }
    const m = /^([^\s:#][^:]*?)\s*:(?:\s+(.*))?$/.exec(raw);
    if (!m || /^\s/.test(raw)) throw new Error(`line ${n + 1}: expected "name: value", got ${JSON.stringify(lines[n])}`);
    const key = unquote(m[1]!);
    const value = (m[2] ?? "").trim();
    listKey = undefined;
    if (value === "") {
      out[key] = "[]";
      listKey = key;
    } else if (value.startsWith("[")) {
      if (!value.endsWith("]")) throw new Error(`line ${n + 1}: unterminated list`);
      const inner = value.slice(1, -1).trim();
      out[key] = JSON.stringify(inner ? inner.split(",").map((s) => unquote(s.trim())) : []);
    } else out[key] = unquote(value);
  }
  return out;
}

function unquote(s: string): string {
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) return JSON.parse(s) as string;
  if (s.length >= 2 && s.startsWith("'") && s.endsWith("'")) return s.slice(1, -1).replaceAll("''", "'");
  return s;
}
