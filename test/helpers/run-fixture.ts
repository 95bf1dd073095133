// A run directory as the staged run leaves it (summary.json, results, timeseries.json, environ.txt), made from real registries.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeResultsJson, NIL_ERROR, type Results, type RunResult } from "../../src/harness/results.ts";
import { RunnerHealth } from "../../src/metrics/health.ts";
import { createRegistry, JobMetrics, TrafficMetrics } from "../../src/metrics/registry.ts";
import type { RunSummary } from "../../src/report/summary.ts";
import { TimeSeriesRecorder } from "../../src/report/timeseries.ts";
import { Counter, Histogram } from "prom-client";
import { DASHBOARD, DEFAULT_BUCKETS } from "../../src/metrics/names.ts";
import { formatGoDuration } from "../../src/util/duration.ts";

const T0 = Date.parse("2026-03-02T10:00:00Z");

function results(test: string, durationsMs: number[], failed: ReadonlySet<number>, start: number): Results {
  const runs: Record<string, RunResult> = {};
  durationsMs.forEach((ms, i) => {
    runs[`${test}/${i}`] = {
      full_id: `${test}/${i}`,
      test_name: test,
      id: String(i),
      logs: "",
      started_at: new Date(start + i * 100).toISOString(),
      duration: formatGoDuration(ms),
      duration_ms: ms,
      error: failed.has(i) ? "build failed: terraform apply: exit status 1" : NIL_ERROR,
    };
  });
  return { total_runs: durationsMs.length, total_pass: durationsMs.length - failed.size, total_fail: failed.size, elapsed: "30s", elapsed_ms: 30_000, runs };
}

/**
 * Writes a run: 10 workspaces created (one failed), SSH Traffic for 60 s at 20 KiB/s whose round trips slow down in
 * its second half, Dashboard Traffic with one failed action. `slow` multiplies round trips and build times (a regressed run).
 */
