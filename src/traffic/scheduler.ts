// The one timer behind every tick loop: a min-heap of due times, drift-free grids, late ticks dropped (never queued).
import { performance } from "node:perf_hooks";
import { LatencyRecorder } from "./stats.ts";

/** Something that acts once per tick. `tick` must not throw and must not await. */
export interface TickTarget {
  tick(now: number): void;
}

/** Where the scheduler reports its health; implemented by the metrics module, or left out. */
export interface SchedulerHealth {
  /** How late the shared timer fired (seconds): event-loop lag as the traffic sees it. */
  observeLag(seconds: number): void;
  /** Ticks dropped because the loop ran later than a whole interval. */
  addLateTicks(n: number): void;
}

/** A registration; pass it to `remove`. */
export interface TickHandle {
  readonly intervalMs: number;
}

interface Entry extends TickHandle {
  due: number;
  last: number; // when it last ran (0 before the first tick)
  readonly intervalMs: number;
  readonly target: TickTarget;
  pos: number; // index in the heap, -1 when removed
}

/** The time source and the one-shot timer the scheduler runs on; tests pass a manual one. */
export interface SchedulerClock {
  /** Monotonic milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: SchedulerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Options for a Scheduler. */
export interface SchedulerOptions {
  /** Ticks due within this many milliseconds of the timer firing run in the same batch (default 1). */
  resolutionMs?: number;
  health?: SchedulerHealth;
  /** Defaults to performance.now and the global timers. */
  clock?: SchedulerClock;
  /** Fill `tickLag` and `tickJitter` (off by default). */
  recordTicks?: boolean;
}

/** Drives every connection's tick from one timer. */
export class Scheduler {
  private readonly heap: Entry[] = [];
  private readonly resolutionMs: number;
  private readonly health: SchedulerHealth | undefined;
  private readonly clock: SchedulerClock;
  private timer: unknown;
  private armedFor = 0;
  /**
   * With `recordTicks`: per tick, how late it ran against its grid time (milliseconds), including its place in a
   * batch of due ticks. Empty otherwise (two recordings per tick are not free at thousands of connections).
   */
  readonly tickLag = new LatencyRecorder();
  /** With `recordTicks`: per tick after the first, how much more than one interval passed since the target's previous tick (milliseconds), as a per-connection setInterval would see it. */
  readonly tickJitter = new LatencyRecorder();
  private readonly recordTicks: boolean;
  /** Ticks dropped because the loop was more than an interval late. */
  lateTicks = 0;

  constructor(opts: SchedulerOptions = {}) {
    this.resolutionMs = opts.resolutionMs ?? 1;
    this.health = opts.health;
    this.clock = opts.clock ?? realClock;
    this.recordTicks = opts.recordTicks === true;
  }

  /** Number of registered targets. */
  get size(): number {
    return this.heap.length;
  }

  /** Registers `target` to tick every `intervalMs`, the first tick one interval from now (as upstream's ticker). */
  add(intervalMs: number, target: TickTarget): TickHandle {
    if (!(intervalMs > 0)) throw new RangeError(`tick interval must be greater than zero, got ${intervalMs}`);
    const e: Entry = { due: this.clock.now() + intervalMs, last: 0, intervalMs, target, pos: this.heap.length };
    this.heap.push(e);
    this.up(e.pos);
    this.arm();
    return e;
  }

  /** Unregisters a target; safe to call twice. */
  remove(handle: TickHandle): void {
    const e = handle as Entry;
    if (e.pos < 0) return;
    const last = this.heap.pop()!;
    if (last !== e) {
      this.heap[e.pos] = last;
      last.pos = e.pos;
      this.down(last.pos);
      this.up(last.pos);
    }
    e.pos = -1;
    if (this.heap.length === 0) this.disarm();
    else this.arm();
  }

  /** Stops the timer and forgets every target. */
  close(): void {
    for (const e of this.heap) e.pos = -1;
    this.heap.length = 0;
    this.disarm();
  }

  private arm(): void {
    const top = this.heap[0];
    if (!top) return;
    if (this.timer !== undefined && this.armedFor <= top.due) return;
    this.disarm();
    this.armedFor = top.due;
    this.timer = this.clock.setTimeout(this.fire, Math.max(0, top.due - this.clock.now()));
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    let now = this.clock.now();
    this.health?.observeLag(Math.max(0, now - this.armedFor) / 1000);
    const horizon = now + this.resolutionMs;
    let late = 0;
    for (let top = this.heap[0]; top && top.due <= horizon; top = this.heap[0]) {
      now = this.clock.now();
      if (this.recordTicks) {
        this.tickLag.record(now - top.due);
        if (top.last > 0) this.tickJitter.record(now - top.last - top.intervalMs);
        top.last = now;
      }
      // Stay on the grid; if a whole interval (or more) was missed, drop those ticks like Go's ticker.
      let next = top.due + top.intervalMs;
      if (next <= now) {
        const missed = Math.floor((now - next) / top.intervalMs) + 1;
        next += missed * top.intervalMs;
        late += missed;
      }
      top.due = next;
      this.down(0);
      top.target.tick(now);
    }
    if (late > 0) {
      this.lateTicks += late;
      this.health?.addLateTicks(late);
    }
    this.arm();
  };

  private up(i: number): void {
    const h = this.heap;
    const e = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = h[p]!;
      if (pe.due <= e.due) break;
      h[i] = pe;
      pe.pos = i;
      i = p;
    }
    h[i] = e;
    e.pos = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i];
    if (!e) return;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.due < h[l]!.due ? r : l;
      const ce = h[c]!;
      if (ce.due >= e.due) break;
      h[i] = ce;
      ce.pos = i;
      i = c;
    }
    h[i] = e;
    e.pos = i;
  }
}
