// SIGTERM (workspace stop) and SIGINT: the first stops the traffic (results are written, cleanup runs); the second
// stops the cleanup too, yet the run still ends consistent (results, final status, what was not deleted named in the
// log, the runner's API token revoked); only a third exits at once, after the synchronous last-resort steps.
import { CanceledError } from "../util/abort.ts";

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
