// @ts-check
// The agent metadata items (status, phase, previous phase): one line each, fast, never failing. Plain JavaScript importing
// only read.js, so `node scripts/metadata.js` starts in ~0.1 s (through tsx it took 0.5-1.4 s, over the item's timeout).
import { join } from "node:path";
import { currentPhase, NO_PHASE, NOT_STARTED, previousPhase, readPhaseEvents, readStatus } from "../state/read.js";

/** @typedef {"status" | "phase" | "previous-phase"} MetadataItem The metadata items the template's agent shows. */

/** @type {readonly MetadataItem[]} */
export const METADATA_ITEMS = ["status", "phase", "previous-phase"];

/**
 * One line for `item`, read from $SCALETEST_RUN_DIR/state; "Not started"/"None" when nothing is there yet.
 * @param {NodeJS.ProcessEnv} env
 * @param {MetadataItem} item
 * @returns {string}
 */
export function metadata(env, item) {
  const fallback = item === "status" ? NOT_STARTED : NO_PHASE;
  const runDir = env.SCALETEST_RUN_DIR;
  if (!runDir) return fallback;
  const state = join(runDir, "state");
  try {
    if (item === "status") return readStatus(state);
    const events = readPhaseEvents(state);
    return item === "phase" ? currentPhase(events) : previousPhase(events);
  } catch {
    return fallback;
  }
}
