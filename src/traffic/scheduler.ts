// The one timer behind every tick loop: drift-free grids, late ticks dropped (never queued).
//
// Targets that share an interval (in a run, all of them) tick in the order they came due: once ticked, a target's
// next due time is its last plus the interval, which is no earlier than any other's in that lane. So each
// interval is a FIFO ring of due times (a Float64Array) and entries beside it: a tick reads the head and writes the
// tail, two places in contiguous memory, where a heap's sift-down touched a dozen scattered ones per tick at
// 2000 targets. A target added while the loop runs late can be due after one that comes round before it; that
// one is placed by walking back from the tail, which stays short. Removal marks the entry; the ring drops it
// when it reaches the head.
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
  readonly lane: Lane;
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

/** Targets with one interval, in due order. */
class Lane {
  /** Ring storage (capacity a power of two): `entries[i]` is next due at `dues[i]`. */
  private entries: (Entry | undefined)[];
  private dues: Float64Array;
  private mask: number;
  private head = 0;
  /** Slots in use, removed entries included until they reach the head. */
  private used = 0;
  /** Registered and not removed. */
  live = 0;

  constructor(readonly intervalMs: number) {
    this.entries = new Array<Entry | undefined>(64).fill(undefined);
    this.dues = new Float64Array(64);
    this.mask = 63;
  }

  /** When the first live entry is due (Infinity when none); drops removed entries from the head on the way. */
  firstDue(): number {
    while (this.used > 0) {
      const e = this.entries[this.head]!;
      if (!e.removed) return this.dues[this.head]!;
      this.shift();
    }
    return Infinity;
  }

  /** Takes the head entry (call after `firstDue` returned a finite time). */
  shift(): Entry {
    const e = this.entries[this.head]!;
    this.entries[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.used--;
    return e;
  }

  /** Puts `e` in due order, after every entry due at the same time or earlier. */
  insert(e: Entry, due: number): void {
    if (this.used === this.entries.length) this.grow();
    const mask = this.mask;
    const entries = this.entries;
    const dues = this.dues;
    let pos = (this.head + this.used) & mask;
    for (let k = this.used; k > 0; k--) {
      const prev = (pos - 1) & mask;
      if (dues[prev]! <= due) break;
      entries[pos] = entries[prev];
      dues[pos] = dues[prev]!;
      pos = prev;
    }
    entries[pos] = e;
    dues[pos] = due;
    this.used++;
  }

  /** Forgets every entry (each is marked removed, so a later `remove` of it does nothing). */
  clear(): void {
    for (let k = 0; k < this.used; k++) {
      const i = (this.head + k) & this.mask;
      this.entries[i]!.removed = true;
      this.entries[i] = undefined;
    }
    this.head = 0;
    this.used = 0;
    this.live = 0;
  }

  private grow(): void {
    const n = this.entries.length;
    const entries = new Array<Entry | undefined>(n * 2).fill(undefined);
    const dues = new Float64Array(n * 2);
    for (let k = 0; k < this.used; k++) {
      const i = (this.head + k) & this.mask;
      entries[k] = this.entries[i];
      dues[k] = this.dues[i]!;
    }
    this.entries = entries;
    this.dues = dues;
    this.mask = n * 2 - 1;
    this.head = 0;
  }
}

/** Drives every connection's tick from one timer. */
export class Scheduler {
  /** One lane per interval in use (in a run, one). */
  private readonly lanes: Lane[] = [];
  private count = 0;
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
    return this.count;
  }

  /** Registers `target` to tick every `intervalMs`, the first tick one interval from now (as upstream's ticker). */
  add(intervalMs: number, target: TickTarget): TickHandle {
    if (!(intervalMs > 0)) throw new RangeError(`tick interval must be greater than zero, got ${intervalMs}`);
    let lane = this.lanes.find((l) => l.intervalMs === intervalMs);
    if (!lane) {
      lane = new Lane(intervalMs);
      this.lanes.push(lane);
    }
    const e: Entry = { last: 0, intervalMs, target, removed: false, lane };
    lane.insert(e, this.clock.now() + intervalMs);
    lane.live++;
    this.count++;
    this.arm();
    return e;
  }

  /** Unregisters a target; safe to call twice. */
  remove(handle: TickHandle): void {
    const e = handle as Entry;
    if (e.removed) return;
    e.removed = true;
    this.count--;
    if (--e.lane.live === 0) {
      // Every entry left in the ring is a removed one.
      e.lane.clear();
      this.lanes.splice(this.lanes.indexOf(e.lane), 1);
    }
    if (this.count === 0) this.disarm();
  }

  /** Stops the timer and forgets every target. */
  close(): void {
    for (const lane of this.lanes) lane.clear();
    this.lanes.length = 0;
    this.count = 0;
    this.disarm();
  }

  /** The lane whose first live entry is due soonest, and when (undefined when there is none). */
  private earliest(): Lane | undefined {
    let best: Lane | undefined;
    let bestDue = Infinity;
    for (const lane of this.lanes) {
      const due = lane.firstDue();
      if (due < bestDue) {
        best = lane;
        bestDue = due;
      }
    }
    this.earliestDue = bestDue;
    return best;
  }
  private earliestDue = Infinity;

  private arm(): void {
    if (!this.earliest()) return;
    const due = this.earliestDue;
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
    for (;;) {
      // One lane (the usual case) needs no comparison between lanes.
      const lane = this.lanes.length === 1 ? this.lanes[0]! : this.earliest();
      if (!lane) break;
      const due = this.lanes.length === 1 ? lane.firstDue() : this.earliestDue;
      if (due > horizon) break;
      const top = lane.shift();
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
      lane.insert(top, next);
      top.target.tick(now);
    }
    if (late > 0) {
      this.lateTicks += late;
      this.health?.addLateTicks(late);
    }
    this.arm();
  };
}
