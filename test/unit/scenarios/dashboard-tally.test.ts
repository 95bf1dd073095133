import { describe, expect, it } from "vitest";
import type { DashboardMetrics } from "../../../src/scenarios/dashboard/metrics.ts";
import { DashboardTally } from "../../../src/scenarios/dashboard/tally.ts";
import type { WalkStats } from "../../../src/scenarios/dashboard/user.ts";

const walk = (noMatches: number, screenshots: string[]): WalkStats => ({ actions: {}, noMatches, screenshots, peakRssBytes: 0, peakPssBytes: 0 });

describe("DashboardTally", () => {
  it("passes every observation on to the metrics and tallies actions, duration percentiles and errors by action", () => {
    const seen: Array<[string, number, boolean]> = [];
    const inner: DashboardMetrics = { observe: (a, s, f) => seen.push([a, s, f]) };
    const tally = new DashboardTally();
    const m = tally.wrap(inner);
    // 100 actions of 1..100 ms; user_list fails once, template_files twice.
    for (let i = 1; i <= 100; i++) m.observe(i <= 2 ? "template_files" : i === 3 ? "user_list" : "workspace_list", i / 1000, i <= 3);
    expect(seen).toHaveLength(100);
    expect(seen[0]).toEqual(["template_files", 0.001, true]);
    expect(seen[99]).toEqual(["workspace_list", 0.1, false]);

    const a = tally.activity([walk(1, ["/d/a.png"]), walk(2, ["/d/b.png", "/d/c.png"])], "/d");
    expect(a).toMatchObject({ actions: 100, errors: 3, noMatches: 3, screenshots: 3, screenshotDir: "/d" });
    expect(Object.entries(a.errorsByAction)).toEqual([["template_files", 2], ["user_list", 1]]);
    // The recorder's buckets are about 6% wide.
    expect(a.p50).toBeGreaterThanOrEqual(50);
    expect(a.p50).toBeLessThanOrEqual(53);
    expect(a.p95).toBeGreaterThanOrEqual(95);
    expect(a.p95).toBeLessThanOrEqual(100);
    expect(a.p99).toBeGreaterThanOrEqual(99);
    expect(a.p99).toBeLessThanOrEqual(100);
  });

  it("reports zero actions and no errors before anything ran", () => {
    expect(new DashboardTally().activity([], "/d")).toEqual({ actions: 0, p50: 0, p95: 0, p99: 0, errors: 0, errorsByAction: {}, noMatches: 0, screenshots: 0, screenshotDir: "/d" });
  });
});
