// The run status file (state/status): append-only "<time> <status>[ (dry-run)]" lines, locked read-only after a failure.
import { appendFileSync, chmodSync, mkdirSync, statSync } from "node:fs";
import { readStatus, statusPath } from "./read.js";

// Reading lives in read.js (plain JavaScript) so the agent's metadata script needs no TypeScript loader.
export { NOT_STARTED, readStatus, readStatusHistory, statusPath } from "./read.js";

/** Statuses the runner writes; a failure carries the exit code, as upstream: "Failed (exit=1)". */
export type RunStatus = "Preparing" | "Running" | "Complete" | `Failed (exit=${number})`;

/** The status text for a failure with `exitCode`. */
export function failedStatus(exitCode: number): RunStatus {
  return `Failed (exit=${exitCode})`;
}

/** True for a status that ends the run. */
export function isFinalStatus(status: string): boolean {
  return status.startsWith("Complete") || status.startsWith("Failed");
}

/** Thrown when the status was locked by a failure and someone tries to overwrite it. */
export class StatusLockedError extends Error {
  override name = "StatusLockedError";
  constructor(readonly current: string) {
    super(`status is locked at "${current}" after a failure; not overwriting it`);
  }
}

export interface SetStatusOptions {
  dryRun?: boolean;
  /** Clock for tests (epoch milliseconds). */
  now?: () => number;
}

/**
 * Appends a status line. Throws StatusLockedError when an earlier failure locked the file (mode 0440), so a
 * late "Complete" can never hide a failure.
 */
export function writeStatus(stateDir: string, status: RunStatus, options: SetStatusOptions = {}): void {
  mkdirSync(stateDir, { recursive: true });
  const at = new Date((options.now ?? Date.now)()).toISOString();
  const line = `${at} ${status}${options.dryRun ? " (dry-run)" : ""}\n`;
  // Checked by mode, not only by EACCES: root ignores the permission bits.
  if (isLocked(stateDir)) throw new StatusLockedError(readStatus(stateDir));
  try {
    appendFileSync(statusPath(stateDir), line);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EACCES") throw new StatusLockedError(readStatus(stateDir));
    throw err;
  }
}

/** Makes the status file read-only (0440), as upstream does after a failure. */
export function lockStatus(stateDir: string): void {
  try {
    chmodSync(statusPath(stateDir), 0o440);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** True when the status file exists and has no owner-write bit (locked by a failure). */
export function isLocked(stateDir: string): boolean {
  try {
    return (statSync(statusPath(stateDir)).mode & 0o200) === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}
