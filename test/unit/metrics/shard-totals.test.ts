import { describe, expect, it } from "vitest";
import { formatShardTotalsLine, mergeShardTotals, parseShardTotalsLog } from "../../../src/harness/shard-totals.ts";
import { RunnerHealth } from "../../../src/metrics/health.ts";
import { RUNNER } from "../../../src/metrics/names.ts";
import { createRegistry, JobMetrics, TrafficMetrics } from "../../../src/metrics/registry.ts";
import { readShardTotals } from "../../../src/metrics/shard-totals.ts";
import { takeSnapshot, rttQuantileMs } from "../../../src/metrics/snapshot.ts";
import { countShardTotals } from "../../../src/run/sharded.ts";
import type { RunMetrics } from "../../../src/metrics/run-metrics.ts";
import { dashboardMetrics } from "../../../src/scenarios/dashboard/metrics.ts";

/** A shard's registry as the CLI builds it (shard and scenario as default labels), driven by `n` connections. */
function shardRegistry(n: number, perWorkspaceLabels = true) {
  const registry = createRegistry();
  registry.setDefaultLabels({ run_id: "r1", scenario: "Web Terminal Traffic", shard: "1" });
  const health = new RunnerHealth(registry);
  const traffic = new TrafficMetrics(registry, { perWorkspaceLabels });
  const jobs = new JobMetrics(registry);
  jobs.zero("workspacetraffic");
  let written = 0;
  for (let i = 0; i < n; i++) {
    const c = traffic.connMetrics({ username: `scaletest-user-${i}`, workspace_name: `scaletest-workspace-${i}`, agent_name: "main" });
    const bytes = 1024 * ((i % 3) + 1);
    c.addWritten(bytes);
    c.addRead(bytes);
    written += bytes;
    c.observeRoundTrip(i % 2 === 0 ? 0.002 : 0.04);
    if (i % 100 === 0) c.readError();
    health.skip("backpressure");
    jobs.finished("workspacetraffic", i % 500 === 0 ? "failed" : "ok", 30);
  }
  health.addLateTicks(3);
  return { registry, written };
}

function runMetrics(): RunMetrics {
  const m = { runner: createRegistry(), traffic: createRegistry(), dashboard: createRegistry() };
  for (const r of Object.values(m)) r.setDefaultLabels({ run_id: "r1" });
  new RunnerHealth(m.runner);
  return m as unknown as RunMetrics;
}

describe("a shard's totals from its registry", () => {
  it("sums every connection's series into a line of bounded size, whatever the connection count", async () => {
    const big = shardRegistry(2000);
    const t = await readShardTotals(big.registry);
    expect(t.traffic!.written).toBe(big.written);
    expect(t.traffic!.read).toBe(big.written);
    expect(t.traffic!.readErrors).toBe(20);
    // Round trips: 1000 in the 2.5 ms bucket, 1000 in the 50 ms bucket; each connection's 0 read-latency sample.
    expect(t.traffic!.roundTrip.counts.reduce((a, n) => a + n, 0)).toBe(2000);
    expect(t.traffic!.roundTrip.sum).toBeCloseTo(1000 * 0.002 + 1000 * 0.04, 6);
    expect(t.traffic!.readLatency.counts[0]).toBe(2000);
    expect(t.skipped).toEqual({ backpressure: 2000, echo_backlog: 0, late: 3 });
    expect(t.jobs!.workspacetraffic!.ok!.counts.reduce((a, n) => a + n, 0)).toBe(1996);
    expect(t.jobs!.workspacetraffic!.failed!.sum).toBe(4 * 30);
    const line = formatShardTotalsLine(1, 3, t);
    const small = formatShardTotalsLine(1, 3, await readShardTotals(shardRegistry(20).registry));
    // Only the digits of the counts grow: no per-workspace series in the line.
    expect(line.length).toBeLessThan(2048);
    expect(line.length - small.length).toBeLessThan(200);
    expect(line).not.toContain("scaletest-workspace-");
    expect(parseShardTotalsLog(`other\n${line}`)).toEqual({ index: 1, count: 3, totals: t });
  });

  it("reads the dashboard's actions and errors; a registry without a family leaves it out", async () => {
    const registry = createRegistry();
    const d = dashboardMetrics(registry);
    d.observe("open workspaces", 0.3, false);
    d.observe("open workspaces", 12, true);
    d.observe("view templates", 0.02, false);
    const t = await readShardTotals(registry);
    expect(t.traffic).toBeUndefined();
    expect(t.jobs).toBeUndefined();
    expect(t.dashboard!["open workspaces"]).toEqual({ duration: { counts: [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], sum: 12.3 }, errors: 1 });
    expect(t.dashboard!["view templates"]!.duration.counts[2]).toBe(1);
  });
});

