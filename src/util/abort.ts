// Cancellation and timer helpers: every sleep, deadline and timeout in the project goes through these, so one
// AbortSignal stops it and a duration longer than the platform's timers hold still fires on time.
import { setMaxListeners } from "node:events";

/**
 * The longest delay one setTimeout holds (2^31-1 ms, about 24.8 days). Node turns a longer one into 1 ms with a
 * TimeoutOverflowWarning; `setLongTimeout` chains timers instead, so every duration up to MAX_DURATION_MS works.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The longest duration accepted anywhere: Go's time.Duration maximum (2^63-1 ns, 2562047h47m16.854775807s), in ms. */
export const MAX_DURATION_MS = 9_223_372_036_854.775;

/** A cancellable timer handle. */
export interface LongTimer {
  clear(): void;
}

/**
 * Runs `fn` once after `ms` milliseconds, chaining timers of at most MAX_TIMER_MS for longer delays.
 * `unref` keeps the timer from holding the process open (as timer.unref()).
 */
export function setLongTimeout(fn: () => void, ms: number, opts: { unref?: boolean } = {}): LongTimer {
  return new ChainedTimer(fn, ms, opts.unref === true);
}

/**
 * One object per timer, its steps methods rather than closures: every job in flight holds one or two of these.
 * The callback gets the object as setTimeout's argument, so no bound function is made either.
 */
class ChainedTimer implements LongTimer {
  private readonly due: number;
  private timer: NodeJS.Timeout | undefined;
  private cleared = false;

  constructor(
    private readonly fn: () => void,
    ms: number,
    private readonly unref: boolean,
  ) {
    this.due = performance.now() + Math.max(0, ms);
    this.arm(ms);
  }

  private arm(left: number): void {
    this.timer = setTimeout(ChainedTimer.step, Math.min(MAX_TIMER_MS, Math.max(0, left)), this);
    if (this.unref) this.timer.unref?.();
  }

  private static step(self: ChainedTimer): void {
    if (self.cleared) return;
    const left = self.due - performance.now();
    // A link of the chain may fire a little early; only the last one runs `fn`.
    if (left > 1) self.arm(left);
    else self.fn();
  }

  clear(): void {
    this.cleared = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

/**
 * Sleeps for `ms` (any length up to MAX_DURATION_MS). When the signal aborts first it rejects as
 * node:timers/promises does: an AbortError whose cause is the signal's reason.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal.reason));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      timer.clear();
      reject(abortError(signal!.reason));
    };
    const timer = setLongTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function abortError(reason: unknown): Error {
  return Object.assign(new Error("The operation was aborted", { cause: reason }), { name: "AbortError", code: "ABORT_ERR" });
}

/** True for the errors an aborted signal produces (AbortError, TimeoutError, or our own reasons). */
export function isAbortError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === "AbortError" || err.name === "TimeoutError" || err instanceof CanceledError || err instanceof DeadlineError;
}

/** The reason used when a run is stopped from outside (SIGTERM, Ctrl+C, parent deadline). */
export class CanceledError extends Error {
  override name = "CanceledError";
  constructor(message = "canceled") {
    super(message);
  }
}

/** The reason used when a run's own deadline expires. */
export class DeadlineError extends Error {
  override name = "DeadlineError";
  constructor(message = "context deadline exceeded") {
    super(message);
  }
}

/** A signal that aborts when `parent` aborts or after `ms` (0 = never), with a DeadlineError (or `reason()`) as the reason. */
export function withDeadline(parent: AbortSignal | undefined, ms: number, reason: () => Error = () => new DeadlineError()): { signal: AbortSignal; dispose: () => void } {
  const d = new Deadline(parent, ms, reason);
  d.refs = 1;
  return d;
}

/** A job's deadline from `sharedDeadlines`: its signal, and `dispose()` to call once when the job is done. */
export interface JobDeadline {
  readonly signal: AbortSignal;
  dispose(): void;
  /** Disposes once `p` settles, and settles as `p` does. */
  disposeAfter<T>(p: Promise<T>): Promise<T>;
}

/**
 * Deadlines of `ms` for many jobs, each counted from the job's own start, shared by jobs that start within the
 * same window: 1% of `ms`, at most 1 s. A deadline of its own is an AbortController, a timer and a listener on the
 * parent; a traffic phase starts thousands of jobs at once, and each would hold all three while it runs. A shared
 * deadline fires at the end of its window plus `ms`, so every job gets at least `ms` and at most 1% (or 1 s) more.
 */
export function sharedDeadlines(ms: number, reason: () => Error = () => new DeadlineError()): (parent: AbortSignal) => JobDeadline {
  const window = Math.min(1000, ms / 100);
  let current: Deadline | undefined;
  let openUntil = 0;
  return (parent) => {
    const now = performance.now();
    if (!current || current.done || current.parent !== parent || now >= openUntil) {
      current = new Deadline(parent, ms + window, reason);
      openUntil = now + window;
    }
    current.refs++;
    return current;
  };
}

/** One deadline (withDeadline's, or one that `sharedDeadlines` hands to every job of a window). */
class Deadline implements JobDeadline {
  private readonly ctl = new AbortController();
  private readonly timer: LongTimer | undefined;
  /** Holders of this deadline; at 0 its timer and parent listener go (and a shared one takes no new jobs). */
  refs = 0;
  done = false;

  constructor(
    readonly parent: AbortSignal | undefined,
    ms: number,
    reason: () => Error,
  ) {
    // A phase's signal, or a shared deadline's, is the parent of every job in flight: hundreds of listeners on it
    // are expected, not a leak.
    setMaxListeners(0, this.ctl.signal);
    if (parent?.aborted) this.ctl.abort(parent.reason);
    else parent?.addEventListener("abort", this.onAbort, { once: true });
    this.timer = ms > 0 ? setLongTimeout(() => this.ctl.abort(reason()), ms, { unref: true }) : undefined;
  }

  get signal(): AbortSignal {
    return this.ctl.signal;
  }

  private readonly onAbort = () => this.ctl.abort(this.parent?.reason);

  // Made once per deadline, not once per job.
  private readonly passed = <T>(v: T): T => (this.dispose(), v);
  private readonly failed = (err: unknown): never => {
    this.dispose();
    throw err;
  };

  disposeAfter<T>(p: Promise<T>): Promise<T> {
    return p.then(this.passed, this.failed);
  }

  dispose(): void {
    if (--this.refs > 0) return;
    this.done = true;
    this.timer?.clear();
    this.parent?.removeEventListener("abort", this.onAbort);
  }
}

/** AbortSignal.timeout for any duration up to MAX_DURATION_MS: aborts with a TimeoutError after `ms`. */
export function timeoutSignal(ms: number): AbortSignal {
  const ctl = new AbortController();
  setLongTimeout(() => ctl.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")), ms, { unref: true });
  return ctl.signal;
}
