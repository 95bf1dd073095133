import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RunnerHealth } from "../../../src/metrics/health.ts";
import { createRegistry, JobMetrics, TrafficMetrics } from "../../../src/metrics/registry.ts";
import { deriveRows, TimeSeriesRecorder, type TimeSeriesFile } from "../../../src/report/timeseries.ts";

function registries() {
  const runner = createRegistry();
  const traffic = createRegistry();
  const health = new RunnerHealth(runner);
  const jobs = new JobMetrics(runner, { scenario: "SSH Traffic" });
  const ssh = new TrafficMetrics(traffic, { scenario: "SSH Traffic", perWorkspaceLabels: false }).connMetrics({ username: "u", workspace_name: "w", agent_name: "a" });
  return { sources: { runner, traffic }, health, jobs, ssh };
}

describe("TimeSeriesRecorder", () => {
  it("records cumulative readings and derives per-interval rates, round trips and errors", async () => {
    const r = registries();
    let now = 1_000_000;
    const rec = new TimeSeriesRecorder({ sources: r.sources, now: () => now, targets: () => ({ "SSH Traffic": 2048 }) });
    await rec.sample();
    // 1 s: 2 KiB at 2 ms round trips; 2 s more: 1 KiB at 40 ms with one error; then one job passes.
    const closed = r.health.connectionOpened("ssh");
    r.ssh.addWritten(2048);
    for (let i = 0; i < 10; i++) r.ssh.observeRoundTrip(0.002);
    now += 1000;
    await rec.sample();
    r.ssh.addWritten(1024);
    for (let i = 0; i < 10; i++) r.ssh.observeRoundTrip(0.04);
    r.ssh.writeError();
    closed();
    r.jobs.finished("workspace-traffic", "ok", 3);
    now += 2000;
    await rec.sample();
    const ts = rec.toJSON();
    expect(ts.points).toHaveLength(3);
    const rows = deriveRows(ts);
    expect(rows.scenarios.map((s) => [s.scenario, s.bytesPerSecond, s.targetBytesPerSecond, s.errors])).toEqual([
      ["SSH Traffic", 2048, 2048, 0],
      ["SSH Traffic", 512, 2048, 1],
    ]);
    expect(rows.scenarios[0]!.p95).toBeLessThanOrEqual(2.5);
    expect(rows.scenarios[1]!.p95).toBeGreaterThan(25);
    expect(rows.scenarios[1]!.p95).toBeLessThanOrEqual(50);
    expect(rows.run.map((x) => [x.jobsOk, x.openConnections])).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });

  it("stays within its capacity by halving, and the kept points still add up exactly", async () => {
    const r = registries();
    let now = 0;
    const rec = new TimeSeriesRecorder({ sources: r.sources, capacity: 8, now: () => now });
    await rec.sample();
    for (let i = 1; i <= 100; i++) {
      r.ssh.addWritten(i);
      now += 1000;
      await rec.sample(false);
    }
    await rec.stop();
    const ts = rec.toJSON();
    expect(ts.points.length).toBeLessThanOrEqual(8);
    expect(ts.stride).toBeGreaterThan(1);
    expect(ts.points[0]!.t).toBe(0);
    expect(ts.points.at(-1)!.t).toBe(100_000);
    const total = deriveRows(ts).scenarios.reduce((n, s) => n + (s.bytesPerSecond * (s.t - ts.points[ts.points.findIndex((p) => p.t === s.t) - 1]!.t)) / 1000, 0);
    expect(total).toBe((100 * 101) / 2);
  });

  it("writes timeseries.json into the run directory", async () => {
    const r = registries();
    const dir = mkdtempSync(join(tmpdir(), "timeseries-"));
    try {
      const rec = new TimeSeriesRecorder({ sources: r.sources, intervalMs: 60_000 });
      await rec.start();
      r.ssh.addWritten(10);
      await rec.stop();
      const file = JSON.parse(readFileSync(rec.write(dir), "utf8")) as TimeSeriesFile;
      expect(file.version).toBe(1);
      expect(file.points).toHaveLength(2);
      expect(file.points[1]!.traffic["SSH Traffic"]!.written).toBe(10);
      expect(file.buckets.roundTrip[0]).toBe(0.0005);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
