import { setTimeout as delay } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { concurrent, linear, shuffled, strategyFromFlags, withTimeout, type TestFn } from "../../../src/harness/strategies.ts";
import { DeadlineError } from "../../../src/util/abort.ts";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Jobs that record concurrency; each resolves when its gate is released. */
function gatedJobs(n: number) {
  let inFlight = 0;
  let maxInFlight = 0;
  const started: number[] = [];
  const gates = Array.from({ length: n }, deferred);
  const fns: TestFn[] = gates.map((g, i) => async () => {
    started.push(i);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await g.promise;
    inFlight--;
    return i % 2 === 1 ? new Error(`job ${i}`) : undefined;
  });
  return { fns, gates, started, max: () => maxInFlight };
}

const never = new AbortController().signal;

describe("strategies", () => {
  it("linear runs jobs one after another in registration order", async () => {
    const j = gatedJobs(4);
    const p = linear(j.fns, never);
    for (let i = 0; i < 4; i++) {
      await delay(1);
      expect(j.started).toEqual([...Array(i + 1).keys()]);
      j.gates[i]!.resolve();
    }
    const errs = await p;
    expect(errs.map((e) => e?.message)).toEqual([undefined, "job 1", undefined, "job 3"]);
    expect(j.max()).toBe(1);
  });

  it("a job that throws, rejects with a non-Error or returns an error becomes that job's error; the others still run", async () => {
    for (const strategy of [linear, concurrent(0), concurrent(2)]) {
      const ran: number[] = [];
      const boom = new Error("boom");
      const fns: TestFn[] = [
        () => {
          ran.push(0);
          throw boom;
        },
        async () => {
          ran.push(1);
          throw "text";
        },
        async () => {
          ran.push(2);
          return new Error("returned");
        },
        async () => {
          ran.push(3);
          return undefined;
        },
      ];
      const errs = await strategy(fns, never);
      expect(ran.sort()).toEqual([0, 1, 2, 3]);
      expect(errs[0]).toBe(boom);
      expect(errs[1]).toBeInstanceOf(Error);
      expect(errs[1]!.message).toBe("text");
      expect(errs[2]!.message).toBe("returned");
      expect(errs[3]).toBeUndefined();
    }
  });

  it("concurrent(limit) never runs more than limit at once and runs every job", async () => {
    const j = gatedJobs(7);
    const p = concurrent(3)(j.fns, never);
    await delay(1);
    expect(j.started).toEqual([0, 1, 2]);
    for (const g of j.gates) {
      g.resolve();
      await delay(1);
    }
    const errs = await p;
    expect(errs).toHaveLength(7);
    expect(j.started.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(j.max()).toBe(3);
  });

  it("concurrent(0) starts every job at once", async () => {
    const j = gatedJobs(20);
    const p = concurrent(0)(j.fns, never);
    await delay(1);
    expect(j.started).toHaveLength(20);
    j.gates.forEach((g) => g.resolve());
    await p;
    expect(j.max()).toBe(20);
  });

  it("rejects a negative or fractional limit", () => {
    expect(() => concurrent(-1)).toThrow(/>= 0/);
    expect(() => concurrent(1.5)).toThrow(/integer/);
    expect(() => strategyFromFlags(-2, 0)).toThrow(/-2/);
  });

  it("withTimeout counts the deadline from when each job starts, not from when it was queued", async () => {
    const seen: boolean[] = [];
    const fns: TestFn[] = [
      async (s) => {
        seen.push(s.aborted);
        await delay(80); // ignores its signal on purpose, so the next job queues for 80 ms
        return undefined;
      },
      async (s) => {
        seen.push(s.aborted);
        await new Promise((r) => s.addEventListener("abort", r, { once: true }));
        return s.reason as Error;
      },
    ];
    const t0 = performance.now();
    const errs = await withTimeout(50, linear)(fns, never);
    expect(seen).toEqual([false, false]);
    expect(errs[1]).toBeInstanceOf(DeadlineError);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(125);
  });

  it("withTimeout(0) adds no deadline", async () => {
    const inner = linear;
    expect(withTimeout(0, inner)).toBe(inner);
  });

  it("a parent abort reaches jobs through the timeout wrapper", async () => {
    const ctl = new AbortController();
    const p = withTimeout(10_000, concurrent(0))(
      [async (s: AbortSignal) => new Promise<Error>((r) => s.addEventListener("abort", () => r(s.reason as Error), { once: true }))],
      ctl.signal,
    );
    ctl.abort(new Error("stop"));
    expect((await p)[0]?.message).toBe("stop");
  });

  it("shuffled runs in a random order but returns errors in input order", async () => {
    const order: number[] = [];
    const fns: TestFn[] = [0, 1, 2, 3].map((i) => async () => {
      order.push(i);
      return new Error(String(i));
    });
    // rand always picks 0: Fisher-Yates then yields [1, 2, 3, 0].
    const errs = await shuffled(linear, () => 0)(fns, never);
    expect(order).toEqual([1, 2, 3, 0]);
    expect(errs.map((e) => e?.message)).toEqual(["0", "1", "2", "3"]);
  });

  it("a job that rejects is recorded as its error, not thrown", async () => {
    const errs = await concurrent(2)([async () => Promise.reject(new Error("boom")), async () => undefined], never);
    expect(errs[0]?.message).toBe("boom");
  });

  it("strategyFromFlags maps 1 to linear and N to a bounded pool", async () => {
    expect(strategyFromFlags(1, 0)).toBe(linear);
    const j = gatedJobs(5);
    const p = strategyFromFlags(2, 1000)(j.fns, never);
    await delay(1);
    expect(j.started).toEqual([0, 1]);
    j.gates.forEach((g) => g.resolve());
    await p;
    expect(j.max()).toBe(2);
  });
});
