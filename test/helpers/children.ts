// Child processes a test started, stopped when the test ends, even when a wait on them failed half-way.
import type { ResultPromise } from "execa";

/** How long a child gets to stop on SIGTERM (and stop its own children, e.g. a run's SSH shims) before SIGKILL. */
const GRACE_MS = 5_000;

/** Tracks spawned children; `stopAll` (in close()/afterEach) ends every one still running. */
export class Children {
  private readonly all = new Set<ResultPromise>();

  /** Tracks `child` and returns it. */
  track<T extends ResultPromise>(child: T): T {
    this.all.add(child);
    return child;
  }

  /** Number of tracked children still running. */
  get running(): number {
    let n = 0;
    for (const c of this.all) if (isRunning(c)) n++;
    return n;
  }

  /**
   * SIGTERM to every child still running, SIGKILL to those left after the grace period; resolves once all have
   * exited. SIGTERM first so a staged run ends its own children; a child is not its own process group (that would
   * keep it alive when the test runner is interrupted), so its pid is what gets signalled.
   */
  async stopAll(): Promise<void> {
    const live = [...this.all].filter(isRunning);
    this.all.clear();
    if (live.length === 0) return;
    for (const c of live) c.kill("SIGTERM");
    const exited = Promise.allSettled(live);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<"grace">((r) => (timer = setTimeout(() => r("grace"), GRACE_MS)));
    if ((await Promise.race([exited, grace])) === "grace") for (const c of live) if (isRunning(c)) c.kill("SIGKILL");
    clearTimeout(timer);
    await exited;
  }
}

function isRunning(c: ResultPromise): boolean {
  return c.pid !== undefined && c.exitCode === null && c.signalCode === null;
}
