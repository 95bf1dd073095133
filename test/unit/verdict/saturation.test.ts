import { describe, expect, it } from "vitest";
import { RunnerHealth } from "../../../src/metrics/health.ts";
import { createRegistry, TrafficMetrics } from "../../../src/metrics/registry.ts";
import { Scheduler } from "../../../src/traffic/scheduler.ts";
import { countShardTotals } from "../../../src/run/sharded.ts";
import type { RunMetrics } from "../../../src/metrics/run-metrics.ts";
import { assessSaturation, SaturationSampler, type HealthWindow } from "../../../src/verdict/saturation.ts";

const healthy: HealthWindow = { seconds: 10, skipped: { late: 0, backpressure: 0, echo_backlog: 0 }, expectedTicks: 1000, lagP99Ms: 2, tickIntervalMs: 100, bytesWritten: 100_000, targetBytes: 100_000, cpuSeconds: 1 };

describe("assessSaturation", () => {
  it("does not flag a healthy window", () => {
    expect(assessSaturation(healthy)).toEqual({ limited: false, reasons: [], warnings: [] });
  });

  it.each<[string, Partial<HealthWindow>, RegExp]>([
    ["late ticks", { skipped: { late: 50 } }, /50 of 1000 ticks \(5\.0%\) skipped because the event loop ran more than a tick interval late/],
    ["timer lag against the tick interval", { lagP99Ms: 80 }, /traffic timer late by 80\.0ms at p99, above 50% of the 100ms tick interval/],
    ["a pinned CPU", { cpuSeconds: 9.5 }, /runner process used 95% of a CPU core/],
    ["backpressure while coderd is healthy", { skipped: { backpressure: 100 }, coderdHealthy: true }, /100 of 1000 ticks \(10%\) skipped for backpressure or a missing echo while coderd answered promptly/],
    ["bytes below target while coderd is healthy", { bytesWritten: 50_000, coderdHealthy: true }, /wrote 50% of the target bytes while coderd answered promptly/],
  ])("flags %s", (_what, change, reason) => {
    const r = assessSaturation({ ...healthy, ...change });
    expect(r.limited).toBe(true);
    expect(r.reasons.join("\n")).toMatch(reason);
  });

  it("only warns about backpressure and missing bytes when coderd may be the bottleneck", () => {
    const r = assessSaturation({ ...healthy, skipped: { backpressure: 100 }, bytesWritten: 50_000, coderdHealthy: false });
    expect(r.limited).toBe(false);
    expect(r.warnings).toEqual([
      "100 of 1000 ticks (10%) skipped for backpressure or a missing echo (coderd or the network may be the bottleneck)",
      "wrote 50% of the target bytes while coderd was slow",
    ]);
  });
});

/** Connections on a real scheduler, each writing `bytes` per tick to the traffic families, as the traffic jobs do. */
function generator(conns: number, intervalMs: number, bytes: number) {
  const runner = createRegistry();
  const traffic = createRegistry();
  const health = new RunnerHealth(runner);
  const scheduler = new Scheduler({ health });
  const metrics = new TrafficMetrics(traffic, { scenario: "Web Terminal Traffic", perWorkspaceLabels: false }).connMetrics({ username: "u", workspace_name: "w", agent_name: "a" });
  for (let i = 0; i < conns; i++) scheduler.add(intervalMs, { tick: () => metrics.addWritten(bytes) });
  const target = { ticksPerSecond: (conns * 1000) / intervalMs, bytesPerSecond: (conns * bytes * 1000) / intervalMs, tickIntervalMs: intervalMs };
  return { sources: { runner, traffic }, scheduler, target };
}

