// `scaletest run`: the staged scale test from a laptop: the template's SCALETEST_* settings from the env, one flag per
// setting (generated from the table) over them, against --url / CODER_URL or the built-in simulator.
import { connectionEnv } from "../coder/headers.ts";
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { DESCRIPTIONS } from "./commands.ts";
import { RUNNER_SETTINGS, loadRunnerConfig, withEnv, type RunnerConfig } from "../run/config.ts";
import { describeAllowed, formatSetting, type Setting } from "../config/settings.ts";
import { ConfigError, type ConfigProblem } from "../errors.ts";
import { runStagedTest, simulatorConnectEnv, SIMULATOR_RUN_DEFAULTS } from "../run/cli-run.ts";
import { connectSettings } from "../run/lifecycle.ts";
import { THRESHOLDS_ENV } from "../run/watch.ts";
import { splitThresholdSetting } from "../verdict/threshold.ts";
import { stopOnSignals } from "../util/signals.ts";
import { FlagReader, GLOBAL_FLAGS, collect, defineCommand, splitCsvRecord } from "./flags.ts";
import { connectAsOwner, readGlobals, startBuiltInSimulator, type GlobalSettings } from "./deployment.ts";

/** The deployment flags; --verbose comes from the table (SCALETEST_PARAM_VERBOSE) here. */
const DEPLOYMENT_FLAGS = GLOBAL_FLAGS.filter((f) => !f.flags.includes("--verbose"));

/** A setting's flag: its env var without SCALETEST_ / SCALETEST_PARAM_, kebab-case (SCALETEST_PARAM_NUM_WORKSPACES → num-workspaces). */
export function settingFlagName(env: string): string {
  return env.replace(/^SCALETEST_(PARAM_)?/, "").toLowerCase().replaceAll("_", "-");
}

/** One flag per SCALETEST_* setting of the runner table; secrets (Grafana token, Slack webhook) stay env-only. */
export const SETTING_FLAGS: ReadonlyArray<{ long: string; setting: Setting }> = RUNNER_SETTINGS.filter(
  ([, s]) => s.env.startsWith("SCALETEST_") && !s.secret && s.source !== "local",
).map(([, s]) => ({ long: settingFlagName(s.env), setting: s }));

const HELP_AFTER = `
Runs what the runner template runs inside a deployment: prepare (a runner API token, cleanup of what earlier
runs left), create workspaces, baseline, the load scenarios (sequential or concurrent, greedy agent), cleanup
per the strategy, the summary; the runner token is deleted at the end. Results, phase and status files go to
--run-dir (default ./scaletest-runs/<run id>).

Settings: every flag above after the deployment flags is one row of the runner's settings table; it overrides
the env var named in its help (the SCALETEST_PARAM_* variables the template sets), which overrides the default.
Durations are Go durations (30s, 5m); --load-scenarios takes a JSON array or comma-separated names. Bad
settings stop the command before anything is done (exit 2), naming the flag and its env var.
Unlike the template, whose first start is a dry run, this command runs for real unless --dry-run (or
SCALETEST_PARAM_DRY_RUN=true) is given.

Without a deployment (no --url, no CODER_URL, no url file in the config dir) the run goes to the built-in Coder
simulator started in this process, with small defaults under your settings: 8 workspaces, all four scenarios
for 20s each, 5s baseline, the greedy agent, free loopback metrics ports (a few minutes). Nothing outlives
the command. With --dry-run and no deployment only the plan is printed.

SIGINT/SIGTERM stop the traffic; results are written and cleanup runs per the strategy. A second signal stops
the cleanup: results, status and summary are still written, what was not deleted is named (the next cleanup
finds it through the run ledger) and the runner's API token is revoked. A third exits at once.

Examples:
  scaletest run --num-workspaces 3 --load-scenarios "Web Terminal Traffic,App Traffic"
  CODER_URL=https://coder.example.com CODER_SESSION_TOKEN=... scaletest run --dry-run
  SCALETEST_PARAM_NUM_WORKSPACES=50 scaletest run --url https://coder.example.com --greedy-agent

Thresholds (docs/thresholds.md): --thresholds (or $SCALETEST_PARAM_THRESHOLDS) takes one per line or a JSON
array; each --threshold adds one more, e.g.
  scaletest run --threshold "web_terminal.round_trip.p95 < 200ms" --threshold "build.p95 < 2m abortOnFail"

Exit codes: 0 the run passed; 1 a phase or the cleanup failed (whatever the verdict); 2 bad settings (nothing
was done); 3 a threshold failed, or an abortOnFail threshold stopped the run; 4 generator-limited (the runner
was the bottleneck: its latency figures decide nothing); 143 stopped by a signal.`;

