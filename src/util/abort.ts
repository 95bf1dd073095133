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
  const due = performance.now() + Math.max(0, ms);
  let timer: NodeJS.Timeout | undefined;
  let cleared = false;
  const arm = (left: number) => {
    timer = setTimeout(step, Math.min(MAX_TIMER_MS, Math.max(0, left)));
    if (opts.unref) timer.unref?.();
  };
  const step = () => {
    if (cleared) return;
    const left = due - performance.now();
    // A link of the chain may fire a little early; only the last one runs `fn`.
    if (left > 1) arm(left);
    else fn();
  };
  arm(ms);
  return {
    clear: () => {
      cleared = true;
      if (timer) clearTimeout(timer);
    },
  };
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
  const ctl = new AbortController();
  // A phase's signal is the parent of every job in flight; hundreds of listeners on it are expected, not a leak.
  setMaxListeners(0, ctl.signal);
  const onAbort = () => ctl.abort(parent?.reason);
  if (parent?.aborted) ctl.abort(parent.reason);
  else parent?.addEventListener("abort", onAbort, { once: true });
  const timer = ms > 0 ? setLongTimeout(() => ctl.abort(reason()), ms, { unref: true }) : undefined;
  return {
    signal: ctl.signal,
    dispose: () => {
      timer?.clear();
      parent?.removeEventListener("abort", onAbort);
    },
  };
}

/** AbortSignal.timeout for any duration up to MAX_DURATION_MS: aborts with a TimeoutError after `ms`. */
export function timeoutSignal(ms: number): AbortSignal {
  const ctl = new AbortController();
  setLongTimeout(() => ctl.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")), ms, { unref: true });
  return ctl.signal;
}