/** Resolves after `ms` of wall time, with the event loop free meanwhile. */
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("SaturationSampler", () => {
  it("detects a starved generator: the event loop is blocked 30 ms of every 40 while connections tick every 5 ms", async () => {
    const g = generator(20, 5, 100);
    const windows: string[][] = [];
    // Windows are closed by hand after a counted number of blocks, so each one holds the starvation however busy the machine is.
    const sampler = new SaturationSampler({ minWindowMs: 0, sources: g.sources, intervalMs: 3_600_000, target: () => g.target, onWindow: (r) => windows.push(r.reasons) });
    await sampler.start();
    let blocks = 0;
    let wake: (() => void) | undefined;
    const blocker = setInterval(() => {
      const until = performance.now() + 30;
      while (performance.now() < until) {
        // busy: the event loop cannot run the traffic timer
      }
      blocks++;
      wake?.();
    }, 10);
    const afterBlocks = (n: number) => new Promise<void>((r) => (wake = () => blocks >= n && r()));
    for (let i = 1; i <= 4; i++) {
      await afterBlocks(i * 8);
      await sampler.sample();
    }
    clearInterval(blocker);
    await sampler.stop();
    g.scheduler.close();
    const overall = sampler.overall();
    expect(overall.limited).toBe(true);
    expect(overall.reasons.join("\n")).toMatch(/skipped because the event loop ran more than a tick interval late/);
    expect(overall.reasons.join("\n")).toMatch(/traffic timer late by [\d.]+ms at p99, above 50% of the 5ms tick interval/);
    expect(windows.slice(0, 4).every((r) => r.length > 0)).toBe(true);
    expect(overall.limitedWindows).toBeGreaterThanOrEqual(4);
  });

  it("does not flag a healthy generator: a few connections every 200 ms", async () => {
    const g = generator(4, 200, 1024);
    const sampler = new SaturationSampler({ minWindowMs: 0, sources: g.sources, intervalMs: 400, target: () => g.target });
    await sampler.start();
    await wait(1300);
    await sampler.stop();
    g.scheduler.close();
    const overall = sampler.overall();
    expect(overall.windows).toBeGreaterThanOrEqual(2);
    expect(overall.reasons).toEqual([]);
    expect(overall.limited).toBe(false);
  });

  it("judges no window while no load is due", async () => {
    const g = generator(1, 50, 10);
    const sampler = new SaturationSampler({ minWindowMs: 0, sources: g.sources, intervalMs: 100, target: () => undefined });
    await sampler.start();
    await sampler.sample();
    await sampler.stop();
    g.scheduler.close();
    expect(sampler.overall()).toMatchObject({ limited: false, windows: 0 });
  });

  it("does not judge a sharded load's windows one by one, but its totals landed at the phase's end count in the run's judgement", async () => {
    const runner = createRegistry();
    new RunnerHealth(runner);
    const metrics = { runner, traffic: createRegistry(), dashboard: createRegistry() } as unknown as RunMetrics;
    const target = { ticksPerSecond: 100, bytesPerSecond: 100_000, tickIntervalMs: 100, blind: true };
    const windows: unknown[] = [];
    const sampler = new SaturationSampler({ minWindowMs: 0, sources: metrics, intervalMs: 3_600_000, target: () => target, onWindow: (r) => windows.push(r) });
    await sampler.start();
    // A window while the shards run: nothing in the registries yet, and no "wrote 0% of the target" for it.
    await new Promise((r) => setTimeout(r, 50));
    await sampler.sample();
    expect(windows).toEqual([]);
    // The phase ends: its totals (every byte asked for, and far too many late ticks) land, then the last window closes.
    const rtt = { counts: new Array(15).fill(0), sum: 0 };
    const lat = { counts: new Array(12).fill(0), sum: 0 };
    countShardTotals({ name: "Web Terminal Traffic", metrics, workDir: "/tmp/x" }, "traffic", {
      traffic: { read: 10_000_000, written: 10_000_000, readErrors: 0, writeErrors: 0, readLatency: lat, writeLatency: lat, roundTrip: rtt },
      skipped: { late: 10_000 },
    });
    await sampler.stop();
    expect(windows).toEqual([]);
    const overall = sampler.overall();
    expect(overall.windows).toBe(2);
    expect(overall.limitedWindows).toBe(0);
    // Written well above the target over the run: no bytes warning; the late ticks are the shards' and count.
    expect(overall.warnings.join("\n")).not.toMatch(/target bytes/);
    expect(overall.limited).toBe(true);
    expect(overall.reasons.join("\n")).toMatch(/^10000 of \d+ ticks .* skipped because the event loop ran more than a tick interval late/);
  });
});
