// A tight old-generation growth limit while connections open. When thousands of jobs start their traffic, the
// state of the dials still in flight (and of the first echoes) outlives two minor GCs and is promoted; with V8's
// default growth the old generation then grows to about twice its live size before a full GC, and the pages it
// committed for that garbage stay resident for the rest of the run. Growing by 10% at a time while the dials run
// collects more of that garbage as it comes instead: at 2000 connections on one thread (the CLI alone, 20 s, three
// alternating pairs) the old generation had 28 MiB in use afterwards instead of 36-37, and peak RSS was 158-162 MiB
// against 162-170, for the same total CPU. V8 reads the flag each time it sets the next limit, so the default comes
// back with the next full collection after the ramp.
import { isMainThread } from "node:worker_threads";
import { setFlagsFromString } from "node:v8";

/** Percent the old generation may grow past its live size while dials are in flight. */
export const RAMP_HEAP_GROWING_PERCENT = 10;

let holders = 0;

// An operator who set the flag (node's command line or NODE_OPTIONS) keeps it: the ramp does not override it.
const setByUser = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].some((a) => /^--heap[-_]growing[-_]percent\b/.test(a));

/**
 * Tightens the old generation's growth until every holder has released (idempotent release). A no-op off the
 * main thread (the flag is the process's, and a worker releasing it would cut another thread's ramp short) and
 * when the operator set the flag.
 */
export function holdTightHeapGrowth(): () => void {
  if (!isMainThread || setByUser) return () => {};
  if (holders++ === 0) setFlagsFromString(`--heap-growing-percent=${RAMP_HEAP_GROWING_PERCENT}`);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    // 0 is V8's default: its own growth factor, chosen from the heap's size and the GC's speed.
    if (--holders === 0) setFlagsFromString("--heap-growing-percent=0");
  };
}

/** Holders now (tests). */
export function tightHeapGrowthHolders(): number {
  return holders;
}
