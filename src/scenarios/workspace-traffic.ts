// Workspace traffic (§5): pick the scaletest workspaces as upstream does, then one Runner per target moving bytes.
import { performance } from "node:perf_hooks";
import type { CoderClient } from "../coder/client.ts";
import { RUNNER_ENV } from "../config/runner-env.ts";
import { describeAllowed } from "../config/settings.ts";
import type { User, Workspace, WorkspaceAgent } from "../coder/types.ts";
import { ConfigError, getErrorMessage, type ConfigProblem } from "../errors.ts";
import type { Runner, RunLog } from "../harness/runner.ts";
import type { RunnerHealth } from "../metrics/health.ts";
import type { JobMetrics, JobOutcome, TrafficMetrics } from "../metrics/registry.ts";
import { DeadlineError, isAbortError } from "../util/abort.ts";
import { formatGoDuration } from "../util/duration.ts";
import { appUrl, openApp } from "../traffic/app.ts";
import type { Conn } from "../traffic/conn.ts";
import { runTrafficJob, type EchoSpec } from "../traffic/job.ts";
import { payloadFor, terminalEcho } from "../traffic/payload.ts";
import type { ResolveEntry } from "../traffic/resolve.ts";
import { openRpty } from "../traffic/rpty.ts";
import type { Scheduler } from "../traffic/scheduler.ts";
import { openSsh } from "../traffic/ssh.ts";
import { parseTargetRange, selectTargetWorkspaces } from "./targets.ts";

/** The harness test name of every traffic job (`workspace-traffic/<index>`). */
export const WORKSPACE_TRAFFIC_TEST_NAME = "workspace-traffic";

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
}

/** Upstream's defaults. */
export const defaultWorkspaceTrafficConfig: WorkspaceTrafficConfig = {
  template: "",
  targetWorkspaces: "",
  bytesPerTick: 1024,
  tickIntervalMs: 100,
  durationMs: 30 * 60_000,
  ssh: false,
  app: "",
  useHostLogin: false,
  verifyEcho: true,
};

// The flags take the ranges the runner's traffic settings declare (one builder makes the SSH, web terminal and app rows alike).
const BYTES_PER_TICK = RUNNER_ENV.webTerminalBytesPerTick;
const TICK_INTERVAL = RUNNER_ENV.webTerminalTickInterval;

