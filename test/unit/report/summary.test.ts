import { describe, expect, it } from "vitest";
import type { Results } from "../../../src/harness/results.ts";
import { dashboardLines, renderSummary, scenarioLine, topErrors, type RunSummary } from "../../../src/report/summary.ts";
import { formatBytes } from "../../../src/util/bytes.ts";

function results(errors: string[]): Results {
  const runs: Results["runs"] = {};
  errors.forEach((error, i) => {
    runs[`workspace-traffic/${i}`] = {
      full_id: `workspace-traffic/${i}`,
      test_name: "workspace-traffic",
      id: String(i),
      logs: "",
      started_at: "2024-01-01T00:00:00Z",
      duration: "1s",
      duration_ms: 1000,
      error,
    };
  });
  const fail = errors.filter((e) => e !== "<nil>").length;
  return { total_runs: errors.length, total_pass: errors.length - fail, total_fail: fail, elapsed: "1s", elapsed_ms: 1000, runs };
}

describe("summary", () => {
  it("formats bytes readably", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(12 * 1024 * 1024)).toBe("12.0 MiB");
  });

  it("groups run errors by text, most frequent first", () => {
    const r = results(["<nil>", "dial: refused", "dial: refused\n  stack", "eof"]);
    expect(topErrors(r)).toEqual([
      { error: "dial: refused", count: 2 },
      { error: "eof", count: 1 },
    ]);
  });

  it("renders phases, scenarios, traffic and errors", () => {
    const run: RunSummary = {
      runId: "scaletest-x",
      status: "Failed (exit=1)",
      startedAt: 0,
      endedAt: 125_000,
      resultsDir: "/runs/x/results",
      annotationFailures: 2,
      phases: [
        { name: "Creating workspaces", kind: "create", startedAt: 0, endedAt: 30_000, outcome: "passed", scenarios: [] },
        { name: "Waiting 1m to establish baseline", kind: "wait", startedAt: 30_000, endedAt: 90_000, outcome: "passed", scenarios: [] },
        {
          name: "Load scenario: SSH Traffic",
          kind: "load",
          startedAt: 90_000,
          endedAt: 120_000,
          outcome: "failed",
          scenarios: [
            {
              name: "SSH Traffic",
              outcome: "failed",
              results: results(["<nil>", "write: broken pipe"]),
              bytesWritten: 2048,
              bytesRead: 1024,
              roundTrip: { samples: 40, p50: 1.234, p95: 12.5, p99: 150 },
              retries: { total: 3, byReason: { "rest 500": 1, "ssh exit": 2 } },
              resultsPath: "/runs/x/results/traffic-ssh.json",
            },
          ],
        },
        {
          name: "Load scenario: Dashboard Traffic",
          kind: "load",
          startedAt: 120_000,
          endedAt: 120_001,
          outcome: "failed",
          scenarios: [{ name: "Dashboard Traffic", outcome: "failed", error: "Dashboard Traffic is not available yet" }],
        },
      ],
    };
    const text = renderSummary(run);
    expect(text).toContain("Scaletest scaletest-x: Failed (exit=1) in 2m5s");
    expect(text).toContain("ok   1. Creating workspaces (30s)");
    expect(text).toContain("FAIL 3. Load scenario: SSH Traffic (30s)");
    expect(text).toContain("FAIL SSH Traffic: failed, 1/2 jobs passed");
    expect(text).toContain("written 2.0 KiB; read 1.0 KiB; round trip p50 1.23 ms, p95 12.5 ms, p99 150 ms (40 samples)");
    expect(text).toContain("1× write: broken pipe");
    expect(text).toContain("            retries: 3 (ssh exit ×2, rest 500 ×1)");
    expect(text).toContain("Dashboard Traffic: failed (Dashboard Traffic is not available yet)");
    expect(text).toContain("2 Grafana annotation request(s) failed");
    expect(text.trimEnd().endsWith("Results: /runs/x/results")).toBe(true);
  });

  it("renders Dashboard Traffic's actions, duration percentiles, errors by action and screenshots under its scenario line", () => {
    const clean = { actions: 12, p50: 312.4, p95: 1840, p99: 2950.6, errors: 0, errorsByAction: {}, noMatches: 0, screenshots: 0, screenshotDir: "/runs/x/dashboard-traffic" };
    expect(dashboardLines(clean)).toEqual(["12 actions, duration p50 312 ms, p95 1840 ms, p99 2951 ms; 0 errors"]);
    expect(dashboardLines({ ...clean, actions: 0, p50: 0, p95: 0, p99: 0 })).toEqual(["0 actions; 0 errors"]);
    const broken = { ...clean, actions: 1, p50: 7.5, p95: 7.5, p99: 7.5, errors: 3, errorsByAction: { starter_templates: 2, user_list: 1 }, noMatches: 1, screenshots: 4 };
    expect(dashboardLines(broken)).toEqual([
      "1 action, duration p50 7.50 ms, p95 7.50 ms, p99 7.50 ms; 3 errors (starter_templates 2, user_list 1); 1 without matches",
      "screenshots: /runs/x/dashboard-traffic (4)",
    ]);
    // A failed first page load leaves a screenshot without any action error.
    expect(dashboardLines({ ...clean, screenshots: 1 })[1]).toBe("screenshots: /runs/x/dashboard-traffic (1)");

    const text = renderSummary({
      runId: "scaletest-d",
      status: "Failed (exit=1)",
      startedAt: 0,
      resultsDir: "/runs/x/results",
      phases: [
        {
          name: "Load scenario: Dashboard Traffic",
          kind: "load",
          startedAt: 0,
          outcome: "failed",
          scenarios: [{ name: "Dashboard Traffic", outcome: "passed", results: results(["<nil>", "<nil>"]), dashboard: broken, resultsPath: "/runs/x/results/traffic-dashboard.json" }],
        },
      ],
    });
    expect(text).toContain(
      [
        "       ok   Dashboard Traffic: passed, 2/2 jobs passed",
        "            1 action, duration p50 7.50 ms, p95 7.50 ms, p99 7.50 ms; 3 errors (starter_templates 2, user_list 1); 1 without matches",
        "            screenshots: /runs/x/dashboard-traffic (4)",
        "            results: /runs/x/results/traffic-dashboard.json",
      ].join("\n"),
    );
  });

  it("writes one line per scenario for Slack", () => {
    expect(scenarioLine({ name: "App Traffic", outcome: "timed_out" })).toBe("App Traffic: timed out");
  });
});
