// Harness: registers runs, executes them under a strategy, runs their cleanups, and collects the results.
import { getErrorMessage } from "../errors.ts";
import { withDeadline } from "../util/abort.ts";
import { formatGoDuration } from "../util/duration.ts";
import { formatRfc3339Nano, monoNs } from "./clock.ts";
import { emptyOutcomeCounts, NIL_ERROR, type OutcomeCounts, type Results } from "./results.ts";
import type { Outcome, Runner } from "./runner.ts";
import { linear, type Strategy } from "./strategies.ts";
import { classifyFailure, TestRun } from "./test-run.ts";

/** Observers for live progress; all optional, called synchronously, must not throw. */
export interface HarnessEvents {
  runStarted?(run: TestRun): void;
  runFinished?(run: TestRun): void;
  /** A lazily registered run the strategy reached after its phase had ended (deadline or stop): never built, never started. */
  runNotStarted?(testName: string, id: string, outcome: Outcome): void;
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

/** A lazily registered run that its phase never started; one shared record per stop reason. */
interface NotStarted {
  readonly outcome: Outcome;
  readonly error: string;
}

/** Runs `testName/0 .. testName/count-1`, each built by `make(i)` only when the strategy reaches it. */
interface LazyRuns {
  readonly testName: string;
  readonly count: number;
  readonly make: (index: number) => Runner;
  readonly slots: Array<TestRun | NotStarted | undefined>;
}

type Entry = TestRun | LazyRuns;

const ZERO_TIME = "0001-01-01T00:00:00Z";

export class Harness {
  private readonly entries: Entry[] = [];
  private readonly ids = new Set<string>();
  private readonly lazyNames = new Map<string, number>();
  private phase: Phase = "registering";
  private elapsedNs = 0;
  private readonly strategy: Strategy;
  private readonly cleanupStrategy: Strategy;
  private readonly notStarted = new WeakMap<object, NotStarted>();

  constructor(private readonly options: HarnessOptions = {}) {
    this.strategy = options.strategy ?? linear;
    this.cleanupStrategy = options.cleanupStrategy ?? linear;
  }

  /** Registers a run. Duplicate full IDs and registering after start are programming errors. */
  addRun(testName: string, id: string, runner: Runner): TestRun {
    if (this.phase !== "registering") throw new Error("cannot add a run after the harness has started");
    const run = new TestRun(testName, id, runner, this.options.tee);
    const lazy = this.lazyNames.get(testName);
    if (this.ids.has(run.fullId) || (lazy !== undefined && /^\d+$/.test(id) && Number(id) < lazy)) throw new Error(`cannot add test with duplicate full ID: ${run.fullId}`);
    this.ids.add(run.fullId);
    this.entries.push(run);
    return run;
  }