/** Every problem with the config, each naming its flag. */
export function validateWorkspaceTrafficConfig(cfg: WorkspaceTrafficConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!Number.isInteger(cfg.bytesPerTick) || cfg.bytesPerTick < BYTES_PER_TICK.min || cfg.bytesPerTick > BYTES_PER_TICK.max) {
    problems.push({ path: "--bytes-per-tick", message: `must be ${describeAllowed(BYTES_PER_TICK)}, got ${cfg.bytesPerTick}` });
  }
  if (!(cfg.tickIntervalMs >= TICK_INTERVAL.minMs && cfg.tickIntervalMs <= TICK_INTERVAL.maxMs)) {
    problems.push({ path: "--tick-interval", message: `must be ${describeAllowed(TICK_INTERVAL)}, got ${Number.isFinite(cfg.tickIntervalMs) ? formatGoDuration(cfg.tickIntervalMs) : cfg.tickIntervalMs}` });
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

/** One target: what a job needs of the workspace and its chosen agent (not the REST objects), and (app mode) the app URL. */
export interface TrafficTarget {
  index: number;
  workspace: Pick<Workspace, "id" | "name" | "owner_name">;
  agent: Pick<WorkspaceAgent, "id" | "name">;
  appUrl?: string;
}

/** The selection, before any connection is opened. */
export interface TrafficSelection {
  targets: TrafficTarget[];
  /** Lines upstream prints (ownership skips to stdout, "no agent" warnings to stderr). */
  stdout: string[];
  stderr: string[];
}

/**
 * Target selection exactly as upstream (§5.1 steps 2-8): validate the template, parse the range, read the app host,
 * list the scaletest workspaces (owner-exec rule, paged `q` filter, prefix filter), check the range, pick agents.
 */
export async function selectTrafficTargets(client: CoderClient, cfg: WorkspaceTrafficConfig, o: { signal?: AbortSignal } = {}): Promise<TrafficSelection> {
  assertValid(cfg);
  if (cfg.template) {
    try {
      await client.resolveTemplate(cfg.template, o);
    } catch (err) {
      if (o.signal?.aborted) throw err;
      throw new ConfigError([{ path: "--template", message: getErrorMessage(err) }]);
    }
  }
  const range = parseTargetRange(cfg.targetWorkspaces, "workspaces");
  const { host: appHost } = await client.appHost(o);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const workspaces = await listScaletestWorkspaces(client, cfg, stdout, o);
  const targets: TrafficTarget[] = [];
  for (const { index, item: ws } of selectTargetWorkspaces(workspaces, range)) {
    const agent = chooseAgent(ws);
    if (!agent) {
      stderr.push(`WARN: skipping workspace ${ws.name}: no agent`);
      continue;
    }
    const t: TrafficTarget = { index, workspace: { id: ws.id, name: ws.name, owner_name: ws.owner_name }, agent: { id: agent.id, name: agent.name } };
    if (cfg.app) {
      const app = agent.apps.find((a) => a.slug === cfg.app);
      if (!app) throw new Error(`app "${cfg.app}" not found in workspace "${ws.name}"`);
      t.appUrl = appUrl(client.url, appHost, app, ws.owner_name, ws.name, agent.name);
    }
    targets.push(t);
  }
  return { targets, stdout, stderr };
}

/** `getScaletestWorkspaces`: skip others' workspaces when owner exec is disabled, page with the `q` filter, keep `scaletest-` names. */
async function listScaletestWorkspaces(client: CoderClient, cfg: WorkspaceTrafficConfig, stdout: string[], o: { signal?: AbortSignal }): Promise<Workspace[]> {
  const me: User = await client.me(o);
  const dc = await client.deploymentConfig(o);
  const ownerExecDisabled = dc.config["disable_owner_workspace_exec"] === true;
  const terms = [...(cfg.useHostLogin ? ['owner:"me"'] : []), 'name:"scaletest-"', ...(cfg.template ? [`template:"${cfg.template}"`] : [])];
  const all = await client.allWorkspaces(terms.join(" "), o);
  let skipped = 0;
  const out: Workspace[] = [];
  for (const ws of all) {
    if (!ws.owner_name.startsWith("scaletest-") && !ws.name.startsWith("scaletest-")) continue;
    if (ownerExecDisabled && ws.owner_id !== me.id) {
      skipped++;
      continue;
    }
    out.push(ws);
  }
  if (skipped > 0) {
    stdout.push(
      `CODER_DISABLE_OWNER_WORKSPACE_ACCESS is set on the deployment.\n\t${skipped} workspace(s) were skipped due to ownership mismatch.\n\tSet --use-host-login to only target workspaces you own.`,
    );
  }
  return out;
}

/** Upstream's agent choice (a quirk): the first agent of the LAST resource that has agents. */
export function chooseAgent(ws: Workspace): WorkspaceAgent | undefined {
  let agent: WorkspaceAgent | undefined;
  for (const r of ws.latest_build.resources) if (r.agents && r.agents.length > 0) agent = r.agents[0];
  return agent;
}

/** What every job of one command shares. */
export interface TrafficContext {
  cfg: WorkspaceTrafficConfig;
  /** Deployment URL and the admin token (header auth for dials; the SSH child's environment). */
  url: URL;
  token: string;
  scheduler: Scheduler;
  traffic: TrafficMetrics;
  health?: RunnerHealth;
  jobs?: JobMetrics;
  /** Bound for the graceful close (milliseconds, default 30000). */
  closeTimeoutMs?: number;
}

/** One job: open the mode's connection to one target and run the traffic for `--timeout`. */
export class WorkspaceTrafficRunner implements Runner {
  constructor(
    readonly target: TrafficTarget,
    private readonly ctx: TrafficContext,
  ) {}

  async run(signal: AbortSignal, _id: string, log: RunLog): Promise<void> {
    const t0 = performance.now();
    let outcome: JobOutcome = "ok";
    try {
      await this.traffic(signal, log);
    } catch (err) {
      outcome = signal.aborted && isAbortError(signal.reason) ? (signal.reason instanceof DeadlineError ? "timed_out" : "canceled") : "failed";
      throw err;
    } finally {
      this.ctx.jobs?.finished(WORKSPACE_TRAFFIC_TEST_NAME, outcome, (performance.now() - t0) / 1000);
    }
  }

  private async traffic(signal: AbortSignal, log: RunLog): Promise<void> {
    const { cfg, url, token, health } = this.ctx;
    const { workspace: ws, agent } = this.target;
    const mode = trafficMode(cfg);
    const payload = payloadFor(cfg.bytesPerTick);
    const metrics = this.ctx.traffic.connMetrics({ username: ws.owner_name, workspace_name: ws.name, agent_name: agent.name });
    const headers = { "Coder-Session-Token": token, "X-Coder-Bypass-Ratelimit": "true" };
    log.line(`Connecting to workspace ${ws.owner_name}/${ws.name}.${agent.name} (${mode}, ${cfg.bytesPerTick} bytes every ${formatGoDuration(cfg.tickIntervalMs)})...`);
    let raw: Conn;
    let echo: EchoSpec | undefined;
    let pid: number | undefined;
    if (mode === "ssh") {
      if (!cfg.coderBinary) throw new Error("connect to workspace via ssh: no coder binary (set --coder-binary or CODER_BINARY, or put coder on PATH)");
      const c = await openSsh({
        coderBinary: cfg.coderBinary,
        target: `${ws.owner_name}/${ws.name}.${agent.name}`,
        coderUrl: url.toString(),
        token,
        payload,
        username: cfg.sshUser,
        sshIdentityFile: cfg.sshIdentityFile,
        signal,
      });
      pid = c.pid;
      raw = c;
      echo = { template: payload.bytes, markerLen: payload.markerLen };
    } else if (mode === "app") {
      raw = await openApp({ url: this.target.appUrl!, payload, headers, resolve: cfg.resolve, signal });
      if (cfg.app === "wsec") echo = { template: payload.bytes, markerLen: payload.markerLen };
    } else {
      raw = await openRpty({ url, agentId: agent.id, payload, headers, resolve: cfg.resolve, signal });
      echo = { template: terminalEcho(payload), markerLen: payload.markerLen };
    }
    const closed = health?.connectionOpened(mode, pid);
    try {
      log.line("Connected; sending traffic.");
      const stats = await runTrafficJob({
        conn: raw,
        count: true,
        scheduler: this.ctx.scheduler,
        tickIntervalMs: cfg.tickIntervalMs,
        durationMs: cfg.durationMs,
        echo: cfg.verifyEcho ? echo : undefined,
        metrics,
        onSkip: health ? (r) => health.skip(r) : undefined,
        closeTimeoutMs: this.ctx.closeTimeoutMs,
        signal,
      });
      const rtt = stats.roundTrip;
      log.line(
        `Done: ${stats.ticks} ticks written, ${stats.skipped} skipped` +
          (rtt.count > 0 ? `, ${stats.verifiedTicks} echoes verified, round trip p50 ${rtt.percentile(50).toFixed(2)}ms p99 ${rtt.percentile(99).toFixed(2)}ms` : ""),
      );
    } finally {
      closed?.();
    }
  }
}

/** One run for the harness. */
export interface TrafficRun {
  testName: typeof WORKSPACE_TRAFFIC_TEST_NAME;
  id: string;
  runner: WorkspaceTrafficRunner;
}

/** Selects the targets and builds one Runner per target (IDs are list indexes, gaps kept). */
export async function prepareWorkspaceTraffic(
  client: CoderClient,
  ctx: Omit<TrafficContext, "url" | "token">,
  o: { signal?: AbortSignal } = {},
): Promise<TrafficSelection & { runs: TrafficRun[] }> {
  const sel = await selectTrafficTargets(client, ctx.cfg, o);
  const token = client.token ?? "";
  const runs = sel.targets.map((t): TrafficRun => ({
    testName: WORKSPACE_TRAFFIC_TEST_NAME,
    id: String(t.index),
    runner: new WorkspaceTrafficRunner(t, { ...ctx, url: client.url, token }),
  }));
  return { ...sel, runs };
}

function assertValid(cfg: WorkspaceTrafficConfig): void {
  const problems = validateWorkspaceTrafficConfig(cfg);
  if (problems.length > 0) throw new ConfigError(problems);
}
