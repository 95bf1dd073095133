import { describe, expect, it } from "vitest";
import { LatencyRecorder } from "../../../src/traffic/stats.ts";

describe("LatencyRecorder", () => {
  it("answers percentiles within its bucket precision", () => {
    const r = new LatencyRecorder();
    for (let i = 1; i <= 1000; i++) r.record(i / 10); // 0.1 ms .. 100 ms
    expect(r.count).toBe(1000);
    expect(r.percentile(50)).toBeGreaterThan(50 * 0.93);
    expect(r.percentile(50)).toBeLessThan(50 * 1.07);
    expect(r.percentile(99)).toBeGreaterThan(99 * 0.93);
    expect(r.percentile(99)).toBeLessThanOrEqual(100);
    expect(r.max).toBe(100);
  });

  it("reports 0 when empty, clamps negatives and merges", () => {
    const a = new LatencyRecorder();
    expect(a.percentile(99)).toBe(0);
    a.record(-5);
    expect(a.percentile(100)).toBe(0);
    const b = new LatencyRecorder();
    b.record(20);
    a.merge(b);
    expect(a.count).toBe(2);
    expect(a.percentile(100)).toBeCloseTo(20, 0);
  });

  it("trades precision for size with fewer sub-buckets, and merges only its own kind", () => {
    const r = new LatencyRecorder(3);
    for (let i = 1; i <= 1000; i++) r.record(i / 10);
    expect(r.percentile(50)).toBeGreaterThan(50 * 0.87);
    expect(r.percentile(50)).toBeLessThan(50 * 1.13);
    expect(r.percentile(99)).toBeGreaterThan(99 * 0.87);
    expect(r.percentile(99)).toBeLessThanOrEqual(100);
    r.record(4_000_000); // past the top bucket (~71 min): clamped there, max kept exact
    expect(r.percentile(100)).toBe(4_000_000);
    expect(() => new LatencyRecorder().merge(r)).toThrow(/cannot merge a 3-bit recorder into a 4-bit one/);
  });
});