  /**
   * Registers `count` runs `testName/0` .. `testName/<count-1>` whose runners are built by `make(i)` only when the
   * strategy reaches run i: memory grows with the runs started, not the runs registered. A run reached after its
   * phase ended is recorded as canceled or timed out without being built.
   */
  addRuns(testName: string, count: number, make: (index: number) => Runner): void {
    if (this.phase !== "registering") throw new Error("cannot add a run after the harness has started");
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be an integer >= 0, got ${count}`);
    if (this.lazyNames.has(testName) || [...this.ids].some((id) => id.startsWith(`${testName}/`))) throw new Error(`cannot add runs with duplicate test name: ${testName}`);
    this.lazyNames.set(testName, count);
    this.entries.push({ testName, count, make, slots: new Array(count) });
  }

  /** The runs built so far (every run added with addRun; those of addRuns the strategy started), in registration order. */
  get runs(): readonly TestRun[] {
    const out: TestRun[] = [];
    for (const e of this.entries) {
      if (e instanceof TestRun) out.push(e);
      else for (const slot of e.slots) if (slot instanceof TestRun) out.push(slot);
    }
    return out;
  }

  /** Number of registered runs, built or not. */
  get size(): number {
    let n = 0;
    for (const e of this.entries) n += e instanceof TestRun ? 1 : e.count;
    return n;
  }

  /** Executes every run once under the strategy. Run failures are recorded per run, never thrown. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.phase !== "registering") throw new Error("harness is already started");
    this.phase = "running";
    const ev = this.options.events;
    const t0 = monoNs();
    // Plain functions returning the run's promise, not async ones: each async frame a job waits in is held by
    // every job in flight (thousands, for traffic phases).
    const execute = (run: TestRun, s: AbortSignal): Promise<undefined> => {
      ev?.runStarted?.(run);
      return run.run(s).then(() => {
        ev?.runFinished?.(run);
        // The error is on the run; not returning it keeps no error objects (and their stacks) for the whole phase.
        return undefined;
      });
    };
    const locate = this.locator();
    try {
      await this.strategy(
        {
          length: this.size,
          at: (k) => {
            const { entry, index } = locate(k);
            if (entry instanceof TestRun) return (s: AbortSignal) => execute(entry, s);
            return (s: AbortSignal) => {
              if (s.aborted) {
                entry.slots[index] = this.notStartedFor(s);
                ev?.runNotStarted?.(entry.testName, String(index), entry.slots[index].outcome);
                return Promise.resolve(undefined);
              }
              const run = new TestRun(entry.testName, String(index), entry.make(index), this.options.tee);
              entry.slots[index] = run;
              return execute(run, s);
            };
          },
        },
        signal,
      );
    } finally {
      this.elapsedNs = Number(monoNs() - t0);
      this.phase = "done";
    }
  }

  /** Maps a run's position in the phase to its entry (binary search over the entries' first positions). */
  private locator(): (k: number) => { entry: Entry; index: number } {
    const starts: number[] = [];
    let n = 0;
    for (const e of this.entries) {
      starts.push(n);
      n += e instanceof TestRun ? 1 : e.count;
    }
    return (k) => {
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= k) lo = mid;
        else hi = mid - 1;
      }
      return { entry: this.entries[lo]!, index: k - starts[lo]! };
    };
  }

  private notStartedFor(s: AbortSignal): NotStarted {
    const reason: unknown = s.reason;
    const key = typeof reason === "object" && reason !== null ? reason : s;
    let rec = this.notStarted.get(key);
    if (!rec) {
      rec = { outcome: classifyFailure(reason, s), error: getErrorMessage(reason, "canceled") };
      this.notStarted.set(key, rec);
    }
    return rec;
  }

  /** Runs the cleanup of every finished run under the cleanup strategy; throws a CleanupError when any failed. */
  async cleanup(signal: AbortSignal): Promise<void> {
    if (this.phase !== "done") throw new Error("harness has not finished");
    const ev = this.options.events;
    const runs = this.runs;
    const errs = await this.cleanupStrategy(
      runs.map((run) => async (s: AbortSignal) => {
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

  /** Every registered run in order: a built run, a run never started, or (undefined) one the strategy never reached. */
  private *each(): Generator<{ testName: string; id: string; run: TestRun | NotStarted | undefined }> {
    for (const e of this.entries) {
      if (e instanceof TestRun) yield { testName: e.testName, id: e.id, run: e };
      else for (let i = 0; i < e.count; i++) yield { testName: e.testName, id: String(i), run: e.slots[i] };
    }
  }

  /** The upstream-shaped results (logs as of now; call before cleanup for parity). */
  results(): Results {
    if (this.phase !== "done") throw new Error("harness has not finished");
    const results: Results = {
      total_runs: 0,
      total_pass: 0,
      total_fail: 0,
      elapsed: formatGoDuration(this.elapsedNs / 1e6),
      elapsed_ms: Math.trunc(this.elapsedNs / 1e6),
      runs: {},
    };
    for (const { testName, id, run } of this.each()) {
      results.total_runs++;
      const fullId = `${testName}/${id}`;
      if (run instanceof TestRun && run.outcome === "ok") results.total_pass++;
      else results.total_fail++;
      if (run instanceof TestRun) {
        results.runs[fullId] = {
          full_id: fullId,
          test_name: testName,
          id,
          logs: run.log.toString(),
          started_at: run.startedAtNs === undefined ? ZERO_TIME : formatRfc3339Nano(run.startedAtNs),
          duration: formatGoDuration(run.durationNs / 1e6),
          duration_ms: Math.trunc(run.durationNs / 1e6),
          error: run.outcome === "ok" ? NIL_ERROR : (run.error ?? "run was not executed"),
        };
      } else {
        results.runs[fullId] = { full_id: fullId, test_name: testName, id, logs: "", started_at: ZERO_TIME, duration: "0s", duration_ms: 0, error: run?.error ?? "run was not executed" };
      }
    }
    return results;
  }

  /** Our summary: how many runs passed, failed, were canceled, timed out. */
  outcomes(): OutcomeCounts {
    const counts = emptyOutcomeCounts();
    for (const { run } of this.each()) {
      counts.total++;
      counts[run?.outcome ?? "canceled"]++;
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