export function register(program: Command): void {
  const cmd = defineCommand(program, {
    name: "run",
    description: DESCRIPTIONS.run,
    helpAfter: HELP_AFTER,
    groups: [DEPLOYMENT_FLAGS],
    action: runCommand,
  });
  for (const { long, setting: s } of SETTING_FLAGS) {
    const value = s.kind === "bool" ? "[bool]" : "<value>";
    const opt = new Option(`--${long} ${value}`, `${s.description} ($${s.env}, default ${defaultText(s)}; ${describeAllowed(s)})`);
    // Kept as a list so a second --thresholds is an error, not silently the only one (--threshold adds more).
    if (s.env === THRESHOLDS_ENV) opt.argParser(collect);
    cmd.addOption(opt);
  }
  cmd.addOption(
    new Option("--threshold <expr>", `one threshold, repeatable, added to --thresholds / $${THRESHOLDS_ENV}, e.g. "ssh.round_trip.p95 < 200ms"`).argParser(collect),
  );
}

function defaultText(s: Setting): string {
  if (s.env === "SCALETEST_PARAM_DRY_RUN") return "false here";
  const text = formatSetting(s, s.default);
  return text === "" ? "empty" : text;
}

/** The settings given as flags, as env values (env var → text), and which flag set each env var. A repeated --thresholds is a ConfigError. */
export function settingFlagValues(cmd: Command): { values: Record<string, string>; flagOf: Map<string, string> } {
  const values: Record<string, string> = {};
  const flagOf = new Map<string, string>();
  for (const { long, setting: s } of SETTING_FLAGS) {
    const opt = cmd.options.find((o) => o.long === `--${long}`)!;
    if (cmd.getOptionValueSource(opt.attributeName()) !== "cli") continue;
    let raw = cmd.getOptionValue(opt.attributeName()) as string | boolean | string[];
    if (Array.isArray(raw)) {
      if (raw.length > 1) {
        throw new ConfigError([
          { path: `--${long} (${s.env})`, message: `given ${raw.length} times; it takes one value (one threshold per line, or a JSON array): give more thresholds with --threshold, once each` },
        ]);
      }
      raw = raw[0]!;
    }
    let text = String(raw);
    // A list also takes comma-separated names: `--load-scenarios "SSH Traffic,App Traffic"`.
    if (s.kind === "list" && !text.trim().startsWith("[")) {
      try {
        text = JSON.stringify(splitCsvRecord(text).map((x) => x.trim()).filter(Boolean));
      } catch {
        // left as given: the table's parser reports it, naming the flag
      }
    }
    values[s.env] = text;
    flagOf.set(s.env, `--${long}`);
  }
  return { values, flagOf };
}

/** The env names the template's parameters set. */
const PARAMETER_ENVS = new Set(RUNNER_SETTINGS.filter(([, s]) => s.source === "parameter").map(([, s]) => s.env));

/** The env the run sees: (simulator defaults <) the environment (non-empty values) < the flags, plus the deployment. */
export function runEnv(
  base: NodeJS.ProcessEnv,
  flags: Record<string, string>,
  g: GlobalSettings,
  simulator: boolean,
): NodeJS.ProcessEnv {
  // An empty template parameter is reported by the loader (not replaced by a default); other empty vars count as unset.
  const given = Object.fromEntries(Object.entries(base).filter(([k, v]) => v !== undefined && (v !== "" || PARAMETER_ENVS.has(k))));
  return {
    // A command typed by hand runs for real; the template's dry-run default protects a workspace's first start.
    SCALETEST_PARAM_DRY_RUN: "false",
    ...(simulator ? SIMULATOR_RUN_DEFAULTS : {}),
    ...given,
    ...flags,
    CODER_URL: g.url ?? "",
    CODER_SESSION_TOKEN: g.token ?? "",
    ...(g.connection ? connectionEnv(g.connection) : {}),
    SCALETEST_STATE_DIR: g.stateDir,
  };
}