describe("a sharded phase's totals in the run's registries", () => {
  it("count under the scenario as the in-process run would: snapshot, exposition and the summary figures agree", async () => {
    const metrics = runMetrics();
    // An in-process scenario already on the registry keeps its own series.
    new TrafficMetrics(metrics.traffic, { scenario: "SSH Traffic" }).connMetrics({ username: "u", workspace_name: "w", agent_name: "main" }).addWritten(7);
    const a = shardRegistry(2000);
    const b = shardRegistry(10);
    const totals = mergeShardTotals([await readShardTotals(a.registry), await readShardTotals(b.registry)]);
    const out = countShardTotals({ name: "Web Terminal Traffic", metrics, workDir: "/tmp/x" }, "traffic", totals);
    expect(out.bytesWritten).toBe(a.written + b.written);
    expect(out.bytesRead).toBe(a.written + b.written);
    expect(out.roundTrip!.samples).toBe(2010);
    const snap = await takeSnapshot(metrics);
    expect(snap.traffic["Web Terminal Traffic"]!.written).toBe(a.written + b.written);
    expect(snap.traffic["SSH Traffic"]!.written).toBe(7);
    expect(snap.traffic["Web Terminal Traffic"]!.errors).toBe(21);
    expect(out.roundTrip!.p99).toBeCloseTo(rttQuantileMs(0.99, snap.traffic["Web Terminal Traffic"]!.rtt)!, 9);
    expect(snap.runner.skipped).toEqual({ backpressure: 2010, echo_backlog: 0, late: 6 });
    expect(snap.jobs["Web Terminal Traffic"]).toEqual({ ok: 2006 - 1, failed: 5, canceled: 0, timed_out: 0 });
    // The series carry the scenario and no per-workspace values; histograms' _sum and _count are exact.
    const text = (await metrics.traffic.metrics()) + (await metrics.runner.metrics());
    expect(text).toContain(`coderd_scaletest_bytes_written_total{agent_name="",scenario="Web Terminal Traffic",username="",workspace_name="",run_id="r1"} ${a.written + b.written}`);
    expect(text).toMatch(/coderd_scaletest_round_trip_seconds_count\{run_id="r1",agent_name="",scenario="Web Terminal Traffic",username="",workspace_name=""\} 2010\n/);
    expect(text).toContain(`${RUNNER.jobDuration}_sum{run_id="r1",test="workspacetraffic",outcome="failed",scenario="Web Terminal Traffic"} 150`);
    expect(text).toContain(`${RUNNER.jobDuration}_count{run_id="r1",test="workspacetraffic",outcome="failed",scenario="Web Terminal Traffic"} 5`);
    expect(text).toContain(`${RUNNER.jobs}{test="workspacetraffic",outcome="ok",scenario="Web Terminal Traffic",run_id="r1"} 2005`);
  });

  it("counts dashboard actions: durations by action with their exact sum, errors, and the summary's activity", async () => {
    const shard = createRegistry();
    const d = dashboardMetrics(shard);
    for (let i = 0; i < 10; i++) d.observe("open workspaces", 0.2, i === 0);
    d.observe("view templates", 3, true);
    const metrics = runMetrics();
    const out = countShardTotals({ name: "Dashboard Traffic", metrics, workDir: "/tmp/x" }, "dashboard", await readShardTotals(shard));
    expect(out.dashboard).toMatchObject({ actions: 11, errors: 2, errorsByAction: { "open workspaces": 1, "view templates": 1 } });
    expect(out.dashboard!.p50).toBeGreaterThan(100);
    expect(out.dashboard!.p50).toBeLessThanOrEqual(250);
    const snap = await takeSnapshot(metrics);
    expect(snap.dashboard!.errors).toBe(2);
    expect(snap.dashboard!.byAction["open workspaces"]).toEqual({ count: 10, errors: 1 });
    const text = await metrics.dashboard.metrics();
    const sum = /coderd_scaletest_dashboard_duration_seconds_sum\{run_id="r1",action="open workspaces"\} (\S+)\n/.exec(text);
    expect(Number(sum?.[1])).toBeCloseTo(2, 9);
    expect(text).toContain('coderd_scaletest_dashboard_duration_seconds_bucket{le="0.25",run_id="r1",action="open workspaces"} 10');
  });
});
