// One traffic job: tick a connection from the shared scheduler until the deadline, verify echoes, close gracefully.
import { performance } from "node:perf_hooks";
import { ConnReadError, ConnWriteError, type Conn, type ConnMetrics } from "./conn.ts";
import { EchoVerifier } from "./echo.ts";
import type { Scheduler, TickTarget } from "./scheduler.ts";
import { LatencyRecorder } from "./stats.ts";
import { waitFor } from "./ws-conn.ts";
import { setLongTimeout, type LongTimer } from "../util/abort.ts";

/** Why a tick was skipped: the send buffer still held the last tick, or too many echoes were outstanding. */
export type SkipReason = "backpressure" | "echo_backlog";

/** Everything a job needs; the connection is already open (and either wrapped by countingConn, or `count` is set). */
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
  /**
   * The job counts bytes, latencies and connection errors into `metrics` itself, exactly as countingConn would
   * (pass the bare connection): one clock read per tick and per echo instead of two, and no wrapper.
   */
  count?: boolean;
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
export function runTrafficJob(opts: TrafficJobOptions): Promise<TrafficJobStats> {
  return new TrafficJob(opts).run();
}

type Stop = "deadline" | "aborted" | "ended" | "echo";

/**
 * One job's state. Thousands of these run at once, so it is one object whose tick, data and flush handlers are
 * created once: a tick or an echo allocates nothing and reads the clock once.
 */
class TrafficJob implements TickTarget {
  private readonly conn: Conn;
  private readonly metrics: ConnMetrics;
  private readonly verifier: EchoVerifier | undefined;
  // The coarser recorder (~12%) is plenty for the job's log line and halves what thousands of jobs keep.
  private readonly stats: TrafficJobStats = { ticks: 0, skipped: 0, roundTrip: new LatencyRecorder(3), verifiedTicks: 0 };
  private readonly count: boolean;
  private seq = 0;
  private writeStart = 0;
  private lastRead = performance.now();
  private echoError: Error | undefined;
  /** Settles the current wait (the run, then the drain of the last echoes). */
  private wake: ((why: Stop) => void) | undefined;
  private draining = false;

  constructor(private readonly opts: TrafficJobOptions) {
    this.conn = opts.conn;
    this.metrics = opts.metrics;
    this.count = opts.count === true;
    this.verifier = opts.echo ? new EchoVerifier(opts.echo.template, opts.echo.markerLen, this.onRoundTrip, opts.echo.capacity) : undefined;
    // One handler pair for the connection's end, whether it wakes the run or comes after it.
    this.conn.ended.then(this.onEnded, this.onFailed);
    this.conn.onData(this.onChunk);
  }

  tick(now: number): void {
    const conn = this.conn;
    if (!conn.open || this.echoError) return;
    if (conn.busy) return this.skip("backpressure");
    const v = this.verifier;
    if (v?.full) return this.skip("echo_backlog");
    const seq = ++this.seq;
    this.stats.ticks++;
    v?.sent(seq, now);
    if (this.count) {
      this.writeStart = now;
      conn.write(seq, this.onFlushed);
    } else conn.write(seq);
  }

  private skip(reason: SkipReason): void {
    this.stats.skipped++;
    this.opts.onSkip?.(reason);
  }

  private readonly onFlushed = (err?: Error | null): void => {
    if (err) return;
    this.metrics.addWritten(this.conn.tickBytes);
    this.metrics.observeWriteLatency((performance.now() - this.writeStart) / 1000);
  };

  private readonly onChunk = (chunk: Buffer): void => {
    const v = this.verifier;
    if (!this.count && !v) return;
    const now = performance.now();
    if (this.count) {
      this.metrics.observeReadLatency((now - this.lastRead) / 1000);
      this.lastRead = now;
      this.metrics.addRead(chunk.length);
    }
    if (!v) return;
    if (!v.consume(chunk, now) && !this.echoError) {
      this.echoError = new ConnReadError(v.error!.message, { cause: v.error });
      this.metrics.readError();
      this.wake?.("echo");
    } else if (this.draining && v.outstanding === 0) this.wake?.("deadline");
  };

  private readonly onRoundTrip = (ms: number): void => {
    this.stats.roundTrip.record(ms);
    this.metrics.observeRoundTrip(ms / 1000);
  };

  private readonly onAbort = (): void => this.wake?.("aborted");
  private readonly onEnded = (): void => this.wake?.("ended");
  private readonly onFailed = (err: unknown): void => {
    // As countingConn: a connection that ends with an error counts one read or write error.
    if (this.count) {
      if (err instanceof ConnWriteError) this.metrics.writeError();
      else this.metrics.readError();
    }
    this.wake?.("ended");
  };

  run(): Promise<TrafficJobStats> {
    const { conn, scheduler, signal } = this.opts;
    const handle = scheduler.add(this.opts.tickIntervalMs, this);

    // Wait for the deadline, the signal, an early end of the connection, or an echo failure: in a plain promise,
    // not an async frame, since every job in flight holds what it waits in.
    let timer: LongTimer | undefined;
    return new Promise<Stop>((resolve) => {
      this.wake = resolve;
      // Chained, so durations past Node's 24.8-day timer limit still hold.
      timer = setLongTimeout(() => resolve("deadline"), this.opts.durationMs);
      if (signal?.aborted) resolve("aborted");
      signal?.addEventListener("abort", this.onAbort, { once: true });
    }).then((stop) => {
      timer?.clear();
      signal?.removeEventListener("abort", this.onAbort);
      scheduler.remove(handle);
      return this.finish(stop);
    });
  }

  /** Drains the last echoes (after a deadline), closes the connection and settles the job's outcome. */
  private async finish(stop: Stop): Promise<TrafficJobStats> {
    const { conn, signal } = this.opts;
    const closeTimeout = this.opts.closeTimeoutMs ?? 30_000;
    const verifier = this.verifier;

    if (stop === "deadline" && verifier && verifier.outstanding > 0 && !this.echoError) {
      // Let the last echoes arrive before closing, so a complete echo is not mistaken for a truncated one.
      const drained = new Promise<Stop>((resolve) => {
        this.wake = resolve;
        this.draining = true;
      });
      await waitFor(Promise.race([drained, conn.ended]), closeTimeout);
    }
    this.wake = undefined;
    verifier?.startClosing();

    let closeError: unknown;
    try {
      await conn.close(stop === "aborted" ? Math.min(closeTimeout, 5_000) : closeTimeout);
    } catch (err) {
      closeError = err;
    }
    if (verifier) this.stats.verifiedTicks = verifier.verified;

    if (stop === "aborted") throw signal!.reason;
    if (this.echoError) throw this.echoError;
    await conn.ended; // throws the connection's read/write error
    const truncated = verifier?.finish();
    if (truncated) {
      this.metrics.readError();
      throw new ConnReadError(truncated.message, { cause: truncated });
    }
    if (closeError) throw closeError;
    return this.stats;
  }
}
