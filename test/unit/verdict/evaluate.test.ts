import { describe, expect, it } from "vitest";
import { createRegistry, JobMetrics, TrafficMetrics } from "../../../src/metrics/registry.ts";
import type { RunSummary } from "../../../src/report/summary.ts";
import { buildStatsOf, summaryValues } from "../../../src/verdict/client-values.ts";
import { evaluateThresholds, verdictExitCode, verdictLines, verdictOf, VERDICT_EXIT } from "../../../src/verdict/evaluate.ts";
import { ThresholdMonitor } from "../../../src/verdict/monitor.ts";
import { parseThreshold } from "../../../src/verdict/threshold.ts";

const results = (pass: number, fail: number) => ({ total_runs: pass + fail, total_pass: pass, total_fail: fail, elapsed: "1s", elapsed_ms: 1000, runs: {} });

/** A run: SSH Traffic at 80 % of its target bytes with 1 of 4 jobs failed, Dashboard Traffic with 1 failed action in 10. */
const summary: RunSummary = {
  runId: "r1",
  status: "Complete",
  startedAt: 1_000,
  endedAt: 100_000,
  resultsDir: "/tmp/r1/results",
  phases: [
    { name: "Creating workspaces", kind: "create", startedAt: 1_000, endedAt: 5_000, outcome: "passed", scenarios: [], agentConnect: { samples: 4, p50: 500, p95: 1500, p99: 1600 } },
    {
      name: "Load scenario: SSH Traffic",
      kind: "load",
      startedAt: 10_000,
      endedAt: 20_000,
      outcome: "failed",
      scenarios: [
        {
          name: "SSH Traffic",
          outcome: "failed",
          results: results(3, 1),
          bytesWritten: 80_000,
          roundTrip: { samples: 400, p50: 2, p95: 40, p99: 90 },
          target: { bytesPerSecond: 10_000, durationMs: 10_000, connections: 4 },
        },
      ],
    },
    {
      name: "Load scenario: Dashboard Traffic",
      kind: "load",
      startedAt: 20_000,
      endedAt: 30_000,
      outcome: "passed",
      scenarios: [
        {
          name: "Dashboard Traffic",
          outcome: "passed",
          results: results(2, 0),
          dashboard: { actions: 10, p50: 300, p95: 900, p99: 1200, errors: 1, errorsByAction: { open_workspace: 1 }, noMatches: 0, screenshots: 1, screenshotDir: "/tmp" },
        },
      ],
    },
  ],
};
const builds = { durationsMs: [1000, 2000, 3000, 4000], total: 5, failed: 1 };