export async function writeRunFixture(dir: string, o: { runId?: string; slow?: number } = {}): Promise<string> {
  const slow = o.slow ?? 1;
  const runId = o.runId ?? "scaletest-fixture";
  mkdirSync(join(dir, "results"), { recursive: true });
  const runner = createRegistry();
  const traffic = createRegistry();
  const dash = createRegistry();
  const health = new RunnerHealth(runner);
  const jobs = new JobMetrics(runner, { scenario: "SSH Traffic" });
  const ssh = new TrafficMetrics(traffic, { scenario: "SSH Traffic", perWorkspaceLabels: false }).connMetrics({ username: "u", workspace_name: "w", agent_name: "a" });
  // Dashboard Traffic's two families (upstream names and labels), bumped as its users do.
  const duration = new Histogram({ name: DASHBOARD.duration, help: "action duration", labelNames: ["action"], buckets: DEFAULT_BUCKETS, registers: [dash] });
  const failures = new Counter({ name: DASHBOARD.errors, help: "failed actions", labelNames: ["action"], registers: [dash] });
  const actions = {
    observe(action: string, seconds: number, failed: boolean) {
      duration.observe({ action }, seconds);
      failures.inc({ action }, failed ? 1 : 0);
    },
  };
  let now = T0 + 40_000;
  let target: Record<string, number> = {};
  const rec = new TimeSeriesRecorder({ sources: { runner, traffic, dashboard: dash }, now: () => now, targets: () => target });
  await rec.sample();
  target = { "SSH Traffic": 20_480 };
  const closers = [0, 1, 2, 3].map(() => health.connectionOpened("ssh"));
  for (let s = 0; s < 60; s += 5) {
    ssh.addWritten(s === 30 ? 51_200 : 102_400);
    ssh.addRead(102_400);
    for (let i = 0; i < 50; i++) ssh.observeRoundTrip(((s < 30 ? 0.002 : 0.012) + i / 20_000) * slow);
    if (s === 35) ssh.readError();
    now += 5000;
    await rec.sample();
  }
  closers.forEach((c) => c());
  jobs.finished("workspace-traffic", "ok", 60);
  jobs.finished("workspace-traffic", "ok", 60);
  jobs.finished("workspace-traffic", "ok", 60);
  jobs.finished("workspace-traffic", "failed", 35);
  target = {};
  for (let i = 0; i < 12; i++) actions.observe(i % 3 === 0 ? "open_workspace" : "view_templates", (0.3 + i / 50) * slow, i === 7);
  now += 20_000;
  await rec.stop();
  rec.write(dir);

  const builds = [9000, 9500, 10_200, 10_400, 11_000, 12_500, 13_000, 14_800, 15_100, 30_000].map((ms) => ms * slow);
  writeFileSync(join(dir, "results", "create-workspaces.json"), encodeResultsJson(results("workspacebuild", builds, new Set([9]), T0)));
  const sshResults = results("workspace-traffic", [60_000, 60_000, 60_000, 35_000], new Set([3]), T0 + 40_000);
  writeFileSync(join(dir, "results", "traffic-ssh.json"), encodeResultsJson(sshResults));
  const dashResults = results("dashboard", [20_000, 20_000], new Set(), T0 + 100_000);
  writeFileSync(join(dir, "results", "traffic-dashboard.json"), encodeResultsJson(dashResults));
  const summary: RunSummary = {
    runId,
    status: "Failed (exit=1)",
    startedAt: T0,
    endedAt: T0 + 125_000,
    resultsDir: join(dir, "results"),
    phases: [
      { name: "Creating workspaces", kind: "create", startedAt: T0, endedAt: T0 + 30_000, outcome: "failed", error: "1 of 10 workspaces failed", scenarios: [] },
      { name: "Waiting 10s to establish baseline", kind: "wait", startedAt: T0 + 30_000, endedAt: T0 + 40_000, outcome: "passed", scenarios: [] },
      {
        name: "Load scenario: SSH Traffic",
        kind: "load",
        startedAt: T0 + 40_000,
        endedAt: T0 + 100_000,
        outcome: "failed",
        scenarios: [
          {
            name: "SSH Traffic",
            outcome: "failed",
            bytesWritten: 1_177_600,
            bytesRead: 1_228_800,
            roundTrip: { samples: 600, p50: 6 * slow, p95: 13 * slow, p99: 14 * slow },
            target: { bytesPerSecond: 20_480, durationMs: 60_000, connections: 4 },
            resultsPath: join(dir, "results", "traffic-ssh.json"),
          },
        ],
      },
      {
        name: "Load scenario: Dashboard Traffic",
        kind: "load",
        startedAt: T0 + 100_000,
        endedAt: T0 + 120_000,
        outcome: "passed",
        scenarios: [
          {
            name: "Dashboard Traffic",
            outcome: "passed",
            dashboard: { actions: 12, p50: 500 * slow, p95: 800 * slow, p99: 820 * slow, errors: 1, errorsByAction: { view_templates: 1 }, noMatches: 0, screenshots: 1, screenshotDir: join(dir, "dashboard-traffic") },
            resultsPath: join(dir, "results", "traffic-dashboard.json"),
          },
        ],
      },
      { name: "Cleanup (on_error)", kind: "cleanup", startedAt: T0 + 120_000, endedAt: T0 + 125_000, outcome: "passed", scenarios: [] },
    ],
    verdict: {
      status: "fail",
      thresholds: [
        { threshold: "ssh.round_trip.p95 < 10ms", metric: "ssh.round_trip.p95", key: "ssh.round_trip.p95", side: "client", unit: "duration", better: "lower", status: "fail", observed: 13 * slow, observedText: `${13 * slow}ms`, abortOnFail: false },
        { threshold: "build.p95 < 2m", metric: "build.p95", key: "build.p95", side: "client", unit: "duration", better: "lower", status: "pass", observed: 15_100 * slow, observedText: "15.1s", abortOnFail: false },
      ],
    },
    saturation: { limited: false, reasons: [], warnings: ["wrote 83% of the target bytes (coderd's health unknown)"], windows: 12, limitedWindows: 0 },
  };
  writeFileSync(join(dir, "results", "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(dir, "environ.txt"), `SCALETEST_PARAM_COMMENT=fixture run\nSCALETEST_PARAM_GRAFANA_URL=https://grafana.example.test\nSCALETEST_PARAM_NUM_WORKSPACES=10\nSCALETEST_RUN_ID=${runId}\n`);
  return dir;
}
