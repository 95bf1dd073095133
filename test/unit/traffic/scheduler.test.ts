import { afterEach, describe, expect, it } from "vitest";
import { performance } from "node:perf_hooks";
import { Scheduler } from "../../../src/traffic/scheduler.ts";
import { ManualClock } from "../../helpers/manual-clock.ts";

let sched: Scheduler | undefined;
afterEach(() => sched?.close());

function collect(n: number): { times: number[]; target: { tick(now: number): void }; done: Promise<void> } {
  const times: number[] = [];
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return {
    times,
    done,
    target: {
      tick(now) {
        times.push(now);
        if (times.length === n) resolve();
      },
    },
  };
}

describe("Scheduler", () => {
  it("fires the first tick one interval after registration and stays on the grid", () => {
    const clock = new ManualClock();
    sched = new Scheduler({ clock });
    const start = clock.now();
    const c = collect(5);
    // Each tick takes 3 ms; a per-tick setInterval would drift by that much per tick.
    sched.add(20, { tick: (now) => { c.target.tick(now); clock.t += 3; } });
    clock.advance(19);
    expect(c.times).toEqual([]);
    clock.advance(1);
    expect(c.times[0]! - start).toBeGreaterThanOrEqual(19);
    clock.advance(80);
    // Drift-free: the fifth tick is at start + 100 ms, not start + 5 * (20 + per-tick delay).
    expect(c.times.map((t) => t - start)).toEqual([20, 40, 60, 80, 100]);
    expect(c.times[4]! - start).toBeLessThan(100 + 15);
  });

  it("drives many targets with different intervals from one timer", () => {
    const clock = new ManualClock();
    sched = new Scheduler({ clock });
    const fast = collect(6);
    const slow = collect(2);
    sched.add(10, fast.target);
    sched.add(30, slow.target);
    expect(sched.size).toBe(2);
    clock.advance(60);
    expect(fast.times.length).toBeGreaterThanOrEqual(6);
    expect(fast.times.map((t) => t - 1_000)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(slow.times.map((t) => t - 1_000)).toEqual([30, 60]);
    expect(clock.maxPending).toBe(1);
  });

  it("drops ticks missed while the loop was blocked instead of queueing them", () => {
    const clock = new ManualClock();
    const late: number[] = [];
    sched = new Scheduler({ clock, health: { observeLag() {}, addLateTicks: (n) => late.push(n) } });
    const c = collect(3);
    let blocked = false;
    sched.add(10, {
      tick(now) {
        if (!blocked) {
          blocked = true;
          clock.t += 55; // block the loop for 5+ intervals
        }
        c.target.tick(now);
      },
    });
    clock.advance(70);
    // After the block, only one tick ran immediately (the one due at 20, late); the missed ones
    // (30..60) were counted, not replayed, and the next tick is back on the grid.
    expect(c.times.map((t) => t - 1_000)).toEqual([10, 65, 70]);
    expect(c.times[1]! - c.times[0]!).toBeGreaterThanOrEqual(50);
    expect(c.times[2]! - c.times[1]!).toBeGreaterThan(1);
    expect(sched.lateTicks).toBe(4);
    expect(sched.lateTicks).toBeGreaterThanOrEqual(4);
    expect(late.reduce((a, b) => a + b, 0)).toBe(sched.lateTicks);
  });

  it("stops ticking a removed target and records tick lag when asked", () => {
    const clock = new ManualClock();
    sched = new Scheduler({ clock, recordTicks: true });
    const a = collect(3);
    let bTicks = 0;
    const hb = sched.add(10, { tick: () => bTicks++ });
    sched.add(10, a.target);
    sched.remove(hb);
    sched.remove(hb);
    clock.advance(30);
    expect(a.times.length).toBe(3);
    expect(bTicks).toBe(0);
    expect(sched.tickLag.count).toBeGreaterThanOrEqual(3);
    const quiet = new Scheduler({ clock });
    quiet.add(10, { tick() {} });
    clock.advance(30);
    expect(quiet.tickLag.count + quiet.tickJitter.count).toBe(0);
    quiet.close();
    expect(() => sched!.add(0, a.target)).toThrow(/greater than zero/);
  });

  it("keeps every one of hundreds of targets on its own grid while others join and leave", () => {
    const clock = new ManualClock();
    sched = new Scheduler({ clock });
    const start = clock.now();
    // Past the heap's first allocation (64), with intervals and start times mixed so sift-downs and removals
    // from the middle of the heap both happen.
    const targets = Array.from({ length: 300 }, (_, i) => {
      const t = { interval: 5 + (i % 7) * 3, added: 0, removeAt: i % 3 === 0 ? Math.floor(i / 2) + 10 + (i % 40) : Infinity, times: [] as number[], handle: undefined as ReturnType<Scheduler["add"]> | undefined };
      return t;
    });
    for (let ms = 0; ms <= 200; ms++) {
      for (const [i, t] of targets.entries()) {
        if (t.handle === undefined && ms === Math.floor(i / 2)) {
          t.added = clock.now() - start;
          t.handle = sched.add(t.interval, { tick: (now) => t.times.push(now - start) });
        }
        if (t.handle && ms === t.removeAt) sched.remove(t.handle);
      }
      clock.advance(1);
    }
    for (const t of targets) {
      // The clock stood at `removeAt` when the target left, at 201 when the loop ended.
      const end = Math.min(t.removeAt, 201);
      const want: number[] = [];
      for (let due = t.added + t.interval; due <= end + 1; due += t.interval) want.push(due);
      // Every grid time up to `end` ticked, once, in order; one due just after `end` may have run early, batched
      // with one due just before it (the 1 ms resolution). Never late here.
      const onTime = want.filter((due) => due <= end).length;
      expect(t.times.length).toBeGreaterThanOrEqual(onTime);
      expect(t.times.length).toBeLessThanOrEqual(want.length);
      t.times.forEach((at, k) => {
        expect(want[k]! - at).toBeGreaterThanOrEqual(0);
        expect(want[k]! - at).toBeLessThanOrEqual(1);
      });
    }
    expect(sched.size).toBe(targets.filter((t) => t.removeAt === Infinity).length);
    expect(sched.lateTicks).toBe(0);
  });

  it("keeps every grid when a target joins while the loop runs late", () => {
    const clock = new ManualClock();
    sched = new Scheduler({ clock });
    const start = clock.now();
    const times: Record<string, number[]> = { A: [], B: [], C: [] };
    const at = (name: string) => ({ tick: (now: number) => times[name]!.push(now - start) });
    // A and C are due together at 50. A's tick blocks the loop for 40 ms and adds B (due at 90 + 50), so C runs
    // late (at 90) and comes round again at 100, before B, which joined after it was due.
    sched.add(50, {
      tick(now) {
        times.A!.push(now - start);
        if (times.A!.length === 1) {
          clock.t += 40;
          sched!.add(50, at("B"));
        }
      },
    });
    sched.add(50, at("C"));
    clock.advance(200);
    expect(times).toEqual({ A: [50, 100, 150, 200], B: [140, 190], C: [90, 100, 150, 200] });
    expect(sched.lateTicks).toBe(0);
    expect(sched.size).toBe(3);
  });

  it("forgets removed targets whatever their place, and a removed handle stays inert after close", () => {
    const clock = new ManualClock();
    sched = new Scheduler({ clock });
    const counts = new Map<number, number>();
    const handles = Array.from({ length: 200 }, (_, i) => sched!.add(10, { tick: () => counts.set(i, (counts.get(i) ?? 0) + 1) }));
    clock.advance(5);
    // Every other one, from the middle of the ring and its ends.
    for (let i = 0; i < 200; i += 2) sched.remove(handles[i]!);
    expect(sched.size).toBe(100);
    clock.advance(25); // ticks at 10, 20, 30
    for (let i = 0; i < 200; i++) expect(counts.get(i) ?? 0, `target ${i}`).toBe(i % 2 === 0 ? 0 : 3);
    for (let i = 1; i < 200; i += 2) sched.remove(handles[i]!);
    expect(sched.size).toBe(0);
    expect(clock.pending).toBe(0);
    const again = sched.add(10, { tick: () => counts.set(-1, (counts.get(-1) ?? 0) + 1) });
    sched.close();
    sched.remove(again);
    sched.remove(handles[1]!);
    expect(sched.size).toBe(0);
    clock.advance(50);
    expect(counts.get(-1)).toBeUndefined();
  });

  it("runs on performance.now and the global timers by default", async () => {
    sched = new Scheduler();
    const start = performance.now();
    const c = collect(3);
    sched.add(10, c.target);
    await c.done;
    // Lower bounds only: a loaded machine may run a tick late, never before its grid time (1 ms for timer rounding).
    expect(c.times[0]! - start).toBeGreaterThanOrEqual(9);
    expect(c.times[2]! - start).toBeGreaterThanOrEqual(29);
  });
});
