// Dashboard Traffic's figures for the run summary: actions, their duration percentiles and errors by action, tallied as the metrics are bumped.
import type { DashboardActivity } from "../../report/summary.ts";
import { LatencyRecorder } from "../../traffic/stats.ts";
import type { DashboardMetrics } from "./metrics.ts";
import type { WalkStats } from "./user.ts";

/** Counts every observation the users make, beside the Prometheus families (same calls, so the numbers agree). */
export class DashboardTally {
  /** Action durations in milliseconds. */
  private readonly durations = new LatencyRecorder();
  private readonly errors = new Map<string, number>();

  /** The metrics the users bump, with each observation also tallied here. */
  wrap(inner: DashboardMetrics): DashboardMetrics {
    return {
      observe: (action, seconds, failed) => {
        this.durations.record(seconds * 1000);
        if (failed) this.errors.set(action, (this.errors.get(action) ?? 0) + 1);
        inner.observe(action, seconds, failed);
      },
    };
  }

  /** Actions so far and how many failed (live progress). */
  counts(): { actions: number; errors: number } {
    return { actions: this.durations.count, errors: [...this.errors.values()].reduce((a, n) => a + n, 0) };
  }

  /** The summary's figures; `stats` are the runs' walk stats (no-match steps and screenshots). */
  activity(stats: readonly WalkStats[], screenshotDir: string): DashboardActivity {
    const d = this.durations;
    return {
      actions: d.count,
      p50: d.percentile(50),
      p95: d.percentile(95),
      p99: d.percentile(99),
      errors: this.counts().errors,
      errorsByAction: Object.fromEntries([...this.errors.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
      noMatches: stats.reduce((a, s) => a + s.noMatches, 0),
      screenshots: stats.reduce((a, s) => a + s.screenshots.length, 0),
      screenshotDir,
    };
  }
}
