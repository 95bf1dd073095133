import { describe, expect, it } from "vitest";
import { TurnPacer } from "../../../src/traffic/pacer.ts";

/** One event-loop turn (the pacer releases in the check phase). */
const turn = () => new Promise<void>((r) => setImmediate(r));

describe("TurnPacer", () => {
  it("starts at most perTurn items per event-loop turn, the rest in later turns, in order", async () => {
    const pacer = new TurnPacer(3);
    const startedIn: number[] = [];
    let t = 0;
    const items = Array.from({ length: 8 }, async (_, i) => {
      await pacer.next();
      startedIn[i] = t;
    });
    // The first three start at once; the other five wait.
    await Promise.resolve();
    expect(startedIn.filter((x) => x !== undefined)).toHaveLength(3);
    expect(pacer.pending).toBe(5);
    for (t = 1; t <= 3; t++) await turn();
    await Promise.all(items);
    expect(startedIn).toEqual([0, 0, 0, 1, 1, 1, 2, 2]);
    expect(pacer.pending).toBe(0);
  });

  it("never waits for an item to finish: a burst in a later turn gets a fresh allowance", async () => {
    const pacer = new TurnPacer(2);
    expect(pacer.next()).toBeUndefined();
    expect(pacer.next()).toBeUndefined();
    const third = pacer.next();
    expect(third).toBeInstanceOf(Promise);
    await third;
    // The third item took one of this turn's two starts, so one more starts at once and the next waits.
    expect(pacer.next()).toBeUndefined();
    expect(pacer.next()).toBeInstanceOf(Promise);
    await turn();
    await turn();
    // A quiet turn later, the whole allowance is there again.
    expect(pacer.next()).toBeUndefined();
    expect(pacer.next()).toBeUndefined();
  });

  it("refuses an allowance below one", () => {
    expect(() => new TurnPacer(0)).toThrow(/perTurn must be a whole number of at least 1, got 0/);
  });
});
