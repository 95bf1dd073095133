import { getEventListeners } from "node:events";
import { afterEach, describe, expect, it, vi } from "vitest";
import { withTimeout, linear } from "../../../src/harness/strategies.ts";
import { MAX_TIMER_MS, setLongTimeout, sharedDeadlines, sleep, timeoutSignal, withDeadline, DeadlineError } from "../../../src/util/abort.ts";
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

describe("shared deadlines", () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  const fake = () => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  const listeners = (s: AbortSignal) => getEventListeners(s, "abort").length;

  it("jobs that start within 1% of the deadline share one, and each still gets its whole deadline from its own start", () => {
    fake();
    const parent = new AbortController().signal;
    const deadline = sharedDeadlines(10_000); // window: 100 ms
    const a = deadline(parent);
    vi.advanceTimersByTime(60);
    const b = deadline(parent);
    vi.advanceTimersByTime(90);
    const c = deadline(parent); // at 150 ms: past the first window
    expect(listeners(parent)).toBe(2);
    expect(vi.getTimerCount()).toBe(2);
    vi.advanceTimersByTime(10_059 - 150);
    expect(b.signal.aborted).toBe(false); // b started at 60 ms: its 10 s end at 10 060 ms
    vi.advanceTimersByTime(100 - 59);
    expect(a.signal.aborted && b.signal.aborted).toBe(true); // at 10 100 ms: the window's end plus 10 s
    expect(a.signal.reason).toBeInstanceOf(DeadlineError);
    vi.advanceTimersByTime(10_149 - 10_100);
    expect(c.signal.aborted).toBe(false);
    vi.advanceTimersByTime(10_250 - 10_149);
    expect(c.signal.aborted).toBe(true);
  });

  it("the last job to finish clears the shared timer and parent listener; the next job gets a fresh deadline", () => {
    fake();
    const parent = new AbortController().signal;
    const deadline = sharedDeadlines(10_000);
    const jobs = Array.from({ length: 500 }, () => deadline(parent));
    expect(listeners(parent)).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    for (const j of jobs.slice(1)) j.dispose();
    expect(vi.getTimerCount()).toBe(1); // one job still holds it
    jobs[0]!.dispose();
    expect(listeners(parent)).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    const next = deadline(parent); // still inside the first window, but that deadline is gone
    expect(next.signal).not.toBe(jobs[0]!.signal);
    vi.advanceTimersByTime(10_100);
    expect(next.signal.aborted).toBe(true);
    expect(jobs[0]!.signal.aborted).toBe(false);
  });

  it("a parent abort reaches every job sharing the deadline, with the parent's reason", async () => {
    const ctl = new AbortController();
    const deadline = sharedDeadlines(60_000);
    const jobs = Array.from({ length: 3 }, () => deadline(ctl.signal));
    const seen = jobs.map((j) => new Promise<unknown>((r) => j.signal.addEventListener("abort", () => r(j.signal.reason), { once: true })));
    ctl.abort(new Error("stop"));
    expect((await Promise.all(seen)).map((e) => (e as Error).message)).toEqual(["stop", "stop", "stop"]);
    for (const j of jobs) j.dispose();
  });

  it("disposeAfter settles as the job's promise does, and disposes either way", async () => {
    const parent = new AbortController().signal;
    const deadline = sharedDeadlines(60_000);
    const [a, b] = [deadline(parent), deadline(parent)];
    await expect(a.disposeAfter(Promise.resolve(7))).resolves.toBe(7);
    expect(listeners(parent)).toBe(1);
    await expect(b.disposeAfter(Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(listeners(parent)).toBe(0);
  });
});
