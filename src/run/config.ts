// Runner config: loads the template's env (one table, runner-env.ts) into a typed object and validates it before any side effect.
import { ConfigError, registerSecret, type ConfigProblem } from "../errors.ts";
import { connectionFromEnv, type ConnectionSettings } from "../coder/headers.ts";
import { deploymentUrlProblem, urlCredentials } from "../coder/urls.ts";
import { checkSetting, parseSetting, type Setting } from "../config/settings.ts";
import type { RunFacts } from "../scenarios/context.ts";
import { SCENARIOS } from "../scenarios/index.ts";
import { scenarioValues } from "./scenario-values.ts";
import { RUNNER_ENV, type RunnerConfig, type RunnerField } from "./settings.ts";

export type { RunnerConfig, RunnerField } from "./settings.ts";
export { scenarioLoad, scenarioValues } from "./scenario-values.ts";
import { slicesProblems } from "./slices.ts";
import { shardLoadProblems } from "./shard-plan.ts";
import { runThresholds } from "./watch.ts";


/** Every setting with its RunnerConfig field name, in table order. */
export const RUNNER_SETTINGS: ReadonlyArray<[RunnerField, Setting]> = Object.entries(RUNNER_ENV) as Array<[RunnerField, Setting]>;

/** Options for loadRunnerConfig: the clock and working directory used for derived defaults. */
export interface LoadOptions {
  now?: Date;
  cwd?: string;
}

/** The run id upstream derives from the start time: `scaletest-2024-09-18T11-47-53Z`. */
export function runIdFromStartTime(iso: string): string {
  return `scaletest-${iso.replace(/\.\d+/, "").replace(/:/g, "-")}`;
}

/** The config with every setting at its default (before derived values are filled in). */
export function defaultRunnerConfig(): RunnerConfig {
  const cfg: Record<string, unknown> = {};
  for (const [field, s] of RUNNER_SETTINGS) cfg[field] = s.kind === "list" ? [...s.default] : s.default;
  return cfg as RunnerConfig;
}

/**
 * Reads every env var in RUNNER_ENV, parses, fills derived defaults (start time, run id, run dir) and
 * validates. Throws one ConfigError listing every problem; registers secrets for redaction.
 */
