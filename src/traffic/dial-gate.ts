// At most N connections being opened at once (`--dial-concurrency`). Every job of a phase still runs at once; only
// the opening waits for a slot. Why: a handshake in flight holds its request, socket and parser state (≈6 KiB in
// `ws` and node:http alone), and when thousands are in flight together that state lives long enough to be promoted
// to V8's old generation and stays committed for the whole run after it dies: 10-14 MiB of peak RSS at 2000
// connections. It also spares coderd (and the runner pod, in SSH mode) a storm of simultaneous upgrades.
// A dial still in flight after `lingerMs` stops holding its slot: when handshakes are slow because the deployment
// is far or busy (not because this process is), waiting for them would only stretch the ramp into the phase's
// deadline, so the gate then admits at least N dials per `lingerMs`.

import type { SchedulerClock } from "./scheduler.ts";

/** A slot, once granted: call it when the connection is open or failed to open (idempotent). */
export type Release = () => void;

/** The timer the gate's linger runs on (the scheduler's clock, less its time source); tests pass a manual one. */
type GateTimers = Pick<SchedulerClock, "setTimeout" | "clearTimeout">;

const realTimers: GateTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** How long a dial holds its slot at most (milliseconds), unless the gate is told otherwise. */
export const DIAL_LINGER_MS = 250;

interface Waiter {
  grant: (release: Release) => void;
  /** Set once the waiter is gone (aborted): a freed slot skips it. */
  gone: boolean;
}

const NO_OP: Release = () => {};

/** A FIFO counting semaphore for connection openings; a limit of 0 means no limit. */
export class DialGate {
  private active = 0;
  // A queue as an array and a head index: thousands of jobs may wait, and `shift` would move them all each time.
  private queue: Waiter[] = [];
  private head = 0;

  private readonly lingerMs: number;
  private readonly timers: GateTimers;
  private readonly whileBusy: (() => () => void) | undefined;
  private endBusy: (() => void) | undefined;
  /** Dials granted a slot and not yet released by their job (a lingering dial has handed its slot on, but runs). */
  private dialing = 0;

  /**
   * @param opts.whileBusy called when the first dial starts after the gate was idle; what it returns is called when
   *   the last dial is released with nobody waiting (the phase's dials are done, for now). Neither may throw.
   */
  constructor(
    readonly limit: number,
    opts: { lingerMs?: number; timers?: GateTimers; whileBusy?: () => () => void } = {},
  ) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`dial concurrency must be an integer >= 0, got ${limit}`);
    this.lingerMs = opts.lingerMs ?? DIAL_LINGER_MS;
    this.timers = opts.timers ?? realTimers;
    this.whileBusy = opts.whileBusy;
  }

  /** Openings holding a slot now. */
  get inFlight(): number {
    return this.active;
  }

  /** Jobs waiting for a slot. */
  get waiting(): number {
    let n = 0;
    for (let i = this.head; i < this.queue.length; i++) if (!this.queue[i]!.gone) n++;
    return n;
  }

  /**
   * Resolves with the release of a slot, in the order asked; rejects with the signal's reason if it aborts first
   * (the job then holds no slot).
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.limit === 0) return Promise.resolve(NO_OP);
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise<Release>((resolve, reject) => {
      const w: Waiter = {
        gone: false,
        grant: (release) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
      };
      const onAbort = () => {
        w.gone = true;
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.push(w);
    });
  }

  /** The release of a slot just granted; the slot is also handed on, once, when the dial lingers. */
  private releaser(): Release {
    if (this.dialing++ === 0 && !this.endBusy) this.endBusy = this.whileBusy?.();
    let handedOn = false;
    let released = false;
    const handOn = () => {
      if (handedOn) return;
      handedOn = true;
      this.timers.clearTimeout(timer);
      this.handOn();
    };
    const timer = this.timers.setTimeout(handOn, this.lingerMs);
    return () => {
      if (released) return;
      released = true;
      handOn();
      this.dialing--;
      this.maybeIdle();
    };
  }

  /** Ends the busy spell once no dial runs and nobody waits for a slot. */
  private maybeIdle(): void {
    if (this.dialing > 0 || this.active > 0 || !this.endBusy) return;
    const end = this.endBusy;
    this.endBusy = undefined;
    end();
  }

  /** Gives the freed slot to the next live waiter, or returns it. */
  private handOn(): void {
    while (this.head < this.queue.length) {
      const w = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Waiter;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (!w.gone) return w.grant(this.releaser());
    }
    this.active--;
  }
}

/**
 * One thread's share of a phase's `--dial-concurrency` split over `threads` (rounded up, so every thread may dial:
 * the threads together may open a few more than the limit; 0 stays no limit).
 */
export function dialShare(total: number, threads: number): number {
  return total === 0 ? 0 : Math.ceil(total / Math.max(1, threads));
}
