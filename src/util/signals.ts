// SIGTERM (workspace stop) and SIGINT as AbortSignals: the staged run stops traffic, writes results and cleans up; a
// subcommand cancels its run phase first, then its cleanup.
import { CanceledError } from "./abort.ts";

/** A signal aborted by the first SIGTERM or SIGINT; a second one exits at once (the operator insists). */
export function stopOnSignals(proc: NodeJS.Process = process): AbortSignal {
  const ctl = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (ctl.signal.aborted) {
      proc.stderr.write(`${name} again: exiting without cleanup\n`);
      proc.exit(name === "SIGTERM" ? 143 : 130);
    }
    proc.stderr.write(`${name}: stopping traffic, writing results, then cleaning up per the strategy\n`);
    ctl.abort(new CanceledError(`${name}: the runner is stopping`));
  };
  proc.on("SIGTERM", onSignal);
  proc.on("SIGINT", onSignal);
  return ctl.signal;
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