export function loadRunnerConfig(env: NodeJS.ProcessEnv, opts: LoadOptions = {}): RunnerConfig {
  const cfg = defaultRunnerConfig() as Record<string, unknown>;
  const problems: ConfigProblem[] = [];
  const unparsed = new Set<string>();
  for (const c of urlCredentials(env.CODER_URL ?? "")) registerSecret(c);
  for (const [field, s] of RUNNER_SETTINGS) {
    const raw = settingText(env, s);
    if (s.secret) registerSecret(raw);
    const r = parseSetting(s, raw);
    if ("problem" in r) {
      problems.push(r.problem);
      unparsed.add(s.env);
    } else cfg[field] = r.value;
  }
  const config = cfg as RunnerConfig;
  if (config.runStartTime === "") config.runStartTime = (opts.now ?? new Date()).toISOString().replace(/\.\d+Z$/, "Z");
  if (config.runId === "") config.runId = runIdFromStartTime(config.runStartTime);
  if (config.runDir === "") config.runDir = `${opts.cwd ?? process.cwd()}/scaletest-runs/${config.runId}`;
  // A value that did not parse was replaced by its default; don't report a second problem for it.
  problems.push(...validateRunnerConfig(config).filter((p) => !unparsed.has(p.path)));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The env text of a setting: its own name, else the first of upstream's names that is set. */
function settingText(env: NodeJS.ProcessEnv, s: Setting): string | undefined {
  if (env[s.env] !== undefined && env[s.env] !== "") return env[s.env];
  for (const alias of s.aliases ?? []) if (env[alias] !== undefined && env[alias] !== "") return env[alias];
  return env[s.env];
}

/**
 * The config with the settings `env` names replaced (the rest kept as they are), checked again as a whole; e.g. the
 * built-in simulator's URL and token once it listens. Throws one ConfigError listing every problem.
 */
export function withEnv(cfg: RunnerConfig, env: Record<string, string>): RunnerConfig {
  const next = { ...cfg } as Record<string, unknown>;
  const problems: ConfigProblem[] = [];
  for (const [field, s] of RUNNER_SETTINGS) {
    if (!(s.env in env)) continue;
    if (s.secret) registerSecret(env[s.env]);
    const r = parseSetting(s, env[s.env]);
    if ("problem" in r) problems.push(r.problem);
    else next[field] = r.value;
  }
  problems.push(...validateRunnerConfig(next as RunnerConfig));
  if (problems.length > 0) throw new ConfigError(problems);
  return next as RunnerConfig;
}

/** The run's headers and request deadline (CODER_HEADER, CODER_HEADER_COMMAND, CODER_SCALETEST_REQUEST_TIMEOUT rows), checked as the CLI checks them. */
export function connectionFromConfig(cfg: Pick<RunnerConfig, "coderHeader" | "coderHeaderCommand" | "requestTimeout">): ConnectionSettings {
  return connectionFromEnv({ CODER_HEADER: cfg.coderHeader, CODER_HEADER_COMMAND: cfg.coderHeaderCommand, CODER_SCALETEST_REQUEST_TIMEOUT: `${cfg.requestTimeout}ms` });
}

const paramName = (field: RunnerField) => {
  const p = (RUNNER_ENV[field] as Setting).parameter;
  return p ? ` (template parameter "${p.name}")` : "";
};
const envName = (field: RunnerField) => (RUNNER_ENV[field] as Setting).env;

/** Pure validation of a typed config: every range and option, then the rules that relate settings. */
export function validateRunnerConfig(cfg: RunnerConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [field, s] of RUNNER_SETTINGS) if (field !== "coderUrl") problems.push(...checkSetting(s, cfg[field]));
  // The URL's own check, which never repeats credentials a URL carries.
  const urlProblem = cfg.coderUrl ? deploymentUrlProblem(cfg.coderUrl) : undefined;
  if (urlProblem) problems.push({ path: envName("coderUrl"), message: urlProblem });

  if (cfg.greedyAgent && cfg.greedyAgentTemplate === cfg.workspaceTemplate) {
    problems.push({
      path: envName("greedyAgentTemplate"),
      message: `must differ from ${envName("workspaceTemplate")}${paramName("workspaceTemplate")} when the greedy agent is on${paramName("greedyAgentTemplate")}, both are "${cfg.workspaceTemplate}"`,
    });
  }
  if (cfg.loadScenarios.includes("App Traffic") && cfg.workspaceTemplate !== "kubernetes-minimal") {
    problems.push({
      path: envName("workspaceTemplate"),
      message: `must be "kubernetes-minimal" when "App Traffic" is selected${paramName("workspaceTemplate")}: only that variant serves the wsec/wsra/wsdi apps, got "${cfg.workspaceTemplate}"`,
    });
  }
  const facts: RunFacts = {
    workspaceTemplate: cfg.workspaceTemplate,
    greedyAgent: cfg.greedyAgent,
    workspaceTemplateSetting: `${envName("workspaceTemplate")}${paramName("workspaceTemplate")}`,
    greedyAgentSetting: `${envName("greedyAgent")}${paramName("greedyAgent")}`,
  };
  for (const name of new Set(Array.isArray(cfg.loadScenarios) ? cfg.loadScenarios : [])) {
    const row = SCENARIOS[name];
    if (row?.validate) problems.push(...row.validate(scenarioValues(cfg, row), facts));
  }
  // Port 0 picks a free port per server, so zeros never clash.
  const ports = [cfg.trafficMetricsPort, cfg.dashboardMetricsPort, cfg.runnerMetricsPort].filter((p) => p !== 0);
  if (new Set(ports).size !== ports.length) {
    problems.push({ path: envName("runnerMetricsPort"), message: `metrics ports must be distinct, got ${ports.join(", ")}` });
  }
  if (cfg.runnerShards > 1) {
    // Shard pods get credentials only through a Kubernetes secret; nothing secret may ride in the Job spec.
    if (!cfg.shardSecret) {
      problems.push({ path: envName("shardSecret"), message: `must name the Kubernetes secret (key \`token\`) the shard pods read the Coder token from when ${envName("runnerShards")}${paramName("runnerShards")} is ${cfg.runnerShards}` });
    }
    if (cfg.coderHeaderCommand) {
      problems.push({ path: envName("coderHeaderCommand"), message: `cannot reach shard pods (${envName("runnerShards")} is ${cfg.runnerShards}); put the headers in the shard secret's \`header\` key instead` });
    }
  }
  problems.push(...slicesProblems(cfg));
  problems.push(...shardLoadProblems(cfg));
  try {
    runThresholds(cfg);
  } catch (err) {
    if (err instanceof ConfigError) problems.push(...err.problems);
    else throw err;
  }
  try {
    connectionFromConfig(cfg);
  } catch (err) {
    if (err instanceof ConfigError) problems.push(...err.problems);
    else throw err;
  }
  return problems;
}
