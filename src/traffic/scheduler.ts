// The one timer behind every tick loop: a min-heap of due times, drift-free grids, late ticks dropped (never queued).
// The heap is two parallel arrays (due times in a Float64Array, entries beside them), so a tick's sift-down reads
// and moves only contiguous memory instead of each entry object on its way (2000 targets scattered among other
// objects: 142-186 ns per tick against 194-263).
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
  last: number; // when it last ran (0 before the first tick)
  readonly intervalMs: number;
  readonly target: TickTarget;
  removed: boolean;
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
  /** Heap order: `dues[i]` is when `heap[i]` is next due. */
  private dues = new Float64Array(64);
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
    const e: Entry = { last: 0, intervalMs, target, removed: false };
    const i = this.heap.length;
    if (i === this.dues.length) {
      const grown = new Float64Array(i * 2);
      grown.set(this.dues);
      this.dues = grown;
    }
    this.heap.push(e);
    this.dues[i] = this.clock.now() + intervalMs;
    this.up(i);
    this.arm();
    return e;
  }

  /** Unregisters a target; safe to call twice. */
  remove(handle: TickHandle): void {
    const e = handle as Entry;
    if (e.removed) return;
    e.removed = true;
    // A linear search (once per job, at its end) keeps the tick path free of position bookkeeping.
    const i = this.heap.indexOf(e);
    const last = this.heap.pop()!;
    const lastDue = this.dues[this.heap.length]!;
    if (last !== e) {
      this.heap[i] = last;
      this.dues[i] = lastDue;
      this.down(i);
      this.up(i);
    }
    if (this.heap.length === 0) this.disarm();
    else this.arm();
  }

  /** Stops the timer and forgets every target. */
  close(): void {
    for (const e of this.heap) e.removed = true;
    this.heap.length = 0;
    this.disarm();
  }

  private arm(): void {
    if (this.heap.length === 0) return;
    const due = this.dues[0]!;
    if (this.timer !== undefined && this.armedFor <= due) return;
    this.disarm();
    this.armedFor = due;
    this.timer = this.clock.setTimeout(this.fire, Math.max(0, due - this.clock.now()));
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
    const heap = this.heap;
    while (heap.length > 0 && this.dues[0]! <= horizon) {
      const top = heap[0]!;
      const due = this.dues[0]!;
      now = this.clock.now();
      if (this.recordTicks) {
        this.tickLag.record(now - due);
        if (top.last > 0) this.tickJitter.record(now - top.last - top.intervalMs);
        top.last = now;
      }
      // Stay on the grid; if a whole interval (or more) was missed, drop those ticks like Go's ticker.
      let next = due + top.intervalMs;
      if (next <= now) {
        const missed = Math.floor((now - next) / top.intervalMs) + 1;
        next += missed * top.intervalMs;
        late += missed;
      }
      this.dues[0] = next;
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
    const d = this.dues;
    const e = h[i]!;
    const due = d[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (d[p]! <= due) break;
      h[i] = h[p]!;
      d[i] = d[p]!;
      i = p;
    }
    h[i] = e;
    d[i] = due;
  }

  private down(i: number): void {
    const h = this.heap;
    const d = this.dues;
    const n = h.length;
    if (i >= n) return;
    const e = h[i]!;
    const due = d[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && d[r]! < d[l]! ? r : l;
      if (d[c]! >= due) break;
      h[i] = h[c]!;
      d[i] = d[c]!;
      i = c;
    }
    h[i] = e;
    d[i] = due;
  }
}
