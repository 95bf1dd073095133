// Execution strategies: how a list of jobs is scheduled (linear, concurrent(limit), per-job timeout, shuffle).
import { randomInt } from "node:crypto";
import { sharedDeadlines } from "../util/abort.ts";

/** One job as a strategy sees it: never rejects, returns its error or undefined. */
export type TestFn = (signal: AbortSignal) => Promise<Error | undefined>;

/**
 * The jobs a strategy runs: an array, or a list that builds each job only when the strategy asks for it (`at`), so a
 * phase of 100k jobs holds only the ones in flight and done.
 */
export interface JobList {
  readonly length: number;
  at(index: number): TestFn | undefined;
}

/** Runs every fn (each exactly once) and returns their errors in input order. */
export type Strategy = (fns: JobList, signal: AbortSignal) => Promise<(Error | undefined)[]>;

/**
 * Runs `fn`; a misbehaving fn's rejection (or synchronous throw) comes back as its error, so it never rejects the
 * whole strategy. Not async: every job in flight holds each async frame it waits in, and a `catch` costs less.
 */
function settle(fn: TestFn, signal: AbortSignal): Promise<Error | undefined> {
  try {
    return fn(signal).catch(asError);
  } catch (err) {
    return Promise.resolve(asError(err));
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** One after another, in registration order. */
export const linear: Strategy = async (fns, signal) => {
  const errs: (Error | undefined)[] = [];
  for (let i = 0; i < fns.length; i++) errs.push(await settle(fns.at(i)!, signal));
  return errs;
};

/**
 * At most `limit` at once (0 = all at once). Slots are handed out in registration order
 * (upstream's semaphore gives no order; ours is deterministic, which is a valid instance of it).
 */
export function concurrent(limit: number): Strategy {
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`concurrency must be an integer >= 0, got ${limit}`);
  return async (fns, signal) => {
    if (limit === 0) {
      // Every job at once: each one's promise straight into Promise.all, with no worker frame around it.
      const all: Promise<Error | undefined>[] = new Array(fns.length);
      for (let i = 0; i < fns.length; i++) all[i] = settle(fns.at(i)!, signal);
      return Promise.all(all);
    }
    const errs: (Error | undefined)[] = new Array(fns.length);
    const workers = Math.min(limit, fns.length);
    let next = 0;
    const worker = async () => {
      while (next < fns.length) {
        const i = next++;
        errs[i] = await settle(fns.at(i)!, signal);
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
    return errs;
  };
}

/**
 * Gives each job its own deadline of `ms`, counted from when the job actually starts (queue time excluded). Jobs
 * that start together share one deadline (util/abort.ts sharedDeadlines: at most 1% or 1 s later than their own).
 */
export function withTimeout(ms: number, inner: Strategy): Strategy {
  if (!(ms > 0)) return inner;
  return (fns, signal) => {
    const deadline = sharedDeadlines(ms);
    // Not async: every job in flight would hold the frame.
    const wrap =
      (fn: TestFn): TestFn =>
      (s: AbortSignal) => {
        // Reached after the phase ended: no deadline (and no timer) to arm for a job that will not start.
        if (s.aborted) return fn(s);
        const d = deadline(s);
        let p: Promise<Error | undefined>;
        try {
          p = fn(d.signal);
        } catch (err) {
          d.dispose();
          throw err;
        }
        return d.disposeAfter(p);
      };
    return inner({ length: fns.length, at: (i) => mapDefined(fns.at(i), wrap) }, signal);
  };
}

function mapDefined<T, U>(v: T | undefined, f: (v: T) => U): U | undefined {
  return v === undefined ? undefined : f(v);
}

/** Runs the jobs in a random order (crypto RNG, Fisher-Yates); errors still come back in input order. */
export function shuffled(inner: Strategy, rand: (n: number) => number = randomInt): Strategy {
  return async (fns, signal) => {
    const order = Array.from({ length: fns.length }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rand(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const errs = await inner({ length: order.length, at: (pos) => fns.at(order[pos]!) }, signal);
    const out: (Error | undefined)[] = new Array(fns.length);
    order.forEach((orig, pos) => (out[orig] = errs[pos]));
    return out;
  };
}

/** The flag mapping of `--concurrency`/`--job-timeout` (and the cleanup pair): 1 linear, 0 unlimited, N at most N. */
export function strategyFromFlags(concurrency: number, jobTimeoutMs: number): Strategy {
  const base = concurrency === 1 ? linear : concurrent(concurrency);
  return withTimeout(jobTimeoutMs, base);
}

/** The strategy flag group (`--concurrency`, `--timeout`, `--job-timeout`, or their `--cleanup-*` twins). */
export interface StrategyConfig {
  /** 1 = one after another, 0 = all at once, N = at most N at once. */
  concurrency: number;
  /** Deadline of the whole phase in milliseconds; 0 = none. */
  timeoutMs: number;
  /** Deadline of each job from when it starts, in milliseconds; 0 = none. */
  jobTimeoutMs: number;
}

/** Upstream defaults: linear, 30m for the phase, 5m per job. */
export const DEFAULT_STRATEGY: Readonly<StrategyConfig> = { concurrency: 1, timeoutMs: 30 * 60_000, jobTimeoutMs: 5 * 60_000 };

/** Problems with a strategy group; `flags` names the three flags for the messages. */
export function validateStrategyConfig(
  cfg: StrategyConfig,
  flags: { concurrency: string; timeout: string; jobTimeout: string },
): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  if (!Number.isInteger(cfg.concurrency) || cfg.concurrency < 0) {
    problems.push({ path: flags.concurrency, message: `must be an integer >= 0 (0 = unlimited), got ${cfg.concurrency}` });
  }
  if (!Number.isFinite(cfg.timeoutMs) || cfg.timeoutMs < 0) problems.push({ path: flags.timeout, message: "must be a duration >= 0 (0 = none)" });
  if (!Number.isFinite(cfg.jobTimeoutMs) || cfg.jobTimeoutMs < 0) problems.push({ path: flags.jobTimeout, message: "must be a duration >= 0 (0 = none)" });
  return problems;
}

/** The strategy a validated group describes. */
export function strategyFromConfig(cfg: StrategyConfig): Strategy {
  return strategyFromFlags(cfg.concurrency, cfg.jobTimeoutMs);
}
