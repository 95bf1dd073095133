import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RunnerHealth } from "../../../src/metrics/health.ts";
import type { RunMetrics } from "../../../src/metrics/run-metrics.ts";
import { createRegistry } from "../../../src/metrics/registry.ts";
import { RunWatch } from "../../../src/report/run-watch.ts";
import type { RunSummary } from "../../../src/report/summary.ts";
import { countShardTotals } from "../../../src/run/sharded.ts";

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
      plan: { phases: [{ name: "Web Terminal Traffic", kind: "load", durationMs: 60_000, scenarios: [load] }] },
      thresholds: [],
      log: (l) => logs.push(l),
      intervals: { timeseries: 20, saturation: 20, thresholds: 20 },
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
    watch.phase("Web Terminal Traffic", false);
    const summary: RunSummary = { runId: "r", status: "Complete", startedAt, endedAt: Date.now(), phases: [], resultsDir: join(dir, "results") };
    await watch.finish(summary);
    expect(summary.saturation!.windows).toBeGreaterThan(1);
    expect(summary.saturation!.limitedWindows).toBe(0);
    // Without its end counted, the run would read "wrote 0% of the target bytes".
    expect(summary.saturation!.warnings.join("\n")).not.toMatch(/target bytes/);
    expect(logs.join("\n")).not.toMatch(/saturation:/);
  });
});
