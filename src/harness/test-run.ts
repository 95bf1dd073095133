// TestRun: one registered job; runs it, keeps its log, timing and error, and turns throws into data.
import { getErrorMessage } from "../errors.ts";
import { DeadlineError, isAbortError } from "../util/abort.ts";
import { monoNs, nowNs } from "./clock.ts";
import type { Outcome, RunLog, Runner } from "./runner.ts";

/** The in-memory log of one run; `tee` receives a copy of every write (e.g. a verbose stderr sink). */
export class MemoryLog implements RunLog {
  private chunks: string[] = [];
  constructor(private readonly tee?: (text: string) => void) {}
  write(text: string): void {
    this.chunks.push(text);
    this.tee?.(text);
  }
  line(text: string): void {
    this.write(text.endsWith("\n") ? text : `${text}\n`);
  }
  toString(): string {
    if (this.chunks.length > 1) this.chunks = [this.chunks.join("")];
    return this.chunks[0] ?? "";
  }
}

/** True when `reason` is a deadline (ours, or AbortSignal.timeout's TimeoutError). */
function isDeadline(reason: unknown): boolean {
  return reason instanceof DeadlineError || (reason instanceof Error && reason.name === "TimeoutError");
}

/**
 * Classifies a failure: if the run's signal had aborted, its reason decides (deadline → timed_out, else canceled);
 * an abort error thrown without our signal aborting is judged by its own kind; anything else is failed.
 */
export function classifyFailure(err: unknown, signal: AbortSignal): Outcome {
  if (signal.aborted) return isDeadline(signal.reason) ? "timed_out" : "canceled";
  if (isAbortError(err)) return isDeadline(err) ? "timed_out" : "canceled";
  return "failed";
}

/** Renders a run error as one line; a stop from outside names its reason when the runner's error does not. */
function describeFailure(err: unknown, signal: AbortSignal, outcome: Outcome): string {
  const msg = getErrorMessage(err);
  const reason = signal.aborted ? signal.reason : undefined;
  if (outcome !== "failed" && reason instanceof Error && reason !== err && !msg.includes(reason.message)) {
    return `${msg}: ${reason.message}`;
  }
  return msg;
}

/** A run's state. `error` is undefined on success; `outcome` is undefined until the run finished. */
export class TestRun {
  readonly fullId: string;
  readonly log: MemoryLog;
  /** Wall-clock start, epoch nanoseconds (undefined until started). */
  startedAtNs?: bigint;
  /** Run time in nanoseconds. */
  durationNs = 0;
  /** The rendered error (secrets redacted); undefined on success. */
  error?: string;
  outcome?: Outcome;
  /** Cleanup state: undefined = not attempted. */
  cleanupOutcome?: Outcome;
  cleanupError?: string;

  constructor(
    readonly testName: string,
    readonly id: string,
    readonly runner: Runner,
    tee?: (fullId: string, text: string) => void,
  ) {
    this.fullId = `${testName}/${id}`;
    this.log = new MemoryLog(tee ? (text) => tee(this.fullId, text) : undefined);
  }

  get started(): boolean {
    return this.startedAtNs !== undefined;
  }

  get finished(): boolean {
    return this.outcome !== undefined;
  }

  /** Runs the job once. Never rejects: returns the error (or undefined) and records it. */
  run(signal: AbortSignal): Promise<Error | undefined> {
    if (this.started) return Promise.reject(new Error(`run ${this.fullId} already started`));
    this.startedAtNs = nowNs();
    const t0 = monoNs();
    // Handlers on the runner's promise rather than an async frame: every job in flight would hold the frame.
    let p: Promise<void>;
    try {
      p = this.runner.run(signal, this.id, this.log);
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.then(
      () => {
        this.durationNs = Number(monoNs() - t0);
        this.outcome = "ok";
        return undefined;
      },
      (err: unknown) => {
        this.durationNs = Number(monoNs() - t0);
        this.outcome = classifyFailure(err, signal);
        this.error = describeFailure(err, signal, this.outcome);
        return err instanceof Error ? err : new Error(this.error);
      },
    );
  }

  /** Runs the job's cleanup if it has one and the run finished. Never rejects. */
  async cleanup(signal: AbortSignal): Promise<Error | undefined> {
    if (!this.finished || !this.runner.cleanup) return undefined;
    try {
      await this.runner.cleanup(signal, this.id, this.log);
      this.cleanupOutcome = "ok";
      return undefined;
    } catch (err) {
      this.cleanupOutcome = classifyFailure(err, signal);
      this.cleanupError = describeFailure(err, signal, this.cleanupOutcome);
      return new Error(`${this.fullId}: ${this.cleanupError}`, { cause: err });
    }
  }
}
