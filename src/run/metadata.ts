// The agent metadata items (status, phase, previous phase): one line each, fast, never failing; imports state only.
import { join } from "node:path";
import { currentPhase, NO_PHASE, previousPhase, readPhaseEvents } from "../state/phase.ts";
import { NOT_STARTED, readStatus } from "../state/status.ts";

/** The metadata items the template's agent shows. */
export type MetadataItem = "status" | "phase" | "previous-phase";

/** One line for `item`, read from $SCALETEST_RUN_DIR/state; "Not started"/"None" when nothing is there yet. */
export function metadata(env: NodeJS.ProcessEnv, item: MetadataItem): string {
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
