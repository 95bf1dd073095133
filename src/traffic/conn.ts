// The one connection shape every traffic mode implements, the errors it ends with, and the counting decorator.
import { performance } from "node:perf_hooks";

/** The narrow interface the hot path bumps; the metrics module implements it (seconds for latencies). */
export interface ConnMetrics {
  addRead(bytes: number): void;
  addWritten(bytes: number): void;
  readError(): void;
  writeError(): void;
  observeReadLatency(seconds: number): void;
  observeWriteLatency(seconds: number): void;
  observeRoundTrip(seconds: number): void;
}

/** A ConnMetrics that counts nothing. */
export const noMetrics: ConnMetrics = {
  addRead() {},
  addWritten() {},
  readError() {},
  writeError() {},
  observeReadLatency() {},
  observeWriteLatency() {},
  observeRoundTrip() {},
};

/** A traffic connection: ticks go in through `write`, echoed or streamed bytes come out through `onData`. */
export interface Conn {
  /** True while earlier data is still queued in user space; the tick is then skipped, never queued. */
  readonly busy: boolean;
  /** False once the connection is closing or closed; writes are then ignored. */
  readonly open: boolean;
  /** Payload bytes of one tick (framing excluded). */
  readonly tickBytes: number;
  /** Sends one tick's payload carrying sequence number `seq`. `flushed` runs once the data reached the OS (or failed). */
  write(seq: number, flushed?: (err?: Error | null) => void): void;
  /** Sets the receiver of payload bytes (framing removed). The chunk is only valid during the call. */
  onData(fn: (chunk: Buffer) => void): void;
  /** Settles when the connection ends: resolves on a clean end, rejects with a ConnReadError / ConnWriteError. */
  readonly ended: Promise<void>;
  /** The mode's graceful close, bounded by `timeoutMs`; rejects when the close itself fails. Idempotent. */
  close(timeoutMs: number): Promise<void>;
}

/** The connection failed while reading (abnormal close, dropped socket, corrupted echo). */
export class ConnReadError extends Error {
  override name = "ConnReadError";
  constructor(message: string, options?: ErrorOptions) {
    super(`read from agent: ${message}`, options);
  }
}

/** The connection failed while writing. */
export class ConnWriteError extends Error {
  override name = "ConnWriteError";
  constructor(message: string, options?: ErrorOptions) {
    super(`write to agent: ${message}`, options);
  }
}

/** Wraps `conn` so every write and read updates `metrics` (bytes, latencies, errors), as upstream's countReadWriter. */
export function countingConn(conn: Conn, metrics: ConnMetrics): Conn {
  return new CountingConn(conn, metrics);
}

class CountingConn implements Conn {
  private lastRead = performance.now();
  private writeStart = 0;
  private userFlushed: ((err?: Error | null) => void) | undefined;
  readonly ended: Promise<void>;

  constructor(
    private readonly inner: Conn,
    private readonly metrics: ConnMetrics,
  ) {
    this.ended = inner.ended.catch((err: unknown) => {
      if (err instanceof ConnWriteError) metrics.writeError();
      else metrics.readError();
      throw err;
    });
    // Keep the rejection observable by callers only; avoid an unhandled rejection if nobody awaits it yet.
    this.ended.catch(() => {});
  }

  get busy(): boolean {
    return this.inner.busy;
  }
  get open(): boolean {
    return this.inner.open;
  }
  get tickBytes(): number {
    return this.inner.tickBytes;
  }

  // One bound callback per connection, so a write allocates nothing.
  private readonly onFlushed = (err?: Error | null): void => {
    if (!err) {
      this.metrics.addWritten(this.inner.tickBytes);
      this.metrics.observeWriteLatency((performance.now() - this.writeStart) / 1000);
    }
    const cb = this.userFlushed;
    this.userFlushed = undefined;
    cb?.(err);
  };

  write(seq: number, flushed?: (err?: Error | null) => void): void {
    this.writeStart = performance.now();
    this.userFlushed = flushed;
    this.inner.write(seq, this.onFlushed);
  }

  onData(fn: (chunk: Buffer) => void): void {
    this.inner.onData((chunk) => {
      const now = performance.now();
      this.metrics.observeReadLatency((now - this.lastRead) / 1000);
      this.lastRead = now;
      this.metrics.addRead(chunk.length);
      fn(chunk);
    });
  }

  close(timeoutMs: number): Promise<void> {
    return this.inner.close(timeoutMs);
  }
}
