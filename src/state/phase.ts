// The phase file (state/phase): append-only "<time> START:<n>: <name>" / "<time> END:<n>: <name>" lines.
import { appendFileSync, mkdirSync } from "node:fs";
import { phasePath, readPhaseEvents, type PhaseEvent } from "./read.js";

// Reading lives in read.js (plain JavaScript) so the agent's metadata script needs no TypeScript loader.
export { currentPhase, NO_PHASE, phasePath, previousPhase, readPhaseEvents, type PhaseEvent } from "./read.js";

export interface PhaseWriteOptions {
  /** Clock for tests (epoch milliseconds). */
  now?: () => number;
}

function append(stateDir: string, kind: PhaseEvent["kind"], n: number, name: string, options: PhaseWriteOptions): void {
  if (name.includes("\n")) throw new Error("phase name must be one line");
  mkdirSync(stateDir, { recursive: true });
  const at = new Date((options.now ?? Date.now)()).toISOString();
  appendFileSync(phasePath(stateDir), `${at} ${kind}:${n}: ${name}\n`);
}

/** Starts a phase; its number is re-derived from the file (START lines + 1) so several processes can share it. */
export function startPhase(stateDir: string, name: string, options: PhaseWriteOptions = {}): number {
  const n = readPhaseEvents(stateDir).filter((e) => e.kind === "START").length + 1;
  append(stateDir, "START", n, name, options);
  return n;
}

/** Thrown by endPhase when the last line is not the matching START (a bug in the caller, as upstream says). */
export class PhaseMismatchError extends Error {
  override name = "PhaseMismatchError";
}

/** Ends the current phase; the last line must be the START of `name`, otherwise PhaseMismatchError. */
export function endPhase(stateDir: string, name: string, options: PhaseWriteOptions = {}): number {
  const last = readPhaseEvents(stateDir).at(-1);
  if (!last || last.kind !== "START" || last.name !== name) {
    const got = last ? `${last.kind}:${last.n}: ${last.name}` : "an empty phase file";
    throw new PhaseMismatchError(`BUG: cannot end phase "${name}": the last phase line is ${got}`);
  }
  append(stateDir, "END", last.n, name, options);
  return last.n;
}
