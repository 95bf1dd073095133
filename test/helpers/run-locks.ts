// Lock files as another process would leave them: held by a live process (this test's parent) or by one that has exited.
import { spawnSync } from "node:child_process";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { locksDir, processStart, type RunLockInfo } from "../../src/state/run-lock.ts";

/** Writes the lock of `run` in `stateDir` with `info` over a same-host default; `mtimeMs` sets its heartbeat. */
export function writeForeignLock(stateDir: string, run: string, info: Partial<RunLockInfo>, mtimeMs?: number): void {
  mkdirSync(locksDir(stateDir), { recursive: true });
  const path = join(locksDir(stateDir), `${encodeURIComponent(run)}.lock`);
  writeFileSync(path, JSON.stringify({ run, pid: 0, host: hostname(), startedAt: "2024-01-01T00:00:00Z", ...info }));
  if (mtimeMs !== undefined) utimesSync(path, mtimeMs / 1000, mtimeMs / 1000);
}

/** The lock of a run another live process holds (the test runner's parent, which outlives the test). */
export function liveForeignLock(stateDir: string, run: string): void {
  writeForeignLock(stateDir, run, { pid: process.ppid, procStart: processStart(process.ppid) });
}

/** The pid of a process that has exited. */
export function deadPid(): number {
  return spawnSync(process.execPath, ["-e", ""]).pid;
}
