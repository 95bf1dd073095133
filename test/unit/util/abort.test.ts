import { afterEach, describe, expect, it, vi } from "vitest";
import { withTimeout, linear } from "../../../src/harness/strategies.ts";
import { MAX_TIMER_MS, setLongTimeout, sleep, timeoutSignal, withDeadline, DeadlineError } from "../../../src/util/abort.ts";
import { parseDuration } from "../../../src/util/duration.ts";

const HOURS_600 = 600 * 3_600_000;

describe("long timers", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fires a 600h timeout at 600h, not at the 1 ms a bare setTimeout would turn it into", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const fn = vi.fn();
    setLongTimeout(fn, HOURS_600);
    vi.advanceTimersByTime(1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(HOURS_600 - MAX_TIMER_MS - 2);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(2);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it("clears a chained timer in any link of the chain", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const fn = vi.fn();
    const t = setLongTimeout(fn, HOURS_600);
    vi.advanceTimersByTime(MAX_TIMER_MS + 10);
    t.clear();
    vi.advanceTimersByTime(HOURS_600);
    expect(fn).not.toHaveBeenCalled();
  });

  it("sleeps, deadlines and timeout signals hold 600h", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    let slept = false;
    void sleep(HOURS_600).then(() => (slept = true));
    const d = withDeadline(undefined, HOURS_600);
    const t = timeoutSignal(HOURS_600);
    await vi.advanceTimersByTimeAsync(HOURS_600 - 5);
    expect([slept, d.signal.aborted, t.aborted]).toEqual([false, false, false]);
    await vi.advanceTimersByTimeAsync(10);
    expect([slept, d.signal.aborted, t.aborted]).toEqual([true, true, true]);
    expect(d.signal.reason).toBeInstanceOf(DeadlineError);
    expect((t.reason as Error).name).toBe("TimeoutError");
  });

  it("rejects a sleep with an AbortError carrying the signal's reason", async () => {
    const ctl = new AbortController();
    const p = sleep(HOURS_600, ctl.signal);
    ctl.abort(new DeadlineError());
    await expect(p).rejects.toMatchObject({ name: "AbortError", cause: expect.any(DeadlineError) });
  });

  it("lets a job finish under --job-timeout 600h (it used to time out after 1 ms)", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      const errs = await withTimeout(HOURS_600, linear)([async (s: AbortSignal) => (await sleep(20, s), undefined)], new AbortController().signal);
      expect(errs).toEqual([undefined]);
      expect(warnings).not.toContain("TimeoutOverflowWarning");
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("accepts durations up to Go's maximum and refuses longer ones", () => {
    expect(parseDuration("600h")).toBe(HOURS_600);
    expect(parseDuration("2562047h")).toBe(2562047 * 3_600_000);
    expect(() => parseDuration("2562048h")).toThrow(/maximum 2562047h47m16.854775807s/);
  });
});
