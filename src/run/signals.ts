// SIGTERM (workspace stop) and SIGINT become one AbortSignal: traffic stops, results are written, cleanup runs.
import { CanceledError } from "../util/abort.ts";

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
