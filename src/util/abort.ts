// Cancellation helpers: every sleep and wait in the project goes through these so one AbortSignal stops it.
import { setTimeout as delay } from "node:timers/promises";

/** Sleeps for `ms`, rejecting with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
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

/** A signal that aborts when `parent` aborts or after `ms` (0 = never), with a DeadlineError as the reason. */
export function withDeadline(parent: AbortSignal | undefined, ms: number): { signal: AbortSignal; dispose: () => void } {
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(parent?.reason);
  if (parent?.aborted) ctl.abort(parent.reason);
  else parent?.addEventListener("abort", onAbort, { once: true });
  const timer = ms > 0 ? setTimeout(() => ctl.abort(new DeadlineError()), ms) : undefined;
  timer?.unref?.();
  return {
    signal: ctl.signal,
    dispose: () => {
      if (timer) clearTimeout(timer);
      parent?.removeEventListener("abort", onAbort);
    },
  };
}
