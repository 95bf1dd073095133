// Harness: registers runs, executes them under a strategy, runs their cleanups, and collects the results.
import { getErrorMessage } from "../errors.ts";
import { withDeadline } from "../util/abort.ts";
import { formatGoDuration } from "../util/duration.ts";
import { formatRfc3339Nano, monoNs } from "./clock.ts";
import { emptyOutcomeCounts, NIL_ERROR, type OutcomeCounts, type Results } from "./results.ts";
import type { Runner } from "./runner.ts";
import { linear, type Strategy } from "./strategies.ts";
import { TestRun } from "./test-run.ts";

/** Observers for live progress; all optional, called synchronously, must not throw. */
export interface HarnessEvents {
  runStarted?(run: TestRun): void;
  runFinished?(run: TestRun): void;
  /** Only for runs that have a cleanup to run. */
  cleanupStarted?(run: TestRun): void;
  cleanupFinished?(run: TestRun): void;
}

export interface HarnessOptions {
  /** How runs are scheduled (default linear). */
  strategy?: Strategy;
  /** How cleanups are scheduled (default linear). */
  cleanupStrategy?: Strategy;
  /** Receives a copy of every log write, e.g. to stream logs to stderr. */
  tee?: (fullId: string, text: string) => void;
  events?: HarnessEvents;
}

/** The cleanup phase's failures combined, formatted like Go's multierror. */
export class CleanupError extends Error {
  override name = "CleanupError";
  constructor(readonly errors: Error[]) {
    const list = errors.map((e) => `\t* ${getErrorMessage(e)}`).join("\n");
    super(`${errors.length} error${errors.length === 1 ? "" : "s"} occurred:\n${list}\n`);
  }
}

type Phase = "registering" | "running" | "done";

export class Harness {
  private readonly runList: TestRun[] = [];
  private readonly ids = new Set<string>();
  private phase: Phase = "registering";
  private elapsedNs = 0;
  private readonly strategy: Strategy;
  private readonly cleanupStrategy: Strategy;

  constructor(private readonly options: HarnessOptions = {}) {
    this.strategy = options.strategy ?? linear;
    this.cleanupStrategy = options.cleanupStrategy ?? linear;
  }

  /** Registers a run. Duplicate full IDs and registering after start are programming errors. */
  addRun(testName: string, id: string, runner: Runner): TestRun {
    if (this.phase !== "registering") throw new Error("cannot add a run after the harness has started");
    const run = new TestRun(testName, id, runner, this.options.tee);
    if (this.ids.has(run.fullId)) throw new Error(`cannot add test with duplicate full ID: ${run.fullId}`);
    this.ids.add(run.fullId);
    this.runList.push(run);
    return run;
  }

  /** The registered runs, in registration order. */
  get runs(): readonly TestRun[] {
    return this.runList;
  }

  /** Executes every run once under the strategy. Run failures are recorded per run, never thrown. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.phase !== "registering") throw new Error("harness is already started");
    this.phase = "running";
    const ev = this.options.events;
    const t0 = monoNs();
    try {
      await this.strategy(
        this.runList.map((run) => async (s: AbortSignal) => {
          ev?.runStarted?.(run);
          const err = await run.run(s);
          ev?.runFinished?.(run);
          return err;
        }),
        signal,
      );
    } finally {
      this.elapsedNs = Number(monoNs() - t0);
      this.phase = "done";
    }
  }

  /** Runs the cleanup of every finished run under the cleanup strategy; throws a CleanupError when any failed. */
  async cleanup(signal: AbortSignal): Promise<void> {
    if (this.phase !== "done") throw new Error("harness has not finished");
    const ev = this.options.events;
    const errs = await this.cleanupStrategy(
      this.runList.map((run) => async (s: AbortSignal) => {
        const active = run.finished && run.runner.cleanup !== undefined;
        if (active) ev?.cleanupStarted?.(run);
        const err = await run.cleanup(s);
        if (active) ev?.cleanupFinished?.(run);
        return err;
      }),
      signal,
    );
    const failed = errs.filter((e): e is Error => e !== undefined);
    if (failed.length > 0) throw new CleanupError(failed);
  }

  /** The upstream-shaped results (logs as of now; call before cleanup for parity). */
  results(): Results {
    if (this.phase !== "done") throw new Error("harness has not finished");
    const results: Results = {
      total_runs: this.runList.length,
      total_pass: 0,
      total_fail: 0,
      elapsed: formatGoDuration(this.elapsedNs / 1e6),
      elapsed_ms: Math.trunc(this.elapsedNs / 1e6),
      runs: {},
    };
    for (const run of this.runList) {
      if (run.outcome === "ok") results.total_pass++;
      else results.total_fail++;
      results.runs[run.fullId] = {
        full_id: run.fullId,
        test_name: run.testName,
        id: run.id,
        logs: run.log.toString(),
        started_at: run.startedAtNs === undefined ? "0001-01-01T00:00:00Z" : formatRfc3339Nano(run.startedAtNs),
        duration: formatGoDuration(run.durationNs / 1e6),
        duration_ms: Math.trunc(run.durationNs / 1e6),
        error: run.outcome === "ok" ? NIL_ERROR : (run.error ?? "run was not executed"),
      };
    }
    return results;
  }

  /** Our summary: how many runs passed, failed, were canceled, timed out. */
  outcomes(): OutcomeCounts {
    const counts = emptyOutcomeCounts();
    for (const run of this.runList) {
      counts.total++;
      counts[run.outcome ?? "canceled"]++;
    }
    return counts;
  }
}

/** Exit code of a finished run phase: 1 when any run did not pass. */
export function exitCodeFor(results: Results): 0 | 1 {
  return results.total_fail > 0 ? 1 : 0;
}

/** Runs a harness phase ("run" or "cleanup") under a phase deadline of `timeoutMs` (0 = none) derived from `signal`. */
export async function runPhase(harness: Harness, phase: "run" | "cleanup", signal: AbortSignal, timeoutMs: number): Promise<void> {
  const d = withDeadline(signal, timeoutMs);
  try {
    await (phase === "run" ? harness.run(d.signal) : harness.cleanup(d.signal));
  } finally {
    d.dispose();
  }
}
