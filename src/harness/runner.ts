// The Runner contract: one unit of load (a job) with `run` and an optional `cleanup`, driven by the harness.

/** Where a run writes its free-form progress text; kept in memory per run (shared by run and cleanup). */
export interface RunLog {
  /** Appends raw text, as an io.Writer would. */
  write(text: string): void;
  /** Appends one line; a newline is added. */
  line(text: string): void;
}

/**
 * One job. `run` resolves on success and throws on failure. When `signal` aborts, it throws
 * (any error; the harness classifies it by the signal's reason as canceled or timed out).
 */
export interface Runner {
  run(signal: AbortSignal, id: string, log: RunLog): Promise<void>;
  /** Removes what `run` created. Must be safe when `run` failed half-way; only called for finished runs. */
  cleanup?(signal: AbortSignal, id: string, log: RunLog): Promise<void>;
}

/** How a run ended: passed, failed, stopped from outside, or stopped by a deadline. */
export type Outcome = "ok" | "failed" | "canceled" | "timed_out";

/** The four outcomes, in display order. */
export const OUTCOMES: readonly Outcome[] = ["ok", "failed", "canceled", "timed_out"];
