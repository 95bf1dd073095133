// A scheduler clock moved by hand, so tick tests do not depend on how busy the machine is.
import type { SchedulerClock } from "../../src/traffic/scheduler.ts";

/** Timers fire only inside advance(), in due order, with now() at their due time. */
export class ManualClock implements SchedulerClock {
  t = 1_000;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  /** The most timers ever pending at once. */
  maxPending = 0;
  /** Timers waiting now. */
  get pending(): number {
    return this.timers.size;
  }
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): number {
    this.timers.set(++this.seq, { at: this.t + ms, fn });
    this.maxPending = Math.max(this.maxPending, this.timers.size);
    return this.seq;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at); // a tick that "blocked" may already have moved the clock past it
      next[1].fn();
    }
    this.t = Math.max(this.t, end);
  }
}
