// SIGTERM (workspace stop) and SIGINT as AbortSignals. The staged run: the first stops the traffic (results are written,
// cleanup runs); the second stops the cleanup too, yet the run still ends consistent (results, final status, what was
// not deleted named in the log, the runner's API token revoked); only a third exits at once. A subcommand cancels its
// run phase first, then its cleanup.
import { CanceledError } from "./abort.ts";

/** What the scripts pass to the lifecycle functions (it spreads into their options). */
export interface StopSignals {
  /** Aborted by the first SIGTERM or SIGINT: traffic stops, results are written, cleanup runs per the strategy. */
  signal: AbortSignal;
  /** Aborted by the second: cleanup and waits stop; the run still writes its results and status and revokes its token. */
  insist: AbortSignal;
  /** Registers a synchronous step run before a third signal exits the process (e.g. removing the token file). */
  atForcedExit: (fn: () => void) => void;
}

/** Listens for SIGTERM and SIGINT for the life of the process. */
export function stopOnSignals(proc: NodeJS.Process = process): StopSignals {
  const stop = new AbortController();
  const insist = new AbortController();
  const lastResort: Array<() => void> = [];
  const onSignal = (name: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      proc.stderr.write(`${name}: stopping traffic, writing results, then cleaning up per the strategy (send again to stop the cleanup)\n`);
      stop.abort(new CanceledError(`${name}: the runner is stopping`));
    } else if (!insist.signal.aborted) {
      proc.stderr.write(`${name} again: stopping the cleanup; writing results, naming what is left and revoking the runner's API token before exit (send again to exit at once)\n`);
      insist.abort(new CanceledError(`${name} again: cleanup stopped`));
    } else {
      proc.stderr.write(`${name} a third time: exiting at once\n`);
      for (const fn of lastResort) {
        try {
          fn();
        } catch {
          // exiting anyway
        }
      }
      proc.exit(name === "SIGTERM" ? 143 : 130);
    }
  };
  proc.on("SIGTERM", onSignal);
  proc.on("SIGINT", onSignal);
  return { signal: stop.signal, insist: insist.signal, atForcedExit: (fn) => lastResort.push(fn) };
}

/**
 * SIGINT/SIGTERM handling for a command with a run phase and a cleanup phase: during the run, the first signal
 * cancels the run (results are still written and cleanup still runs) and a second one cancels the cleanup too;
 * once `enterCleanup()` was called, the first signal cancels the cleanup.
 */
export function interrupts(stderr: NodeJS.WritableStream = process.stderr): {
  run: AbortSignal;
  cleanup: AbortSignal;
  enterCleanup: () => void;
  dispose: () => void;
} {
  const run = new AbortController();
  const cleanup = new AbortController();
  let inCleanup = false;
  const on = (sig: NodeJS.Signals) => {
    if (!inCleanup && !run.signal.aborted) {
      stderr.write(`\nReceived ${sig}: stopping the run; results will be written and cleanup will run (send again to skip cleanup)\n`);
      run.abort(new CanceledError(`interrupted by ${sig}`));
    } else if (!cleanup.signal.aborted) {
      stderr.write(`\nReceived ${sig}: stopping cleanup; run \`scaletest cleanup\` later to remove what is left\n`);
      cleanup.abort(new CanceledError(`interrupted by ${sig}`));
    }
  };
  process.on("SIGINT", on);
  process.on("SIGTERM", on);
  return {
    run: run.signal,
    cleanup: cleanup.signal,
    enterCleanup: () => {
      inCleanup = true;
    },
    dispose: () => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
    },
  };
}
