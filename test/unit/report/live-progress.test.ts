import { PassThrough } from "node:stream";
import type { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { RunnerHealth } from "../../../src/metrics/health.ts";
import { createRegistry, JobMetrics, TrafficMetrics } from "../../../src/metrics/registry.ts";
import { LiveProgress, progressLine, shortLeft, type PhaseNow } from "../../../src/report/live-progress.ts";
import { evaluateThresholds } from "../../../src/verdict/evaluate.ts";
import { parseThreshold } from "../../../src/verdict/threshold.ts";

describe("progressLine", () => {
  it("counts a baseline wait down", () => {
    expect(progressLine({ phase: { name: "Waiting 5m to establish baseline", kind: "wait", endsAt: 200_500 }, now: 0, ok: 0, failed: 0, open: 0, errors: 0 })).toBe(
      "Waiting 5m to establish baseline: 3m21s left",
    );
    expect([shortLeft(59_001), shortLeft(3_700_000), shortLeft(-5)]).toEqual(["1m00s", "1h01m", "0s"]);
  });

  it("shows a load phase's jobs, bytes against target, round trip, errors, thresholds and saturation", () => {
    const thresholds = evaluateThresholds([parseThreshold("error_rate < 1%"), parseThreshold("ssh.round_trip.p95 < 5ms")], new Map([["error_rate", 0], ["ssh.round_trip.p95", 12]]));
    const line = progressLine({
      phase: { name: "Load scenario: SSH Traffic", kind: "load", endsAt: 90_000, targets: { "SSH Traffic": 2 * 1024 * 1024 } },
      now: 0,
      ok: 3,
      failed: 1,
      running: 19,
      open: 20,
      bytesPerSecond: 1024 * 1024,
      rttP95Ms: 12.34,
      errors: 2,
      thresholds,
      saturation: "traffic timer late by 80ms at p99",
    });
    expect(line).toBe(
      "Load scenario: SSH Traffic  1m30s left  jobs ok 3 failed 1 running 19 open 20  1.0 MiB/s of 2.0 MiB/s (50%)  rtt p95 12.3ms  errors 2  thresholds 1 ok, 1 FAIL  GENERATOR-LIMITED: traffic timer late by 80ms at p99",
    );
  });
});

/** A plain-line LiveProgress over these registries, its lines collected; the phase and clock are read through the getters. */
function watch(sources: { runner: Registry; traffic: Registry }, phase: () => PhaseNow | undefined, now: () => number) {
  const lines: string[] = [];
  const out = new PassThrough();
  out.on("data", (d: Buffer) => lines.push(...d.toString().split("\n").filter(Boolean)));
  return { p: new LiveProgress({ stream: out, sources, phase, tty: false, now }), lines };
}

describe("LiveProgress", () => {
  it("draws plain lines from the registries: rates over the interval, counts since the phase started", async () => {
    const runner = createRegistry();
    const traffic = createRegistry();
    const health = new RunnerHealth(runner);
    const jobs = new JobMetrics(runner, { scenario: "SSH Traffic" });
    const ssh = new TrafficMetrics(traffic, { scenario: "SSH Traffic", perWorkspaceLabels: false }).connMetrics({ username: "u", workspace_name: "w", agent_name: "a" });
    jobs.finished("workspace-traffic", "failed", 1); // before the phase: not counted
    let now = 0;
    let phase: PhaseNow | undefined;
    const out = new PassThrough();
    let text = "";
    out.on("data", (d: Buffer) => (text += d.toString()));
    const p = new LiveProgress({ stream: out, sources: { runner, traffic }, phase: () => phase, tty: false, now: () => now });
    await p.draw();
    expect(text).toBe("");
    phase = { name: "Load scenario: SSH Traffic", kind: "load", endsAt: 60_000, targets: { "SSH Traffic": 1000 } };
    await p.draw();
    jobs.started("workspace-traffic");
    jobs.started("workspace-traffic");
    health.connectionOpened("ssh");
    ssh.addWritten(2000);
    for (let i = 0; i < 20; i++) ssh.observeRoundTrip(0.004);
    ssh.readError();
    jobs.finished("workspace-traffic", "ok", 1);
    now = 2000;
    await p.draw();
    await p.stop();
    // 20 echoes of 4 ms: the 2.5-5 ms bucket, interpolated at rank 19 of 20 as histogram_quantile does.
    expect(text.split("\n")[1]).toBe("Load scenario: SSH Traffic  58s left  jobs ok 1 failed 0 running 1 open 1  1000 B/s of 1000 B/s (100%)  rtt p95 4.88ms  errors 1");
  });

  it("starts bytes/s and round trip over on a phase change: the first line of the next phase carries none of the last one's traffic", async () => {
    const runner = createRegistry();
    const traffic = createRegistry();
    const jobs = new JobMetrics(runner, { scenario: "SSH Traffic" });
    const ssh = new TrafficMetrics(traffic, { scenario: "SSH Traffic", perWorkspaceLabels: false }).connMetrics({ username: "u", workspace_name: "w", agent_name: "a" });
    let now = 0;
    let phase: PhaseNow | undefined = { name: "Load scenario: SSH Traffic", kind: "load", endsAt: 10_000, targets: { "SSH Traffic": 1000 } };
    const { p, lines } = watch({ runner, traffic }, () => phase, () => now);
    jobs.zero("workspace-traffic");
    await p.draw();
    jobs.started("workspace-traffic");
    ssh.addWritten(50_000);
    for (let i = 0; i < 20; i++) ssh.observeRoundTrip(0.02);
    now = 1000;
    await p.draw();
    expect(lines[1]).toContain("48.8 KiB/s of 1000 B/s");
    expect(lines[1]).toContain("rtt p95 ");
    // The SSH phase's tail is written after its last line; the next phase must not show it as its own.
    ssh.addWritten(50_000);
    for (let i = 0; i < 20; i++) ssh.observeRoundTrip(0.02);
    phase = { name: "Load scenario: Dashboard Traffic", kind: "load", endsAt: 20_000 };
    now = 2000;
    await p.draw();
    expect(lines[2]).toBe("Load scenario: Dashboard Traffic  18s left  jobs ok 0 failed 0 running 1 open 0  errors 0");
    // From then on the rates are the new phase's own.
    ssh.addWritten(3000);
    now = 5000;
    await p.draw();
    await p.stop();
    expect(lines[3]).toBe("Load scenario: Dashboard Traffic  15s left  jobs ok 0 failed 0 running 1 open 0  1000 B/s  errors 0");
  });

  it("counts a phase's jobs from its start, not from the last line, and leaves the greedy agent's traffic out of the phase's rate", async () => {
    const runner = createRegistry();
    const traffic = createRegistry();
    const term = new JobMetrics(runner, { scenario: "Web Terminal Traffic" });
    const app = new JobMetrics(runner, { scenario: "App Traffic" });
    const appConn = new TrafficMetrics(traffic, { scenario: "App Traffic", perWorkspaceLabels: false }).connMetrics({ username: "u", workspace_name: "w", agent_name: "a" });
    const greedy = new TrafficMetrics(traffic, { scenario: "Greedy Agent", perWorkspaceLabels: false }).connMetrics({ username: "g", workspace_name: "g", agent_name: "a" });
    let now = 0;
    let phase: PhaseNow | undefined = { name: "Load scenario: Web Terminal Traffic", kind: "load", endsAt: 10_000, targets: { "Web Terminal Traffic": 1000 } };
    const { p, lines } = watch({ runner, traffic }, () => phase, () => now);
    p.phaseStarted(phase.name);
    await p.draw();
    // The terminal phase's jobs end after its last line; then the app phase starts (a wait between them drew nothing).
    for (let i = 0; i < 8; i++) term.finished("workspace-traffic", "ok", 1);
    phase = undefined;
    now = 11_000;
    phase = { name: "Load scenario: App Traffic", kind: "load", endsAt: 31_000, targets: { "App Traffic": 1000 } };
    p.phaseStarted(phase.name);
    await p.draw();
    expect(lines[1]).toBe("Load scenario: App Traffic  20s left  jobs ok 0 failed 0 open 0  errors 0");
    appConn.addWritten(2000);
    greedy.addWritten(640_000);
    greedy.readError();
    app.finished("workspace-traffic", "ok", 1);
    now = 13_000;
    await p.draw();
    await p.stop();
    expect(lines[2]).toBe("Load scenario: App Traffic  18s left  jobs ok 1 failed 0 open 0  1000 B/s of 1000 B/s (100%)  errors 0");
  });
});
