// Thresholds, saturation, time series and report.html on the staged run against the simulator: a passing run (and a
// failing set evaluated on it), an abortOnFail threshold stopping a run early with exit 3, a starved runner ending
// generator-limited with exit 4, and report.html written by a run that throws.
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli.ts";
import type { RunSummary } from "../../src/report/summary.ts";
import type { TimeSeriesFile } from "../../src/report/timeseries.ts";
import { scenarioDurations, simulatorConnectEnv, SIMULATOR_RUN_DEFAULTS } from "../../src/run/cli-run.ts";
import { prepare, run, withConfig, type RunOptions } from "../../src/run/lifecycle.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";

// Quarter-second windows, each judged (the default ignores windows under 1 s).
const FAST = { timeseries: 250, saturation: 250, thresholds: 250, saturationMinWindow: 0 };

describe("verdicts on the staged run", () => {
  let sim: Simulator;
  let root: string;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, knobs: { pendingMs: 50, runningMs: 100, jitterMs: 0, agentConnectDelayMs: 50 } });
    root = await mkdtemp(join(tmpdir(), "run-verdict-"));
  });
  afterAll(async () => {
    await sim?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** A small run: 2 workspaces, web terminal traffic for `duration`, the given thresholds. */
  async function stagedRun(name: string, thresholds: string[], duration = "2s", extra: { run?: Partial<RunOptions>; env?: NodeJS.ProcessEnv; onLog?: (line: string) => void } = {}) {
    const env: NodeJS.ProcessEnv = {
      ...SIMULATOR_RUN_DEFAULTS,
      ...simulatorConnectEnv(sim),
      CODER_WORKSPACE: "runner",
      SCALETEST_RUN_ID: `scaletest-${name}`,
      SCALETEST_RUN_DIR: join(root, name),
      SCALETEST_STATE_DIR: join(root, `${name}-ledger`),
      SCALETEST_PARAM_DRY_RUN: "0",
      SCALETEST_PARAM_NUM_WORKSPACES: "2",
      SCALETEST_PARAM_CREATE_CONCURRENCY: "2",
      SCALETEST_PARAM_LOAD_SCENARIOS: JSON.stringify(["Web Terminal Traffic"]),
      ...scenarioDurations(duration),
      SCALETEST_PARAM_LOAD_SCENARIO_BASELINE_DURATION: "1s",
      SCALETEST_PARAM_GREEDY_AGENT: "false",
      SCALETEST_PARAM_CLEANUP_STRATEGY: "always",
      SCALETEST_PARAM_THRESHOLDS: JSON.stringify(thresholds),
      ...extra.env,
    };
    const lines: string[] = [];
    let out = "";
    const io = { signal: new AbortController().signal, log: (l: string) => (lines.push(l), extra.onLog?.(l)), out: (t: string) => (out += t) };
    let code = await withConfig(env, (cfg) => prepare(cfg, io), io.log);
    if (code === 0) code = await withConfig(env, (cfg) => run(cfg, { ...io, watchIntervals: FAST, ...extra.run }), io.log);
    const summaryPath = join(root, name, "results", "summary.json");
    const summary = existsSync(summaryPath) ? (JSON.parse(readFileSync(summaryPath, "utf8")) as RunSummary) : undefined;
    return { code, lines, out, summary, dir: join(root, name) };
  }

  it("passes a passing set: exit 0, the verdict in summary.json and the summary, timeseries.json and report.html written", async () => {
    const r = await stagedRun("pass", ["web_terminal.round_trip.p95 < 5s", "web_terminal.bytes.achieved_ratio > 0.5", "error_rate < 1%", "build.p95 < 1m"]);
    expect(r.code, r.lines.join("\n")).toBe(0);
    expect(r.summary?.verdict?.status).toBe("pass");
    expect(r.summary?.verdict?.thresholds.map((t) => t.status)).toEqual(["pass", "pass", "pass", "pass"]);
    expect(r.summary?.saturation?.windows).toBeGreaterThan(0);
    expect(r.summary?.scaleTestRow).toMatchObject({ users: 2, concurrentBuilds: 2, concurrentConnections: { terminal: 2 }, coderVersion: "v2.16.0+sim" });
    expect(r.out).toMatch(/Verdict: PASS\n {2}ok {3}web_terminal\.round_trip\.p95 < 5s: observed [\d.]+(?:µs|ms)/);
    expect(r.out).toMatch(/\| unknown \| unknown \| unknown \| unknown \| unknown \| 2 \| 2 \| 2 terminal \| v2\.16\.0\+sim \|/);
    expect(r.out).toContain(`Report: ${join(r.dir, "report.html")}`);
    const ts = JSON.parse(readFileSync(join(r.dir, "timeseries.json"), "utf8")) as TimeSeriesFile;
    expect(ts.points.some((p) => (p.traffic["Web Terminal Traffic"]?.written ?? 0) > 0 && p.target?.["Web Terminal Traffic"])).toBe(true);
    expect(readFileSync(join(r.dir, "report.html"), "utf8")).toContain('<span class="badge pass" id="verdict">PASS</span>');
    // The same finished run against a failing set: `scaletest report --threshold` says so with exit 3.
    expect(await main(["report", r.dir, "--threshold", "web_terminal.round_trip.p50 < 1us", "--threshold", "build.p95 < 1ms"])).toBe(3);
  }, 60_000);

  it("stops the run early on an abortOnFail threshold, cleans up, and exits 3", async () => {
    const started = Date.now();
    const r = await stagedRun("abort", ["web_terminal.round_trip.p50 < 1us abortOnFail"], "30s");
    expect(r.code, r.lines.join("\n")).toBe(3);
    // Thirty seconds of traffic were planned; the first evaluation after the first echoes stops it.
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(r.summary?.status).toBe("Failed (exit=3)");
    expect(r.summary?.verdict).toMatchObject({ status: "fail", abortedBy: "web_terminal.round_trip.p50 < 1us abortOnFail" });
    expect(r.lines.join("\n")).toMatch(/abortOnFail stops the run/);
    expect(r.summary?.phases.at(-1)?.name).toBe("Cleanup (on_error)");
    expect(existsSync(join(r.dir, "report.html"))).toBe(true);
  }, 60_000);

  it("measures each workspace's agent connect time and judges thresholds on it", async () => {
    // Agents connect 600 ms after their build succeeds.
    sim.setKnobs({ agentConnectDelayMs: 600 });
    try {
      const r = await stagedRun("agent-connect", ["agent_connect.p50 >= 500ms", "agent_connect.p95 < 10s"], "1s");
      expect(r.code, r.lines.join("\n")).toBe(0);
      const create = r.summary?.phases.find((p) => p.name === "Creating workspaces");
      expect(create?.agentConnect?.samples).toBe(2);
      expect(create!.agentConnect!.p50).toBeGreaterThanOrEqual(590);
      expect(create!.agentConnect!.p50).toBeLessThan(5000);
      expect(r.summary?.verdict?.thresholds.map((t) => [t.status, t.observed])).toEqual([
        ["pass", create!.agentConnect!.p50],
        ["pass", create!.agentConnect!.p95],
      ]);
      expect(r.out).toMatch(/agents connected after the build: p50 \d+ ms, p95 \d+ ms, p99 \d+ ms \(2 workspaces\)/);
      // The same run against a stricter limit, evaluated from summary.json alone.
      expect(await main(["report", r.dir, "--threshold", "agent_connect.p95 < 100ms"])).toBe(3);
    } finally {
      sim.setKnobs({ agentConnectDelayMs: 50 });
    }
  }, 60_000);

  it("stops the run while workspaces are being built on an abortOnFail build threshold, and exits 3", async () => {
    // One at a time, each waiting for its agent: several seconds to build all four.
    sim.setKnobs({ agentConnectDelayMs: 600 });
    try {
      const started = Date.now();
      const r = await stagedRun("abort-create", ["build.p95 < 1ms abortOnFail"], "30s", { env: { SCALETEST_PARAM_NUM_WORKSPACES: "4", SCALETEST_PARAM_CREATE_CONCURRENCY: "1" } });
      expect(r.code, r.lines.join("\n")).toBe(3);
      expect(r.summary?.verdict).toMatchObject({ status: "fail", abortedBy: "build.p95 < 1ms abortOnFail" });
      expect(r.lines.join("\n")).toMatch(/"build\.p95 < 1ms abortOnFail" failed during Creating workspaces/);
      // Stopped while building: not every workspace was built, and no load ran.
      const create = r.summary!.phases.find((p) => p.name === "Creating workspaces")!;
      expect(create.outcome).not.toBe("passed");
      expect(create.agentConnect?.samples ?? 0).toBeLessThan(4);
      expect(r.summary!.phases.some((p) => p.kind === "load")).toBe(false);
      expect(r.summary?.phases.at(-1)?.name).toBe("Cleanup (on_error)");
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      sim.setKnobs({ agentConnectDelayMs: 50 });
    }
  }, 60_000);

  it("stops a run with a mistyped threshold before anything, with exit 2", async () => {
    const before = sim.state.users.size;
    const r = await stagedRun("typo", ["web_terminal.round_trip.p59 < 10ms"]);
    expect(r.code).toBe(2);
    expect(r.lines.join("\n")).toMatch(/validate SCALETEST_PARAM_THRESHOLDS\[0\]: unknown metric "web_terminal\.round_trip\.p59"; did you mean "web_terminal\.round_trip\.p5[09]"/);
    expect(sim.state.users.size).toBe(before);
    expect(existsSync(join(r.dir, "results"))).toBe(false);
  }, 30_000);

  it("ends generator-limited with exit 4 when the runner's event loop is starved while its traffic runs", async () => {
    // The run shares this process: while the Web Terminal Traffic jobs run, the event loop is blocked 150 ms at a time
    // (with a few ms free between blocks), so the 100 ms traffic timer fires late and skips ticks however fast or slow
    // the machine is. The same run unblocked passes (the first test: same settings, a PASS on a generator-sensitive set).
    let blocker: NodeJS.Timeout | undefined;
    let blocks = 0;
    const block = () => {
      const until = performance.now() + 150;
      while (performance.now() < until) {
        // busy: the traffic timer cannot run
      }
      blocks++;
    };
    const onLog = (line: string) => {
      if (line.includes("[Web Terminal Traffic] Running load test:")) blocker ??= setInterval(block, 10);
      if (line.startsWith("phase: Load scenario: Web Terminal Traffic [")) clearInterval(blocker);
    };
    let r: Awaited<ReturnType<typeof stagedRun>>;
    try {
      r = await stagedRun("starved", ["web_terminal.round_trip.p95 < 5s"], "3s", { onLog });
    } finally {
      clearInterval(blocker);
    }
    expect(blocks).toBeGreaterThan(5);
    expect(r.code, r.lines.join("\n")).toBe(4);
    expect(r.summary?.verdict?.status).toBe("generator-limited");
    // The threshold held, but on a starved runner: it is marked untrusted, and the reasons say why.
    expect(r.summary?.verdict?.thresholds).toMatchObject([{ threshold: "web_terminal.round_trip.p95 < 5s", status: "pass", untrusted: true }]);
    expect(r.summary?.saturation?.limited).toBe(true);
    expect(r.summary?.saturation?.reasons.join("\n")).toMatch(/skipped because the event loop ran more than a tick interval late|traffic timer late by [\d.]+ms at p99, above 50% of the 100ms tick interval/);
    expect(r.out).toContain("Verdict: GENERATOR-LIMITED (the runner was the bottleneck; latency figures are not trusted)");
    expect(r.out).toMatch(/ok {3}web_terminal\.round_trip\.p95 < 5s: observed [\d.]+(?:µs|ms) \(untrusted: generator-limited\)/);
    expect(r.lines.some((l) => l.startsWith("saturation: "))).toBe(true);
    expect(readFileSync(join(r.dir, "report.html"), "utf8")).toContain("Generator-limited: the runner was the bottleneck");
  }, 90_000);

  // Last: the throw skips cleanup, so its workspaces stay on the simulator.
  it("writes report.html when the run throws after its phases, before summary.json", async () => {
    const dir = join(root, "throws");
    // The hook runs right after the phases end; a throw there skips cleanup, the verdict and summary.json.
    const thrown = await stagedRun("throws", [], "1s", {
      run: {
        atForcedExit: () => {
          throw new Error("injected failure after the phases");
        },
      },
    }).catch((err: unknown) => err as Error);
    expect((thrown as Error).message).toBe("injected failure after the phases");
    expect(existsSync(join(dir, "results", "summary.json"))).toBe(false);
    const html = readFileSync(join(dir, "report.html"), "utf8");
    expect(html).toContain("<h1>Scale test scaletest-throws</h1>");
    expect(html).toMatch(/ok {3}\d+\. Load scenario: Web Terminal Traffic/);
    expect(html).toContain("Web Terminal Traffic: passed, 2/2 jobs passed");
  }, 60_000);
});
