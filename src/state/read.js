// @ts-check
// Reads the status and phase files. Plain JavaScript (JSDoc types) so the agent's metadata script runs under bare node, without tsx.
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** What the status file says while nothing has been written. */
export const NOT_STARTED = "Not started";

/** What metadata prints when no phase has started. */
export const NO_PHASE = "None";

/**
 * One line of the phase file.
 * @typedef {object} PhaseEvent
 * @property {string} at ISO 8601 time of the line.
 * @property {"START" | "END"} kind
 * @property {number} n Phase number: the count of START lines up to and including its START (shared by all writers).
 * @property {string} name
 */

/**
 * Path of the status file under a state directory.
 * @param {string} stateDir
 * @returns {string}
 */
export function statusPath(stateDir) {
  return join(stateDir, "status");
}

/**
 * Path of the phase file under a state directory.
 * @param {string} stateDir
 * @returns {string}
 */
export function phasePath(stateDir) {
  return join(stateDir, "phase");
}

/**
 * The file's text, or undefined when it does not exist.
 * @param {string} path
 * @returns {string | undefined}
 */
function readIfExists(path) {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * The current status: the last line without its timestamp, or "Not started".
 * @param {string} stateDir
 * @returns {string}
 */
export function readStatus(stateDir) {
  const text = readIfExists(statusPath(stateDir));
  if (text === undefined) return NOT_STARTED;
  const last = text.trimEnd().split("\n").at(-1) ?? "";
  const space = last.indexOf(" ");
  return space < 0 ? NOT_STARTED : last.slice(space + 1);
}

/**
 * Every status written so far, oldest first (without timestamps).
 * @param {string} stateDir
 * @returns {string[]}
 */
export function readStatusHistory(stateDir) {
  const text = readIfExists(statusPath(stateDir)) ?? "";
  return text
    .split("\n")
    .filter((l) => l.includes(" "))
    .map((l) => l.slice(l.indexOf(" ") + 1));
}

const LINE = /^(\S+) (START|END):(\d+): (.*)$/;

/**
 * Parses the phase file; lines that do not match the format are skipped.
 * @param {string} stateDir
 * @returns {PhaseEvent[]}
 */
export function readPhaseEvents(stateDir) {
  const text = readIfExists(phasePath(stateDir)) ?? "";
  /** @type {PhaseEvent[]} */
  const events = [];
  for (const line of text.split("\n")) {
    const m = LINE.exec(line);
    if (m) events.push({ at: String(m[1]), kind: m[2] === "END" ? "END" : "START", n: Number(m[3]), name: String(m[4]) });
  }
  return events;
}

/**
 * The current phase name, with " [done]" once it has ended; "None" before any phase.
 * @param {PhaseEvent[]} events
 * @returns {string}
 */
export function currentPhase(events) {
  const last = events.at(-1);
  if (!last) return NO_PHASE;
  return last.kind === "END" ? `${last.name} [done]` : last.name;
}

/**
 * The phase that started before the current one (second-to-last START), or "None".
 * @param {PhaseEvent[]} events
 * @returns {string}
 */
export function previousPhase(events) {
  const starts = events.filter((e) => e.kind === "START");
  return starts.at(-2)?.name ?? NO_PHASE;
}
