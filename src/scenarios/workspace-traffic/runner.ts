// One workspace-traffic job: open the mode's connection to one target and move bytes for the traffic duration.
import { performance } from "node:perf_hooks";
import type { CoderClient } from "../../coder/client.ts";
import { retryLine, teeRetry, type OnRetry } from "../../coder/retry.ts";
import type { Runner, RunLog } from "../../harness/runner.ts";
import type { RunnerHealth } from "../../metrics/health.ts";
import type { JobMetrics, JobOutcome, TrafficMetrics } from "../../metrics/registry.ts";
import { DeadlineError, isAbortError } from "../../util/abort.ts";
import { formatGoDuration } from "../../util/duration.ts";
import { openApp } from "../../traffic/app.ts";
import type { Conn } from "../../traffic/conn.ts";
import { DialGate } from "../../traffic/dial-gate.ts";
import { holdTightHeapGrowth } from "../../util/heap-growth.ts";
import { runTrafficJob, type EchoSpec } from "../../traffic/job.ts";
import { payloadFor, terminalEcho } from "../../traffic/payload.ts";
import { openRpty } from "../../traffic/rpty.ts";
import type { Scheduler } from "../../traffic/scheduler.ts";
import { openSsh } from "../../traffic/ssh.ts";
import { trafficMode, WORKSPACE_TRAFFIC_TEST_NAME, type WorkspaceTrafficConfig } from "./config.ts";
import { selectTrafficTargets, type TrafficSelection, type TrafficTarget } from "./select.ts";

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
  /** The client's extra headers, the env handing them to a `coder` child, and the retries hook. */
  connection?: CoderClient["connection"];
  /** The phase's own tally of its dials' retries (the results' totals); the connection's hook counts them in metrics. */
  retries?: OnRetry;
  /** Bounds the connections being opened at once (`--dial-concurrency`); none: every job dials at once. */
  dialGate?: DialGate;
}

/**
 * The dial gate of one thread's jobs of a phase: `limit` openings at once, the old generation's growth held tight
 * while they run (on the main thread only; see util/heap-growth.ts).
 */
export function phaseDialGate(limit: number): DialGate {
  return new DialGate(limit, { whileBusy: holdTightHeapGrowth });
}

/** What opening a job's connection yields: the connection, its echo (when checked), and the SSH child's pid. */
interface Opened {
  raw: Conn;
  echo?: EchoSpec;
  pid?: number;
}

/** One job: open the mode's connection to one target and run the traffic for `--timeout`. */
export class WorkspaceTrafficRunner implements Runner {
  constructor(
    readonly target: TrafficTarget,
    private readonly ctx: TrafficContext,
  ) {}

  run(signal: AbortSignal, _id: string, log: RunLog): Promise<void> {
    const t0 = performance.now();
    const jobs = this.ctx.jobs;
    jobs?.started(WORKSPACE_TRAFFIC_TEST_NAME);
    // A `then` on the traffic's promise rather than an async frame around it: thousands of jobs wait at once.
    return this.traffic(signal, log).then(
      () => jobs?.finished(WORKSPACE_TRAFFIC_TEST_NAME, "ok", (performance.now() - t0) / 1000),
      (err: unknown) => {
        const outcome: JobOutcome = signal.aborted && isAbortError(signal.reason) ? (signal.reason instanceof DeadlineError ? "timed_out" : "canceled") : "failed";
        jobs?.finished(WORKSPACE_TRAFFIC_TEST_NAME, outcome, (performance.now() - t0) / 1000);
        throw err;
      },
    );
  }