/**
 * Adds the --threshold flags to the thresholds setting in `env` (--thresholds, else $SCALETEST_PARAM_THRESHOLDS):
 * they add to it, never replace it. `flagOf` learns which --threshold each added entry came from, so a bad one is
 * named by its flag and text. A setting that does not split is left for the loader to report.
 */
export function addThresholdFlags(env: NodeJS.ProcessEnv, texts: readonly string[], flagOf: Map<string, string>): NodeJS.ProcessEnv {
  if (texts.length === 0) return env;
  let base: string[];
  try {
    base = splitThresholdSetting(env[THRESHOLDS_ENV] ?? "");
  } catch {
    return env;
  }
  texts.forEach((t, i) => flagOf.set(`${THRESHOLDS_ENV}[${base.length + i}]`, `--threshold ${JSON.stringify(t)}`));
  return { ...env, [THRESHOLDS_ENV]: JSON.stringify([...base, ...texts]) };
}

/** Validates the whole config (and the connect settings) before anything happens; problems name the flag when one set the value. */
export function validateRunEnv(env: NodeJS.ProcessEnv, flagOf: Map<string, string>): RunnerConfig {
  // An entry of a list setting ("SCALETEST_PARAM_THRESHOLDS[2]") is named by its own flag, else by the list's.
  const flagFor = (path: string): string | undefined => {
    const entry = /^(.*)(\[\d+\])$/.exec(path);
    return flagOf.get(path) ?? (entry && flagOf.has(entry[1]!) ? `${flagOf.get(entry[1]!)}${entry[2]}` : undefined);
  };
  const named = (problems: ConfigProblem[]) =>
    new ConfigError(problems.map((p) => (flagFor(p.path) ? { ...p, path: `${flagFor(p.path)} (${p.path})` } : p)));
  try {
    const cfg = loadRunnerConfig(env);
    connectSettings(cfg);
    return cfg;
  } catch (err) {
    if (err instanceof ConfigError) throw named(err.problems);
    throw err;
  }
}

async function runCommand(cmd: Command): Promise<number> {
  const stderr = process.stderr;
  const r = new FlagReader(cmd, DEPLOYMENT_FLAGS);
  const globals = readGlobals(r);
  r.done();
  const { values, flagOf } = settingFlagValues(cmd);
  const useSimulator = !globals.url;
  const env = addThresholdFlags(runEnv(process.env, values, globals, useSimulator), (cmd.getOptionValue("threshold") as string[] | undefined) ?? [], flagOf);
  // The settings are parsed and checked once, here; every phase gets this typed config.
  const cfg = validateRunEnv(env, flagOf);
  cfg.runDir = resolve(cfg.runDir);
  const log = (l: string) => stderr.write(`${l}\n`);
  const out = (t: string) => process.stdout.write(t);

  if (!useSimulator) {
    if (!cfg.dryRun) await connectAsOwner(globals); // unreachable, rejected token or not an owner: exit 2, nothing done
    return runStagedTest(cfg, { ...stopOnSignals(), log, out, progress: stderr });
  }
  if (cfg.dryRun) {
    log("no deployment given (--url / CODER_URL): dry-run of a run against the built-in Coder simulator; nothing is started");
    return runStagedTest(cfg, { ...stopOnSignals(), log, out, progress: stderr });
  }
  const { sim, ledgerDir, close } = await startBuiltInSimulator(stderr);
  try {
    const simCfg = withEnv(cfg, { ...simulatorConnectEnv(sim), SCALETEST_STATE_DIR: ledgerDir });
    return await runStagedTest(simCfg, { ...stopOnSignals(), log, out, sim, progress: stderr });
  } finally {
    await close();
  }
}
