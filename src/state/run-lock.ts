// The liveness mark of a run: a lock file per run id in the state directory, held while the run lives (pid, host,
// process start time, heartbeat). Cleanup never deletes what a live run's ledger entries record; a crashed run's
// lock is dead (its pid gone, or its heartbeat stale on another host), so its leftovers become cleanable.
import { linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

/** What a lock file holds. */
export interface RunLockInfo {
  run: string;
  pid: number;
  host: string;
  /** The process's start time as the kernel counts it (Linux /proc/<pid>/stat field 22), so a reused pid is not mistaken for the run. */
  procStart?: string;
  /** When the run took the lock (RFC 3339). */
  startedAt: string;
}

/** A live run as cleanup reports it. */
export interface LiveRun extends RunLockInfo {
  /** The lock file's last heartbeat (epoch ms). */
  heartbeatMs: number;
}

/** How often a holder touches its lock file. */
export const HEARTBEAT_MS = 15_000;
/** A lock from another host whose heartbeat is older than this is dead (its holder crashed or lost the volume). */
export const STALE_MS = 8 * HEARTBEAT_MS;

/** Thrown when another live process holds the run id. */
export class RunLockedError extends Error {
  override name = "RunLockedError";
  constructor(readonly holder: RunLockInfo) {
    super(`run "${holder.run}" is already running (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt})`);
  }
}

/** The directory of the lock files. */
export function locksDir(stateDir: string): string {
  return join(stateDir, "runs");
}

function lockFile(stateDir: string, run: string): string {
  return join(locksDir(stateDir), `${encodeURIComponent(run)}.lock`);
}

/** The start time of `pid` (Linux), or undefined where /proc is not there. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may hold spaces and parentheses; the fields after the last ")" are plain.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists and belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Whether a lock's holder still lives: on this host its pid must exist with the same start time; on another host
 * (a shared state volume) its heartbeat must be fresh.
 */
export function holderAlive(info: RunLockInfo, heartbeatMs: number, now = Date.now(), host = hostname()): boolean {
  if (info.host !== host) return now - heartbeatMs < STALE_MS;
  if (!Number.isInteger(info.pid) || info.pid <= 0 || !pidAlive(info.pid)) return false;
  const start = processStart(info.pid);
  return info.procStart === undefined || start === undefined || start === info.procStart;
}

function readLock(path: string): LiveRun | undefined {
  try {
    const info = JSON.parse(readFileSync(path, "utf8")) as RunLockInfo;
    if (typeof info.run !== "string" || typeof info.pid !== "number" || typeof info.host !== "string") return undefined;
    return { ...info, heartbeatMs: statSync(path).mtimeMs };
  } catch {
    return undefined;
  }
}

/**
 * The runs whose lock is held by a live process other than `self` (default: this process), by run id. A run
 * held by this process is its own to clean.
 */
export function liveRuns(stateDir: string, opts: { self?: number; now?: number } = {}): Map<string, LiveRun> {
  const self = opts.self ?? process.pid;
  const out = new Map<string, LiveRun>();
  let names: string[];
  try {
    names = readdirSync(locksDir(stateDir));
  } catch {
    return out;
  }
  for (const name of names) {
    if (!name.endsWith(".lock")) continue;
    const lock = readLock(join(locksDir(stateDir), name));
    if (!lock || (lock.pid === self && lock.host === hostname())) continue;
    if (holderAlive(lock, lock.heartbeatMs, opts.now)) out.set(lock.run, lock);
  }
  return out;
}

/** A held lock: released at the end of the run (a crash leaves it behind, dead). */
export class RunLock {
  private timer?: NodeJS.Timeout;
  private released = false;

  private constructor(
    readonly path: string,
    readonly info: RunLockInfo,
  ) {
    this.timer = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  /**
   * Takes the lock of `run` in `stateDir`; throws RunLockedError when another live process holds it. A dead
   * holder's lock (a crashed run with the same id) is taken over.
   */
  static acquire(stateDir: string, run: string): RunLock {
    mkdirSync(locksDir(stateDir), { recursive: true, mode: 0o700 });
    const path = lockFile(stateDir, run);
    const info: RunLockInfo = { run, pid: process.pid, host: hostname(), procStart: processStart(process.pid), startedAt: new Date().toISOString() };
    // Written whole to a private file, then linked into place: the lock never exists half-written.
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(info)}\n`, { mode: 0o600 });
    try {
      try {
        linkSync(tmp, path);
        return new RunLock(path, info);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = readLock(path);
      if (holder && holderAlive(holder, holder.heartbeatMs)) throw new RunLockedError(holder);
      // Dead (or unreadable): replace it atomically, then confirm it is ours (another taker may have raced us).
      renameSync(tmp, path);
      const now = readLock(path);
      if (now?.pid === process.pid && now.startedAt === info.startedAt) return new RunLock(path, info);
      throw new RunLockedError(now ?? info);
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  private beat(): void {
    try {
      const now = new Date();
      utimesSync(this.path, now, now);
    } catch {
      // The state dir went away; cleanup then finds no lock and treats the run as dead, which it soon is.
    }
  }

  /** Removes the lock (idempotent). */
  release(): void {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    if (readLock(this.path)?.pid === this.info.pid) rmSync(this.path, { force: true });
  }
}
