// The phase file (state/phase): append-only "<time> START:<n>: <name>" / "<time> END:<n>: <name>" lines.
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** What metadata prints when no phase has started. */
export const NO_PHASE = "None";

/** One line of the phase file. */
export interface PhaseEvent {
  /** ISO 8601 time of the line. */
  at: string;
  kind: "START" | "END";
  /** Phase number: the count of START lines up to and including its START (shared by all writers). */
  n: number;
  name: string;
}

/** Path of the phase file under a state directory. */
export function phasePath(stateDir: string): string {
  return join(stateDir, "phase");
}

const LINE = /^(\S+) (START|END):(\d+): (.*)$/;

/** Parses the phase file; lines that do not match the format are skipped. */
export function readPhaseEvents(stateDir: string): PhaseEvent[] {
  let text: string;
  try {
    text = readFileSync(phasePath(stateDir), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const events: PhaseEvent[] = [];
  for (const line of text.split("\n")) {
    const m = LINE.exec(line);
    if (m) events.push({ at: m[1]!, kind: m[2] as PhaseEvent["kind"], n: Number(m[3]), name: m[4]! });
  }
  return events;
}

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

/** The current phase name, with " [done]" once it has ended; "None" before any phase. */
export function currentPhase(events: PhaseEvent[]): string {
  const last = events.at(-1);
  if (!last) return NO_PHASE;
  return last.kind === "END" ? `${last.name} [done]` : last.name;
}

/** The phase that started before the current one (second-to-last START), or "None". */
export function previousPhase(events: PhaseEvent[]): string {
  const starts = events.filter((e) => e.kind === "START");
  return starts.at(-2)?.name ?? NO_PHASE;
}