describe("client values from a run's summary", () => {
  const values = summaryValues(summary, builds);

  it("derives every client figure the catalog names", () => {
    expect(Object.fromEntries(values)).toEqual({
      "ssh.error_rate": 0.25,
      "ssh.round_trip.p50": 2,
      "ssh.round_trip.p95": 40,
      "ssh.round_trip.p99": 90,
      "round_trip.p50": 2,
      "round_trip.p95": 40,
      "round_trip.p99": 90,
      "ssh.bytes.achieved_ratio": 0.8,
      "bytes.achieved_ratio": 0.8,
      "dashboard.action.p50": 300,
      "dashboard.action.p95": 900,
      "dashboard.action.p99": 1200,
      "dashboard.error_rate": 0.1,
      "build.p50": 2000,
      "build.p95": 4000,
      "build.p99": 4000,
      "build.error_rate": 0.2,
      "agent_connect.p50": 500,
      "agent_connect.p95": 1500,
      "agent_connect.p99": 1600,
      // 1 failed of 4 SSH jobs, 0 of 2 dashboard users, 1 of 5 builds.
      error_rate: 2 / 11,
    });
  });

  it("passes a passing set", () => {
    const ts = ["ssh.round_trip.p95 < 50ms", "bytes.achieved_ratio > 75%", "build.p95 <= 4s", "dashboard.error_rate < 20%", "error_rate < 0.2"].map(parseThreshold);
    const r = evaluateThresholds(ts, values);
    expect(r.map((x) => [x.status, x.observedText])).toEqual([
      ["pass", "40.0ms"],
      ["pass", "80.0%"],
      ["pass", "4.00s"],
      ["pass", "10.0%"],
      ["pass", "18.2%"],
    ]);
    expect(verdictOf(ts, r).status).toBe("pass");
    expect(verdictExitCode(0, verdictOf(ts, r))).toBe(0);
  });

  it("fails a failing set, says which and by what value, and leaves unmeasured ones as no data", () => {
    const ts = ["ssh.round_trip.p99 < 50ms", "ssh.error_rate < 1%", "app.round_trip.p95 < 1s", "dashboard.action.p95 < 1s"].map(parseThreshold);
    const v = verdictOf(ts, evaluateThresholds(ts, values));
    expect(v.thresholds.map((x) => [x.metric, x.status, x.observed])).toEqual([
      ["ssh.round_trip.p99", "fail", 90],
      ["ssh.error_rate", "fail", 0.25],
      ["app.round_trip.p95", "no_data", undefined],
      ["dashboard.action.p95", "pass", 900],
    ]);
    expect(v.status).toBe("fail");
    expect(verdictExitCode(0, v)).toBe(VERDICT_EXIT.thresholdsFailed);
    // A run that already failed keeps its exit code.
    expect(verdictExitCode(1, v)).toBe(1);
    expect(verdictLines(v)).toContain("  FAIL ssh.round_trip.p99 < 50ms: observed 90.0ms");
  });

  it("does not trust latency verdicts from a saturated generator, but still fails on errors", () => {
    const saturation = { limited: true, reasons: ["event-loop lag p99 80ms is above half the 10ms tick interval"] };
    const latencyOnly = [parseThreshold("ssh.round_trip.p99 < 50ms")];
    const v1 = verdictOf(latencyOnly, evaluateThresholds(latencyOnly, values), saturation);
    expect([v1.status, v1.thresholds[0]!.untrusted]).toEqual(["generator-limited", true]);
    expect(verdictExitCode(0, v1)).toBe(VERDICT_EXIT.generatorLimited);
    // Without thresholds there is no figure to distrust: saturation is reported, the exit code stays 0.
    const bare = verdictOf([], [], saturation);
    expect([bare.status, verdictExitCode(0, bare)]).toEqual(["generator-limited", 0]);
    // Nor with only thresholds a saturated runner does not distort (errors, build times): they pass, exit 0.
    const robust = [parseThreshold("ssh.error_rate < 100%")];
    const v2 = verdictOf(robust, evaluateThresholds(robust, values), saturation);
    expect([v2.status, v2.thresholds[0]!.untrusted, verdictExitCode(0, v2)]).toEqual(["generator-limited", undefined, 0]);
    const withErrors = [...latencyOnly, parseThreshold("ssh.error_rate < 1%")];
    expect(verdictOf(withErrors, evaluateThresholds(withErrors, values), saturation).status).toBe("fail");
  });
});

