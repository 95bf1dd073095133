// One traffic job: tick a connection from the shared scheduler until the deadline, verify echoes, close gracefully.
import { performance } from "node:perf_hooks";
import type { Conn, ConnMetrics } from "./conn.ts";
import { ConnReadError } from "./conn.ts";
import { EchoVerifier } from "./echo.ts";
import type { Scheduler, TickTarget } from "./scheduler.ts";
import { LatencyRecorder } from "./stats.ts";
import { waitFor } from "./ws-conn.ts";
import { setLongTimeout, type LongTimer } from "../util/abort.ts";

/** Why a tick was skipped: the send buffer still held the last tick, or too many echoes were outstanding. */
export type SkipReason = "backpressure" | "echo_backlog";

/** Everything a job needs; the connection is already open (and usually wrapped by countingConn). */
export interface TrafficJobOptions {
  conn: Conn;
  scheduler: Scheduler;
  /** Time between ticks (milliseconds). */
  tickIntervalMs: number;
  /** Traffic duration (milliseconds) from the job's start. */
  durationMs: number;
  /** What each tick's echo looks like; leave out for modes that echo nothing (wsra, wsdi) or when verification is off. */
  echo?: EchoSpec;
  metrics: ConnMetrics;
  /** Called for each skipped tick (kept out of the hot path's allocations: a plain call). */
  onSkip?: (reason: SkipReason) => void;
  /** Bound for the graceful close and for waiting on outstanding echoes (milliseconds, default 30000, as upstream). */
  closeTimeoutMs?: number;
  signal?: AbortSignal;
}

/** The expected echo of one tick: `template` with its first `markerLen` bytes replaced by the tick's marker. */
export interface EchoSpec {
  template: Buffer;
  markerLen: number;
  /** Most ticks awaiting their echo before ticks are skipped (default 32). */
  capacity?: number;
}

/** What a job did, for its log. */
export interface TrafficJobStats {
  ticks: number;
  skipped: number;
  /** Round trips in milliseconds (only with a verifier). */
  roundTrip: LatencyRecorder;
  verifiedTicks: number;
}

/**
 * Runs the traffic until `durationMs` passes (success) or the signal aborts (throws its reason).
 * Fails on an abnormal close, a read or write failure, or an echo that differs from what was sent.
 */
export async function runTrafficJob(opts: TrafficJobOptions): Promise<TrafficJobStats> {
  const { conn, scheduler, metrics } = opts;
  const closeTimeout = opts.closeTimeoutMs ?? 30_000;
  const stats: TrafficJobStats = { ticks: 0, skipped: 0, roundTrip: new LatencyRecorder(), verifiedTicks: 0 };
  const verifier = opts.echo
    ? new EchoVerifier(
        opts.echo.template,
        opts.echo.markerLen,
        (ms) => {
          stats.roundTrip.record(ms);
          metrics.observeRoundTrip(ms / 1000);
        },
        opts.echo.capacity,
      )
    : undefined;
  let echoError: Error | undefined;
  let wakeEcho: (() => void) | undefined;

  if (verifier) {
    conn.onData((chunk) => {
      if (!verifier.consume(chunk, performance.now()) && !echoError) {
        echoError = new ConnReadError(verifier.error!.message, { cause: verifier.error });
        metrics.readError();
        wakeEcho?.();
      } else if (verifier.outstanding === 0) wakeEcho?.();
    });
  } else {
    conn.onData(() => {});
  }

  let seq = 0;
  const target: TickTarget = {
    tick(now) {
      if (!conn.open || echoError) return;
      if (conn.busy) return skip("backpressure");
      if (verifier?.full) return skip("echo_backlog");
      seq++;
      stats.ticks++;
      verifier?.sent(seq, now);
      conn.write(seq);
    },
  };
  const skip = (reason: SkipReason) => {
    stats.skipped++;
    opts.onSkip?.(reason);
  };
  const handle = scheduler.add(opts.tickIntervalMs, target);

  // Wait for the deadline, the signal, an early end of the connection, or an echo failure.
  let timer: LongTimer | undefined;
  let onAbort: (() => void) | undefined;
  const stop = await new Promise<"deadline" | "aborted" | "ended" | "echo">((resolve) => {
    timer = setLongTimeout(() => resolve("deadline"), opts.durationMs);
    onAbort = () => resolve("aborted");
    if (opts.signal?.aborted) resolve("aborted");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    conn.ended.then(
      () => resolve("ended"),
      () => resolve("ended"),
    );
    wakeEcho = () => {
      if (echoError) resolve("echo");
    };
  });
  timer?.clear();
  if (onAbort) opts.signal?.removeEventListener("abort", onAbort);
  scheduler.remove(handle);

  if (stop === "deadline" && verifier && verifier.outstanding > 0 && !echoError) {
    // Let the last echoes arrive before closing, so a complete echo is not mistaken for a truncated one.
    const drained = new Promise<void>((resolve) => {
      wakeEcho = () => {
        if (echoError || verifier.outstanding === 0) resolve();
      };
    });
    await waitFor(Promise.race([drained, conn.ended]), closeTimeout);
  }
  verifier?.startClosing();

  let closeError: unknown;
  try {
    await conn.close(stop === "aborted" ? Math.min(closeTimeout, 5_000) : closeTimeout);
  } catch (err) {
    closeError = err;
  }
  if (verifier) stats.verifiedTicks = verifier.verified;

  if (stop === "aborted") throw opts.signal!.reason;
  if (echoError) throw echoError;
  await conn.ended; // throws the connection's read/write error
  const truncated = verifier?.finish();
  if (truncated) {
    metrics.readError();
    throw new ConnReadError(truncated.message, { cause: truncated });
  }
  if (closeError) throw closeError;
  return stats;
}
