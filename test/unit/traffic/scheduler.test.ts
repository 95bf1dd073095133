import { afterEach, describe, expect, it } from "vitest";
import { performance } from "node:perf_hooks";
import { Scheduler } from "../../../src/traffic/scheduler.ts";

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
  it("fires the first tick one interval after registration and stays on the grid", async () => {
    sched = new Scheduler();
    const start = performance.now();
    const c = collect(5);
    sched.add(20, c.target);
    await c.done;
    expect(c.times[0]! - start).toBeGreaterThanOrEqual(19);
    // Drift-free: the fifth tick is near start + 100 ms, not start + 5 * (20 + per-tick delay).
    expect(c.times[4]! - start).toBeLessThan(100 + 15);
  });

  it("drives many targets with different intervals from one timer", async () => {
    sched = new Scheduler();
    const fast = collect(6);
    const slow = collect(2);
    sched.add(10, fast.target);
    sched.add(30, slow.target);
    expect(sched.size).toBe(2);
    await Promise.all([fast.done, slow.done]);
    expect(fast.times.length).toBeGreaterThanOrEqual(6);
  });

  it("drops ticks missed while the loop was blocked instead of queueing them", async () => {
    const late: number[] = [];
    sched = new Scheduler({ health: { observeLag() {}, addLateTicks: (n) => late.push(n) } });
    const c = collect(3);
    let blocked = false;
    sched.add(10, {
      tick(now) {
        if (!blocked) {
          blocked = true;
          const until = performance.now() + 55; // block the loop for 5+ intervals
          while (performance.now() < until);
        }
        c.target.tick(now);
      },
    });
    await c.done;
    // After the block, only one tick ran immediately; the missed ones were counted, not replayed.
    expect(c.times[1]! - c.times[0]!).toBeGreaterThanOrEqual(50);
    expect(c.times[2]! - c.times[1]!).toBeGreaterThan(1);
    expect(sched.lateTicks).toBeGreaterThanOrEqual(4);
    expect(late.reduce((a, b) => a + b, 0)).toBe(sched.lateTicks);
  });

  it("stops ticking a removed target and records tick lag", async () => {
    sched = new Scheduler();
    const a = collect(3);
    let bTicks = 0;
    const hb = sched.add(10, { tick: () => bTicks++ });
    sched.add(10, a.target);
    sched.remove(hb);
    sched.remove(hb);
    await a.done;
    expect(bTicks).toBe(0);
    expect(sched.tickLag.count).toBeGreaterThanOrEqual(3);
    expect(() => sched!.add(0, a.target)).toThrow(/greater than zero/);
  });
});
