// create-workspaces' config: upstream's flags as one typed object, its defaults, and the checks that name each flag.
import type { ConfigProblem } from "../../errors.ts";
import { DEFAULT_STRATEGY, validateStrategyConfig, type StrategyConfig } from "../../harness/strategies.ts";

/** Extra attempts of a read-only setup request after a transient answer. */
export const SETUP_RETRIES = 3;

/** The test name of every job, as upstream: full IDs are `workspacebuild/<i>`. */
export const TEST_NAME = "workspacebuild";

/** Settings of one create-workspaces run (flags of `scaletest create-workspaces`). */
export interface CreateWorkspacesConfig {
  /** Number of users and workspaces; > 0. */
  count: number;
  /** Template name or UUID. */
  template: string;
  /** How many new `start` builds a failed build gets; also the client's retries of transient 5xx. */
  retry: number;
  /** Keep users and workspaces afterwards. */
  noCleanup: boolean;
  /** A job passes once its build succeeds; agents are not awaited. */
  noWaitForAgents: boolean;
  /** Create no users; every workspace belongs to the logged-in owner. */
  useHostLogin: boolean;
  /** Rich parameter values by name (from --rich-parameter-file, then --parameter). */
  parameters: Record<string, string>;
  /** The run phase: --concurrency, --timeout, --job-timeout. */
  strategy: StrategyConfig;
  /** The cleanup phase: --cleanup-concurrency, --cleanup-timeout, --cleanup-job-timeout. */
  cleanup: StrategyConfig;
  /** Command run in each workspace through the web terminal once its agents are connected; "" runs none. */
  runCommand: string;
  /** Time the command gets to end its output stream, milliseconds; 0 means no limit. */
  runTimeoutMs: number;
  /** Pass only if the command is still running at --run-timeout. */
  runExpectTimeout: boolean;
  /** Fail unless some output line contains this; "" checks nothing. */
  runExpectOutput: string;
  /** Copy the command's output lines into the job log, each prefixed with a tab. */
  runLogOutput: boolean;
  /** Poll interval while a build is pending, milliseconds (upstream 500). */
  buildPollMs: number;
  /** Poll interval while waiting for agents, milliseconds (upstream 1000). */
  agentPollMs: number;
}

export function defaultCreateWorkspacesConfig(): CreateWorkspacesConfig {
  return {
    count: 1,
    template: "",
    retry: 0,
    noCleanup: false,
    noWaitForAgents: false,
    useHostLogin: false,
    parameters: {},
    strategy: { ...DEFAULT_STRATEGY },
    cleanup: { ...DEFAULT_STRATEGY },
    runCommand: "",
    runTimeoutMs: 5000,
    runExpectTimeout: false,
    runExpectOutput: "",
    runLogOutput: false,
    buildPollMs: 500,
    agentPollMs: 1000,
  };
}

/** Pure checks of the settings; each problem names its flag. */
export function validateCreateWorkspacesConfig(cfg: CreateWorkspacesConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!Number.isInteger(cfg.count) || cfg.count <= 0) {
    problems.push({ path: "--count", message: `is required and must be an integer greater than 0, got ${cfg.count}` });
  } else if (cfg.count > 1e13) problems.push({ path: "--count", message: "must be at most 10000000000000 (names hold 13 digits)" });
  if (!cfg.template.trim()) problems.push({ path: "--template", message: "is required (a template name or UUID)" });
  if (!Number.isInteger(cfg.retry) || cfg.retry < 0) problems.push({ path: "--retry", message: `must be an integer >= 0, got ${cfg.retry}` });
  if (cfg.runCommand && cfg.runExpectTimeout && cfg.runTimeoutMs <= 0) {
    problems.push({ path: "--run-timeout", message: "must be greater than 0 with --run-expect-timeout" });
  }
  problems.push(...validateStrategyConfig(cfg.strategy, { concurrency: "--concurrency", timeout: "--timeout", jobTimeout: "--job-timeout" }));
  problems.push(
    ...validateStrategyConfig(cfg.cleanup, {
      concurrency: "--cleanup-concurrency",
      timeout: "--cleanup-timeout",
      jobTimeout: "--cleanup-job-timeout",
    }),
  );
  return problems;
}
