// workspace-traffic's config: upstream's flags as one typed object, its defaults, and the validation that names each flag.
import { ConfigError, getErrorMessage, type ConfigProblem } from "../../errors.ts";
import { BYTES_PER_TICK, DIAL_CONCURRENCY, TICK_INTERVAL_MS } from "../../traffic/limits.ts";
import type { ResolveEntry } from "../../traffic/resolve.ts";
import { formatGoDuration } from "../../util/duration.ts";
import { parseTargetRange } from "../targets.ts";

/** The harness test name of every traffic job (`workspace-traffic/<index>`). */
export const WORKSPACE_TRAFFIC_TEST_NAME = "workspace-traffic";

/** App traffic modes: the workspace app slugs the minimal variant serves (echo, read random, write and discard). */
export const APP_MODES = ["wsec", "wsra", "wsdi"] as const;

/** How a job reaches its workspace. */
export type TrafficMode = "rpty" | "ssh" | "app";

/** Everything `scaletest workspace-traffic` takes besides the strategy and output flags. */
export interface WorkspaceTrafficConfig {
  /** `--template`: only workspaces of this template (name; "" = all). */
  template: string;
  /** `--target-workspaces`: `START:END` over the filtered list ("" = all). */
  targetWorkspaces: string;
  /** `--bytes-per-tick`: bytes written per tick (the runner's traffic range, 1 B to 32 MiB). */
  bytesPerTick: number;
  /** `--tick-interval`: milliseconds between ticks (the runner's traffic range, 1 ms to 1 min). */
  tickIntervalMs: number;
  /** `--timeout`: traffic duration of every job, milliseconds (> 0). */
  durationMs: number;
  /** `--ssh`: SSH instead of the web terminal. */
  ssh: boolean;
  /** `--app`: app slug (wsec, wsra, wsdi in the scaletest template); "" = no app. */
  app: string;
  /** `--use-host-login`: only workspaces owned by the caller. */
  useHostLogin: boolean;
  /** Check every echoed byte and time round trips (web terminal, SSH, wsec). Off for agents whose terminal adds output (screen). */
  verifyEcho: boolean;
  /** `coder` binary for SSH mode. */
  coderBinary?: string;
  /** Private key tried after "none" auth in SSH mode. */
  sshIdentityFile?: string;
  /** SSH user name (Coder ignores it). */
  sshUser?: string;
  /** DNS overrides for app and terminal dials (`--resolve`). */
  resolve?: ResolveEntry[];
  /** `--dial-concurrency`: connections of this phase being opened at once (0 = no limit, as upstream). */
  dialConcurrency: number;
}

/** Upstream's defaults. */
export const defaultWorkspaceTrafficConfig: WorkspaceTrafficConfig = {
  template: "",
  targetWorkspaces: "",
  bytesPerTick: BYTES_PER_TICK.default,
  tickIntervalMs: TICK_INTERVAL_MS.default,
  durationMs: 30 * 60_000,
  ssh: false,
  app: "",
  useHostLogin: false,
  verifyEcho: true,
  dialConcurrency: DIAL_CONCURRENCY.default,
};


/** Every problem with the config, each naming its flag. */
export function validateWorkspaceTrafficConfig(cfg: WorkspaceTrafficConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!Number.isInteger(cfg.bytesPerTick) || cfg.bytesPerTick < BYTES_PER_TICK.min || cfg.bytesPerTick > BYTES_PER_TICK.max) {
    problems.push({ path: "--bytes-per-tick", message: `must be an integer from ${BYTES_PER_TICK.min} to ${BYTES_PER_TICK.max}, got ${cfg.bytesPerTick}` });
  }
  if (!(cfg.tickIntervalMs >= TICK_INTERVAL_MS.min && cfg.tickIntervalMs <= TICK_INTERVAL_MS.max)) {
    const got = Number.isFinite(cfg.tickIntervalMs) ? formatGoDuration(cfg.tickIntervalMs) : cfg.tickIntervalMs;
    problems.push({ path: "--tick-interval", message: `must be a duration from ${formatGoDuration(TICK_INTERVAL_MS.min)} to ${formatGoDuration(TICK_INTERVAL_MS.max)}, got ${got}` });
  }
  if (!Number.isInteger(cfg.dialConcurrency) || cfg.dialConcurrency < DIAL_CONCURRENCY.min || cfg.dialConcurrency > DIAL_CONCURRENCY.max) {
    problems.push({ path: "--dial-concurrency", message: `must be an integer from ${DIAL_CONCURRENCY.min} (no limit) to ${DIAL_CONCURRENCY.max}, got ${cfg.dialConcurrency}` });
  }
  if (!(cfg.durationMs > 0)) problems.push({ path: "--timeout", message: "must be greater than zero (it is also the traffic duration)" });
  if (cfg.ssh && cfg.app) problems.push({ path: "--ssh", message: "must be false when app is used" });
  if (cfg.app && !/^[a-z0-9](?:-?[a-z0-9])*$/.test(cfg.app)) problems.push({ path: "--app", message: `must be an app slug (lowercase letters, digits, dashes), got "${cfg.app}"` });
  try {
    parseTargetRange(cfg.targetWorkspaces, "workspaces");
  } catch (err) {
    problems.push({ path: "--target-workspaces", message: getErrorMessage(err) });
  }
  return problems;
}

/** The mode a config selects. */
export function trafficMode(cfg: Pick<WorkspaceTrafficConfig, "ssh" | "app">): TrafficMode {
  return cfg.ssh ? "ssh" : cfg.app ? "app" : "rpty";
}

/** Throws one ConfigError listing every problem (exit 2 before any request). */
export function assertValid(cfg: WorkspaceTrafficConfig): void {
  const problems = validateWorkspaceTrafficConfig(cfg);
  if (problems.length > 0) throw new ConfigError(problems);
}
