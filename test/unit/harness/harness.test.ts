import { describe, expect, it } from "vitest";
import { CleanupError, Harness, exitCodeFor } from "../../../src/harness/harness.ts";
import { encodeResultsJson } from "../../../src/harness/results.ts";
import type { Runner } from "../../../src/harness/runner.ts";
import { concurrent, withTimeout } from "../../../src/harness/strategies.ts";
import { registerSecret } from "../../../src/errors.ts";
import { CanceledError, DeadlineError } from "../../../src/util/abort.ts";

const never = () => new AbortController().signal;
const waitForAbort = (s: AbortSignal) =>
  new Promise<never>((_, reject) => {
    if (s.aborted) reject(s.reason);
    s.addEventListener("abort", () => reject(s.reason), { once: true });
  });

const ok: Runner = { run: async (_s, id, log) => log.line(`hello ${id}`) };
const failing: Runner = {
  run: async (_s, _id, log) => {
    log.write("step 1\n");
    throw new Error("create user: 409 User already exists.");
  },
};

describe("Harness", () => {
  it("records pass and fail per run; one failure never stops the others", async () => {
    const h = new Harness();
    h.addRun("t", "0", ok);
    h.addRun("t", "1", failing);
    h.addRun("t", "2", ok);
    await h.run(never());
    const r = h.results();
    expect(r.total_runs).toBe(3);
    expect(r.total_pass).toBe(2);
    expect(r.total_fail).toBe(1);
    expect(r.runs["t/1"]).toMatchObject({ full_id: "t/1", test_name: "t", id: "1", logs: "step 1\n", error: "create user: 409 User already exists." });
    expect(r.runs["t/0"]!.error).toBe("<nil>");
    expect(r.runs["t/0"]!.logs).toBe("hello 0\n");
    expect(r.runs["t/0"]!.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
    expect(exitCodeFor(r)).toBe(1);
    expect(h.outcomes()).toEqual({ ok: 2, failed: 1, canceled: 0, timed_out: 0, total: 3 });
    expect(encodeResultsJson(r)).toContain('"error":"\\u003cnil\\u003e"');
  });

  it("exit code is 0 when every run passed", async () => {
    const h = new Harness();
    h.addRun("t", "0", ok);
    await h.run(never());
    expect(exitCodeFor(h.results())).toBe(0);
  });

  it("tells canceled, timed out and failed apart", async () => {
    const outer = new AbortController();
    const h = new Harness({ strategy: withTimeout(30, concurrent(0)) });
    h.addRun("t", "timeout", { run: (s) => waitForAbort(s) });
    h.addRun("t", "own-timeout", { run: () => Promise.reject(Object.assign(new Error("The operation timed out."), { name: "TimeoutError" })) });
    // Cancel one run from outside before its 30 ms deadline.
    const h2 = new Harness({ strategy: withTimeout(10_000, concurrent(0)) });
    h2.addRun("t", "cancel", { run: (s) => waitForAbort(s) });
    const p2 = h2.run(outer.signal);
    await h.run(never());
    outer.abort(new CanceledError("interrupted"));
    await p2;
    const byId = Object.fromEntries(h.runs.map((r) => [r.id, r.outcome]));
    expect(byId).toEqual({ timeout: "timed_out", "own-timeout": "timed_out" });
    expect(h.results().runs["t/timeout"]!.error).toBe("context deadline exceeded");
    expect(h2.runs[0]!.outcome).toBe("canceled");
    expect(h2.results().runs["t/cancel"]!.error).toBe("interrupted");
    expect(h2.outcomes()).toMatchObject({ canceled: 1, total: 1 });
    // Canceled and timed-out runs count as failures in the upstream totals.
    expect(h.results().total_fail).toBe(2);
  });

  it("names the stop reason when a runner reports a different error after its signal aborted", async () => {
    const ctl = new AbortController();
    const h = new Harness();
    h.addRun("t", "0", {
      run: async (s) => {
        await waitForAbort(s).catch(() => undefined);
        throw new Error("socket closed");
      },
    });
    const p = h.run(ctl.signal);
    ctl.abort(new CanceledError("interrupted by SIGTERM"));
    await p;
    expect(h.runs[0]!.outcome).toBe("canceled");
    expect(h.runs[0]!.error).toBe("socket closed: interrupted by SIGTERM");
  });

  it("runs that start after the overall deadline still run, with an aborted signal", async () => {
    const ctl = new AbortController();
    ctl.abort(new (await import("../../../src/util/abort.ts")).DeadlineError());
    const h = new Harness();
    let invoked = 0;
    h.addRun("t", "0", { run: async (s) => (invoked++, s.throwIfAborted()) });
    await h.run(ctl.signal);
    expect(invoked).toBe(1);
    expect(h.runs[0]!.outcome).toBe("timed_out");
  });

  it("turns a synchronous throw into that run's error", async () => {
    const h = new Harness();
    h.addRun("t", "0", {
      run: () => {
        throw new Error("panic: nil map");
      },
    });
    await h.run(never());
    expect(h.results().runs["t/0"]!.error).toBe("panic: nil map");
  });

  it("rejects duplicate IDs and registration after start", async () => {
    const h = new Harness();
    h.addRun("t", "0", ok);
    expect(() => h.addRun("t", "0", ok)).toThrow("duplicate full ID: t/0");
    await h.run(never());
    expect(() => h.addRun("t", "1", ok)).toThrow(/after the harness has started/);
    await expect(h.run(never())).rejects.toThrow(/already started/);
  });

  it("refuses results and cleanup before the run finished", async () => {
    const h = new Harness();
    expect(() => h.results()).toThrow(/not finished/);
    await expect(h.cleanup(never())).rejects.toThrow(/not finished/);
  });

  it("cleans up every finished run with the cleanup strategy and combines the errors", async () => {
    const cleaned: string[] = [];
    const mk = (fail: boolean): Runner => ({
      run: async (_s, id) => {
        if (id === "1") throw new Error("run failed");
      },
      cleanup: async (_s, id, log) => {
        log.line("cleaning");
        cleaned.push(id);
        if (fail) throw new Error(`delete workspace ${id}: 500`);
      },
    });
    const h = new Harness({ cleanupStrategy: concurrent(2) });
    h.addRun("t", "0", mk(false));
    h.addRun("t", "1", mk(false)); // failed half-way: cleanup still runs
    h.addRun("t", "2", mk(true));
    h.addRun("t", "3", { run: async () => undefined }); // no cleanup: counts as success
    await h.run(never());
    const before = h.results();
    const err = await h.cleanup(never()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CleanupError);
    expect((err as CleanupError).errors).toHaveLength(1);
    expect((err as Error).message).toBe("1 error occurred:\n\t* t/2: delete workspace 2: 500\n");
    expect(cleaned.sort()).toEqual(["0", "1", "2"]);
    expect(h.runs.map((r) => r.cleanupOutcome)).toEqual(["ok", "ok", "failed", undefined]);
    // Results collected before cleanup do not contain cleanup logs.
    expect(before.runs["t/0"]!.logs).toBe("");
    expect(h.runs[0]!.log.toString()).toBe("cleaning\n");
  });

  it("tees logs and reports progress events", async () => {
    const tee: string[] = [];
    const events: string[] = [];
    const h = new Harness({
      tee: (id, text) => tee.push(`${id}:${text}`),
      events: {
        runStarted: (r) => events.push(`start ${r.fullId}`),
        runFinished: (r) => events.push(`end ${r.fullId} ${r.outcome}`),
      },
    });
    h.addRun("t", "0", ok);
    h.addRun("t", "1", failing);
    await h.run(never());
    expect(tee).toEqual(["t/0:hello 0\n", "t/1:step 1\n"]);
    expect(events).toEqual(["start t/0", "end t/0 ok", "start t/1", "end t/1 failed"]);
  });

  it("redacts registered secrets from run errors", async () => {
    registerSecret("s3cr3t-passw0rd");
    const h = new Harness();
    h.addRun("t", "0", { run: async () => Promise.reject(new Error("login with s3cr3t-passw0rd failed")) });
    await h.run(never());
    expect(h.results().runs["t/0"]!.error).toBe("login with [REDACTED] failed");
  });

  it("measures duration and elapsed in Go format", async () => {
    const h = new Harness();
    h.addRun("t", "0", { run: () => new Promise((r) => setTimeout(r, 20)) });
    await h.run(never());
    const r = h.results();
    expect(r.runs["t/0"]!.duration_ms).toBeGreaterThanOrEqual(19);
    expect(r.runs["t/0"]!.duration).toMatch(/^\d+(\.\d+)?ms$/);
    expect(r.elapsed_ms).toBeGreaterThanOrEqual(r.runs["t/0"]!.duration_ms);
  });
});

describe("Harness.addRuns (runners built as the strategy reaches them)", () => {
  it("builds each runner when its job starts, and runs reached after the phase ended are never built", async () => {
    const built: number[] = [];
    const ctl = new AbortController();
    const h = new Harness({ strategy: concurrent(2), events: { runNotStarted: (t, id, outcome) => notStarted.push(`${t}/${id} ${outcome}`) } });
    const notStarted: string[] = [];
    h.addRun("setup", "0", ok);
    h.addRuns("workspacebuild", 1000, (i) => {
      built.push(i);
      return {
        run: async (s, id, log) => {
          log.line(`job ${id}`);
          // The fourth job ends the phase: everything after it is reached with an aborted signal.
          if (i === 3) ctl.abort(new DeadlineError());
          s.throwIfAborted();
        },
      };
    });
    expect(built).toEqual([]);
    expect(h.size).toBe(1001);
    await h.run(ctl.signal);
    // Nothing past the job that ended the phase was built.
    expect(built).toEqual([0, 1, 2, 3]);
    expect(h.runs.map((r) => r.fullId)).toEqual(["setup/0", "workspacebuild/0", "workspacebuild/1", "workspacebuild/2", "workspacebuild/3"]);
    expect(notStarted).toHaveLength(996);
    expect(notStarted[0]).toBe("workspacebuild/4 timed_out");
    const r = h.results();
    expect(r.total_runs).toBe(1001);
    expect(r.total_pass).toBe(4);
    expect(r.total_fail).toBe(997);
    expect(Object.keys(r.runs).slice(0, 3)).toEqual(["setup/0", "workspacebuild/0", "workspacebuild/1"]);
    expect(r.runs["workspacebuild/999"]).toEqual({
      full_id: "workspacebuild/999",
      test_name: "workspacebuild",
      id: "999",
      logs: "",
      started_at: "0001-01-01T00:00:00Z",
      duration: "0s",
      duration_ms: 0,
      error: "context deadline exceeded",
    });
    expect(h.outcomes()).toEqual({ ok: 4, failed: 0, canceled: 0, timed_out: 997, total: 1001 });
  });

  it("cleans up only the runs it built", async () => {
    const cleaned: string[] = [];
    const h = new Harness({ strategy: concurrent(0) });
    h.addRuns("t", 3, (i) => ({ run: async () => undefined, cleanup: async () => void cleaned.push(String(i)) }));
    await h.run(never());
    await h.cleanup(never());
    expect(cleaned.sort()).toEqual(["0", "1", "2"]);
  });

  it("refuses ids that clash with a lazy range, and registering after start", async () => {
    const h = new Harness();
    h.addRuns("t", 3, () => ok);
    expect(() => h.addRun("t", "2", ok)).toThrow("duplicate full ID: t/2");
    expect(() => h.addRuns("t", 1, () => ok)).toThrow("duplicate test name: t");
    h.addRun("t", "3", ok);
    await h.run(never());
    expect(() => h.addRuns("u", 1, () => ok)).toThrow("after the harness has started");
    expect(Object.keys(h.results().runs)).toEqual(["t/0", "t/1", "t/2", "t/3"]);
  });
});