  private async traffic(signal: AbortSignal, log: RunLog): Promise<void> {
    const { workspace: ws, agent } = this.target;
    // The series exist from the job's start, as upstream's; everything the dial holds is made once it has a slot.
    const metrics = this.ctx.traffic.connMetrics({ username: ws.owner_name, workspace_name: ws.name, agent_name: agent.name });
    const release = await this.ctx.dialGate?.acquire(signal);
    let opened: Opened;
    try {
      opened = await this.open(signal, log);
    } finally {
      release?.();
    }
    const { raw, echo, pid } = opened;
    const { cfg, health } = this.ctx;
    const mode = trafficMode(cfg);
    const closed = health?.connectionOpened(mode, pid);
    log.line("Connected; sending traffic.");
    // Returned, not awaited: this frame (and all it holds) is gone while the traffic runs, for thousands of jobs.
    return runTrafficJob({
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
    }).then(
      (stats) => {
        const rtt = stats.roundTrip;
        log.line(
          `Done: ${stats.ticks} ticks written, ${stats.skipped} skipped` +
            (rtt.count > 0 ? `, ${stats.verifiedTicks} echoes verified, round trip p50 ${rtt.percentile(50).toFixed(2)}ms p99 ${rtt.percentile(99).toFixed(2)}ms` : ""),
        );
        closed?.();
      },
      (err: unknown) => {
        closed?.();
        throw err;
      },
    );
  }

  /** Opens the mode's connection (the dial, with its retries); what the traffic needs of it. */
  private async open(signal: AbortSignal, log: RunLog): Promise<Opened> {
    const { cfg, url, token } = this.ctx;
    const { workspace: ws, agent } = this.target;
    const mode = trafficMode(cfg);
    const payload = payloadFor(cfg.bytesPerTick);
    const conn = this.ctx.connection;
    const headers = { ...conn?.headers, "Coder-Session-Token": token, "X-Coder-Bypass-Ratelimit": "true" };
    // Every retry of this job's dial lands in its log (the results JSON) as well as in the metrics and the phase's totals.
    const onRetry = teeRetry((e) => log.line(retryLine(e)), conn?.onRetry, this.ctx.retries);
    // The upgrade is a request to the deployment: --request-timeout bounds its handshake (a stalled proxy), not 30 s.
    const handshakeTimeoutMs = conn?.requestTimeoutMs || undefined;
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
        headerEnv: conn?.headerEnv,
        onRetry,
        payload,
        username: cfg.sshUser,
        sshIdentityFile: cfg.sshIdentityFile,
        signal,
      });
      pid = c.pid;
      raw = c;
      echo = { template: payload.bytes, markerLen: payload.markerLen };
    } else if (mode === "app") {
      raw = await openApp({ url: this.target.appUrl!, payload, headers, resolve: cfg.resolve, onRetry, handshakeTimeoutMs, signal });
      if (cfg.app === "wsec") echo = { template: payload.bytes, markerLen: payload.markerLen };
    } else {
      raw = await openRpty({ url, agentId: agent.id, payload, headers, resolve: cfg.resolve, onRetry, handshakeTimeoutMs, signal });
      echo = { template: terminalEcho(payload), markerLen: payload.markerLen };
    }
    return { raw, echo, pid };
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
  ctx: Omit<TrafficContext, "url" | "token" | "connection">,
  o: { signal?: AbortSignal; onSelectionRetry?: OnRetry } = {},
): Promise<TrafficSelection & { runs: TrafficRun[] }> {
  const sel = await selectTrafficTargets(o.onSelectionRetry ? client.withRetryHook(o.onSelectionRetry) : client, ctx.cfg, { signal: o.signal });
  // One context (and one dial gate) for every job, not a copy each.
  const dialGate = ctx.dialGate ?? phaseDialGate(ctx.cfg.dialConcurrency);
  const shared = { ...ctx, url: client.url, token: client.token ?? "", connection: client.connection, dialGate };
  const runs = sel.targets.map((t): TrafficRun => ({
    testName: WORKSPACE_TRAFFIC_TEST_NAME,
    id: String(t.index),
    runner: new WorkspaceTrafficRunner(t, shared),
  }));
  return { ...sel, runs };
}