describe("ThresholdMonitor", () => {
  it("evaluates a phase live from the registries and stops the run on an abortOnFail threshold after its grace", async () => {
    const runner = createRegistry();
    const traffic = createRegistry();
    const jobs = new JobMetrics(runner, { scenario: "Web Terminal Traffic" });
    const conn = new TrafficMetrics(traffic, { scenario: "Web Terminal Traffic", perWorkspaceLabels: false }).connMetrics({ username: "u", workspace_name: "w", agent_name: "a" });
    let now = 0;
    const aborted: string[] = [];
    const monitor = new ThresholdMonitor({
      thresholds: ["web_terminal.round_trip.p95 < 20ms abortOnFail=5s", "web_terminal.bytes.achieved_ratio > 0.9"].map(parseThreshold),
      sources: { runner, traffic },
      targets: () => ({ "Web Terminal Traffic": 1000 }),
      onAbort: (r) => aborted.push(r.threshold),
      now: () => now,
    });
    // Traffic before the phase is not the phase's.
    conn.observeRoundTrip(5);
    await monitor.startPhase("Load scenario: Web Terminal Traffic");
    jobs.zero("workspace-traffic");
    for (let i = 0; i < 100; i++) conn.observeRoundTrip(0.004);
    conn.addWritten(2000);
    now = 2000;
    let r = await monitor.evaluate();
    expect(r.map((x) => x.status)).toEqual(["pass", "pass"]);
    expect(r[0]!.observed).toBeLessThan(5);
    expect(r[1]!.observed).toBe(1);
    // Slow echoes: the p95 fails, but only aborts once the 5 s grace has passed.
    for (let i = 0; i < 400; i++) conn.observeRoundTrip(0.2);
    now = 4000;
    r = await monitor.evaluate();
    expect(r[0]!.status).toBe("fail");
    expect(aborted).toEqual([]);
    now = 6000;
    await monitor.evaluate();
    expect(aborted).toEqual(["web_terminal.round_trip.p95 < 20ms abortOnFail=5s"]);
    expect(monitor.abortedBy).toBe(aborted[0]);
    // Half the bytes asked for over 6 s: the end-of-phase evaluation fails the ratio, and does not abort twice.
    const end = await monitor.endPhase();
    expect(end[1]!.observed).toBeCloseTo(2000 / 6000, 5);
    expect(end[1]!.status).toBe("fail");
    expect(aborted).toHaveLength(1);
  });
});

describe("ThresholdMonitor over a create phase", () => {
  it("evaluates build, agent connect and error figures from the workspaces built so far, and aborts on them", async () => {
    let now = 0;
    const aborted: string[] = [];
    const built: Array<{ ok: boolean; durationMs: number; agentConnectMs?: number }> = [];
    const monitor = new ThresholdMonitor({
      thresholds: ["build.p95 < 2s abortOnFail", "agent_connect.p95 < 1s", "error_rate < 30%", "ssh.round_trip.p95 < 1s"].map(parseThreshold),
      sources: { runner: createRegistry(), traffic: createRegistry() },
      builds: () => buildStatsOf(built),
      onAbort: (r) => aborted.push(r.threshold),
      now: () => now,
    });
    await monitor.startPhase("Creating workspaces");
    // Nothing built yet: no data, no abort.
    expect((await monitor.evaluate()).map((x) => x.status)).toEqual(["no_data", "no_data", "no_data", "no_data"]);
    built.push({ ok: true, durationMs: 1200, agentConnectMs: 300 }, { ok: true, durationMs: 1500, agentConnectMs: 700 });
    now = 1000;
    let r = await monitor.evaluate();
    expect(r.map((x) => [x.status, x.observed])).toEqual([
      ["pass", 1500],
      ["pass", 700],
      ["pass", 0],
      ["no_data", undefined],
    ]);
    expect(aborted).toEqual([]);
    // A slow build and a failed one: the build p95 fails and stops the run; the failure counts in error_rate.
    built.push({ ok: true, durationMs: 3500, agentConnectMs: 2500 }, { ok: false, durationMs: 900 });
    now = 2000;
    r = await monitor.evaluate();
    expect(r.map((x) => [x.status, x.observed])).toEqual([
      ["fail", 3500],
      ["fail", 2500],
      ["pass", 0.25],
      ["no_data", undefined],
    ]);
    expect(aborted).toEqual(["build.p95 < 2s abortOnFail"]);
    // The phase's end is judged on what it ended with, though the builds list has moved on since.
    const at = { targets: {}, builds: buildStatsOf(built.slice(0, 2)) };
    built.length = 0;
    expect((await monitor.endPhase(at)).map((x) => x.status)).toEqual(["pass", "pass", "pass", "no_data"]);
  });
});
