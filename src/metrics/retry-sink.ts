// Where a Coder client's retries go. Clients are made before a command has its metrics (and commands without
// metrics make them too), so they report here, and the process's RunnerHealth, once one exists, counts them.
// No prom-client import: every command's client loads this.
import type { OnRetry, RetryEvent } from "../coder/retry.ts";

let sink: OnRetry | undefined;

/** The `onRetry` for the process's Coder clients. */
export const reportRetry: OnRetry = (e: RetryEvent) => sink?.(e);

/** Sends the process's retries to `fn` from now on. */
export function setRetrySink(fn: OnRetry): void {
  sink = fn;
}
