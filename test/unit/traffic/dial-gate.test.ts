// The dial gate: at most N openings at once, slots handed on in the order asked, an aborted wait holds no slot.
import { describe, expect, it } from "vitest";
import { DialGate, dialShare, type Release } from "../../../src/traffic/dial-gate.ts";
import { ManualClock } from "../../helpers/manual-clock.ts";

/** A gate whose linger cannot fire during a test (the linger has its own test, on a manual clock). */
const gateOf = (limit: number, opts: ConstructorParameters<typeof DialGate>[1] = {}) => new DialGate(limit, { lingerMs: 3_600_000, ...opts });

/** Settles pending promise callbacks (the gate grants through resolved promises). */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe("DialGate", () => {
  it("grants `limit` slots at once and hands each freed slot to the next waiter in order", async () => {
    const gate = gateOf(2);
    const granted: number[] = [];
    const releases = new Map<number, Release>();
    for (let i = 0; i < 5; i++) void gate.acquire().then((r) => (granted.push(i), releases.set(i, r)));
    await settle();
    expect(granted).toEqual([0, 1]);
    expect(gate.inFlight).toBe(2);
    expect(gate.waiting).toBe(3);

    releases.get(1)!();
    await settle();
    expect(granted).toEqual([0, 1, 2]);
    expect(gate.inFlight).toBe(2);

    releases.get(0)!();
    releases.get(2)!();
    await settle();
    expect(granted).toEqual([0, 1, 2, 3, 4]);
    releases.get(3)!();
    releases.get(4)!();
    expect(gate.inFlight).toBe(0);
    expect(gate.waiting).toBe(0);
  });

  it("counts a release once, however often it is called", async () => {
    const gate = gateOf(1);
    const first = await gate.acquire();
    let second: Release | undefined;
    void gate.acquire().then((r) => (second = r));
    let third: Release | undefined;
    void gate.acquire().then((r) => (third = r));
    first();
    first();
    await settle();
    expect(second).toBeDefined();
    expect(third).toBeUndefined();
    expect(gate.inFlight).toBe(1);
    second!();
    await settle();
    third!();
    expect(gate.inFlight).toBe(0);
  });

  it("rejects a waiter whose signal aborts with the signal's reason, and skips it when a slot frees", async () => {
    const gate = gateOf(1);
    const held = await gate.acquire();
    const ctl = new AbortController();
    const aborted = gate.acquire(ctl.signal);
    let next: Release | undefined;
    void gate.acquire().then((r) => (next = r));
    const reason = new Error("job canceled");
    ctl.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    expect(gate.waiting).toBe(1);
    held();
    await settle();
    expect(next).toBeDefined();
    expect(gate.inFlight).toBe(1);
    next!();
    expect(gate.inFlight).toBe(0);
  });

  it("refuses at once for a signal that already aborted", async () => {
    const gate = gateOf(3);
    const reason = new Error("gone");
    await expect(gate.acquire(AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(gate.inFlight).toBe(0);
  });

  it("with limit 0 never makes anyone wait", async () => {
    const gate = gateOf(0);
    const all = await Promise.all(Array.from({ length: 1000 }, () => gate.acquire()));
    expect(all).toHaveLength(1000);
    expect(gate.waiting).toBe(0);
  });

  it("keeps order and bounds across thousands of waiters (the queue compacts as it drains)", async () => {
    const gate = gateOf(3);
    const order: number[] = [];
    let maxInFlight = 0;
    const jobs = Array.from({ length: 5000 }, (_, i) =>
      gate.acquire().then(async (release) => {
        order.push(i);
        maxInFlight = Math.max(maxInFlight, gate.inFlight);
        await Promise.resolve();
        release();
      }),
    );
    await Promise.all(jobs);
    expect(order).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(maxInFlight).toBe(3);
    expect(gate.inFlight).toBe(0);
  });

  it("hands a lingering dial's slot on after lingerMs, once: slow handshakes do not stretch the ramp", async () => {
    const clock = new ManualClock();
    const gate = new DialGate(1, { lingerMs: 250, timers: clock });
    const slow = await gate.acquire();
    let next: Release | undefined;
    void gate.acquire().then((r) => (next = r));
    let last: Release | undefined;
    void gate.acquire().then((r) => (last = r));
    clock.advance(249);
    await settle();
    expect(next).toBeUndefined();
    clock.advance(1);
    await settle();
    expect(next).toBeDefined();
    expect(last).toBeUndefined();
    // The slow dial ends later: its slot was already handed on, so nobody else is let in.
    slow();
    await settle();
    expect(last).toBeUndefined();
    expect(gate.inFlight).toBe(1);
    next!();
    await settle();
    expect(last).toBeDefined();
    last!();
    expect(gate.inFlight).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it("reports when it turns busy and when its last slot comes back with nobody waiting", async () => {
    const events: string[] = [];
    const gate = gateOf(2, { whileBusy: () => (events.push("busy"), () => events.push("idle")) });
    const a = await gate.acquire();
    const b = await gate.acquire();
    let c: Release | undefined;
    void gate.acquire().then((r) => (c = r));
    expect(events).toEqual(["busy"]);
    a();
    await settle();
    b();
    expect(events).toEqual(["busy"]);
    c!();
    expect(events).toEqual(["busy", "idle"]);
    (await gate.acquire())();
    expect(events).toEqual(["busy", "idle", "busy", "idle"]);
  });

  it("stays busy while a lingering dial still runs, though its slot was handed on", async () => {
    const clock = new ManualClock();
    const events: string[] = [];
    const gate = new DialGate(1, { lingerMs: 250, timers: clock, whileBusy: () => (events.push("busy"), () => events.push("idle")) });
    const slow = await gate.acquire();
    clock.advance(250);
    expect(gate.inFlight).toBe(0);
    expect(events).toEqual(["busy"]);
    slow();
    expect(events).toEqual(["busy", "idle"]);
  });

  it("refuses a limit that is not a whole number >= 0", () => {
    expect(() => new DialGate(-1)).toThrow(/integer >= 0, got -1/);
    expect(() => new DialGate(1.5)).toThrow(/integer >= 0, got 1.5/);
  });
});

describe("dialShare", () => {
  it("splits the process's limit over its threads, rounding up; 0 stays no limit", () => {
    expect(dialShare(200, 1)).toBe(200);
    expect(dialShare(200, 3)).toBe(67);
    expect(dialShare(1, 4)).toBe(1);
    expect(dialShare(0, 4)).toBe(0);
  });
});
