import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RunnerHealth } from "../../../src/metrics/health.ts";
import { TrafficMetrics } from "../../../src/metrics/registry.ts";
import type { RunMetrics } from "../../../src/metrics/run-metrics.ts";
import { createRegistry } from "../../../src/metrics/registry.ts";
import { RunWatch } from "../../../src/report/run-watch.ts";
import type { RunSummary } from "../../../src/report/summary.ts";
import { countShardTotals } from "../../../src/run/sharded.ts";
import { hasVerdict } from "../../../src/verdict/evaluate.ts";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("the run watch over a sharded phase", () => {
  it("judges no window of it one by one, and counts its totals, landed at its very end, in the run's saturation", async () => {
    dir = mkdtempSync(join(tmpdir(), "watch-sharded-"));
    const runner = createRegistry();
    new RunnerHealth(runner);
    const metrics = { runner, traffic: createRegistry(), dashboard: createRegistry() } as unknown as RunMetrics;
    const logs: string[] = [];
    const load = { name: "Web Terminal Traffic", connections: 10, durationMs: 60_000, bytesPerSecond: 10_240, tickIntervalMs: 100, sharded: true };
    const watch = new RunWatch({
      runDir: dir,
      sources: metrics,
      plan: {
        phases: [
          { name: "Web Terminal Traffic", kind: "load", durationMs: 60_000, scenarios: [load] },
          { name: "Baseline wait", kind: "wait", durationMs: 1000, scenarios: [] },
        ],
      },
      thresholds: [],
      log: (l) => logs.push(l),
      intervals: { timeseries: 20, saturation: 20, thresholds: 20, saturationMinWindow: 0 },
    });
    const startedAt = Date.now();
    watch.phase("Web Terminal Traffic", true);
    await new Promise((r) => setTimeout(r, 200));
    // The coordinator's totals land just before the phase ends (no sample in between): twice what was asked for.
    const lat = { counts: new Array(12).fill(0), sum: 0 };
    const written = Math.round(2 * 10_240 * ((Date.now() - startedAt) / 1000 + 1));
    countShardTotals({ name: "Web Terminal Traffic", metrics, workDir: dir }, "traffic", {
      traffic: { read: written, written, readErrors: 0, writeErrors: 0, readLatency: lat, writeLatency: lat, roundTrip: { counts: new Array(15).fill(0), sum: 0 } },
    });
    // As the staged run does: the baseline wait starts right after the load phase ends.
    watch.phase("Web Terminal Traffic", false);
    watch.phase("Baseline wait", true);
    watch.phase("Baseline wait", false);
    const summary: RunSummary = { runId: "r", status: "Complete", startedAt, endedAt: Date.now(), phases: [], resultsDir: join(dir, "results") };
    await watch.finish(summary);
    expect(summary.saturation!.windows).toBeGreaterThan(1);
    expect(summary.saturation!.limitedWindows).toBe(0);
    // Without its end counted, the run would read "wrote 0% of the target bytes".
    expect(summary.saturation!.warnings.join("\n")).not.toMatch(/target bytes/);
    expect(logs.join("\n")).not.toMatch(/saturation:/);
  });
});

describe("the run watch at a load phase's end", () => {
  const load = { name: "SSH Traffic", connections: 2, durationMs: 60_000, bytesPerSecond: 100_000, tickIntervalMs: 100 };
  /** One load phase shorter than a saturation window, `written` bytes written just before it ends, a wait started at once. */
  async function shortPhase(written: (elapsedSeconds: number) => number, saturationMinWindow?: number): Promise<{ summary: RunSummary; logs: string[] }> {
    dir = mkdtempSync(join(tmpdir(), "watch-end-"));
    const runner = createRegistry();
    new RunnerHealth(runner);
    const metrics = { runner, traffic: createRegistry(), dashboard: createRegistry() } as unknown as RunMetrics;
    const conn = new TrafficMetrics(metrics.traffic, { scenario: load.name }).connMetrics({ username: "u", workspace_name: "w", agent_name: "main" });
    const logs: string[] = [];
    const watch = new RunWatch({
      runDir: dir,
      sources: metrics,
      plan: {
        phases: [
          { name: load.name, kind: "load", durationMs: 60_000, scenarios: [load] },
          { name: "Baseline wait", kind: "wait", durationMs: 1000, scenarios: [] },
        ],
      },
      thresholds: [],
      log: (l) => logs.push(l),
      // No window closes on the interval: only the phase's own start and end bound one.
      intervals: { timeseries: 60_000, saturation: 60_000, thresholds: 60_000, saturationMinWindow },
    });
    const startedAt = Date.now();
    watch.phase(load.name, true);
    await new Promise((r) => setTimeout(r, 50));
    conn.addWritten(written((Date.now() - startedAt) / 1000));
    watch.phase(load.name, false);
    watch.phase("Baseline wait", true);
    const summary: RunSummary = { runId: "r", status: "Complete", startedAt, endedAt: Date.now(), phases: [], resultsDir: join(dir, "results") };
    await watch.finish(summary);
    return { summary, logs };
  }

  it("judges the window up to the end against the ending phase's load, though the next phase has started", async () => {
    const { summary, logs } = await shortPhase(() => 0, 0);
    expect(summary.saturation!.windows).toBe(1);
    expect(summary.saturation!.warnings.join("\n")).toMatch(/wrote 0\.0% of the target bytes/);
    expect(logs.join("\n")).not.toMatch(/run watch:/);
  });

  it("counts a phase shorter than one window that wrote its target as having written it", async () => {
    // Twice the target of the time elapsed so far: the window ends a little later than this is counted.
    const { summary } = await shortPhase((s) => Math.round(2 * load.bytesPerSecond * (s + 0.5)), 0);
    expect(summary.saturation!.windows).toBe(1);
    expect(summary.saturation!.warnings.join("\n")).not.toMatch(/target bytes/);
  });

  it("does not judge a sliver of a phase (a run stopped by a signal right after the phase started) by default", async () => {
    const { summary } = await shortPhase(() => 0);
    expect(summary.saturation?.windows ?? 0).toBe(0);
    expect(summary.saturation?.limited ?? false).toBe(false);
    expect(summary.saturation?.warnings ?? []).toEqual([]);
    // No verdict is said: nothing was judged and no threshold was set.
    expect(hasVerdict(summary.verdict)).toBe(false);
  });
});
