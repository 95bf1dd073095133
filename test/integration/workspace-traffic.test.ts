// Workspace traffic end to end against the simulator: web terminal, apps, SSH (shim + real sshd), faults, metrics, CLI.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CoderClient } from "../../src/coder/client.ts";
import { waitForAgents, waitForBuild } from "../../src/coder/builds.ts";
import type { Workspace } from "../../src/coder/types.ts";
import { main } from "../../src/cli.ts";
import { Harness } from "../../src/harness/harness.ts";
import type { Results } from "../../src/harness/results.ts";
import { concurrent } from "../../src/harness/strategies.ts";
import { RunnerHealth } from "../../src/metrics/health.ts";
import { RUNNER, TRAFFIC } from "../../src/metrics/names.ts";
import { createRegistry, JobMetrics, TrafficMetrics } from "../../src/metrics/registry.ts";
import { startMetricsServer } from "../../src/metrics/server.ts";
import { defaultWorkspaceTrafficConfig, type WorkspaceTrafficConfig } from "../../src/scenarios/workspace-traffic/config.ts";
import { runWorkspaceTrafficPhase } from "../../src/scenarios/workspace-traffic/phase.ts";
import { prepareWorkspaceTraffic } from "../../src/scenarios/workspace-traffic/runner.ts";
import { selectTrafficTargets } from "../../src/scenarios/workspace-traffic/select.ts";
import { coderShimPath } from "../../src/simulator/coder-shim/index.ts";
import { startSimulator, type Simulator } from "../../src/simulator/index.ts";
import { setSshTarget } from "../../src/simulator/ssh.ts";
import { trafficControls } from "../../src/simulator/traffic-host.ts";
import { parseResolve } from "../../src/traffic/resolve.ts";
import { Scheduler } from "../../src/traffic/scheduler.ts";
import { startSshd, type Sshd } from "../helpers/sshd.ts";

const N = 2;
let sim: Simulator;
let client: CoderClient;
let workspaces: Workspace[];

beforeAll(async () => {
  sim = await startSimulator({ knobs: { pendingMs: 0, runningMs: 10, agentConnectDelayMs: 0 } });
  client = new CoderClient({ url: sim.url, token: sim.sessionToken });
  workspaces = [];
  for (let i = 0; i < N; i++) {
    const ws = await client.createWorkspace(sim.owner.id, { template_id: sim.template.id, name: `scaletest-traffic-${i}` });
    await waitForBuild(client, ws.latest_build.id);
    await waitForAgents(client, ws.id);
    workspaces.push(await client.workspace(ws.id));
  }
});
afterAll(async () => sim?.close());

interface Outcome {
  harness: Harness;
  metricsText: string;
  values: (name: string, workspace: string) => number;
}

/** Runs the scenario like the CLI does (all jobs at once) and scrapes the metrics server afterwards. */
async function runTraffic(overrides: Partial<WorkspaceTrafficConfig>, during?: (registry: Registry) => Promise<void>): Promise<Outcome> {
  const port = new URL(sim.url).port;
  const cfg: WorkspaceTrafficConfig = {
    ...defaultWorkspaceTrafficConfig,
    bytesPerTick: 1024,
    tickIntervalMs: 50,
    durationMs: 1_000,
    resolve: [parseResolve(`*.apps.localhost:${port}:127.0.0.1`)],
    ...overrides,
  };
  const registry = createRegistry();
  const health = new RunnerHealth(registry);
  const scheduler = new Scheduler({ health });
  const server = await startMetricsServer(registry, "127.0.0.1:0");
  try {
    const plan = await prepareWorkspaceTraffic(client, {
      cfg,
      scheduler,
      traffic: new TrafficMetrics(registry),
      health,
      jobs: new JobMetrics(registry),
      closeTimeoutMs: 5_000,
    });
    const harness = new Harness({ strategy: concurrent(0) });
    for (const r of plan.runs) harness.addRun(r.testName, r.id, r.runner);
    const running = harness.run(new AbortController().signal);
    await Promise.all([running, during?.(registry)]);
    const metricsText = await (await fetch(`${server.url}/metrics`)).text();
    const values = (name: string, workspace: string) => {
      const m = new RegExp(`^${name}\\{agent_name="([^"]+)",username="${sim.owner.username}",workspace_name="${workspace}"\\} (\\S+)$`, "m").exec(metricsText);
      if (!m) throw new Error(`no ${name} series for ${workspace}`);
      return Number(m[2]);
    };
    return { harness, metricsText, values };
  } finally {
    scheduler.close();
    await server.close();
  }
}

function expectClean(o: Outcome, bytesPerTick: number, mode: "echo" | "sink" | "source"): void {
  const results = o.harness.results();
  expect(results.total_fail, JSON.stringify(results.runs, null, 1)).toBe(0);
  expect(results.total_pass).toBe(N);
  for (const ws of workspaces) {
    const written = o.values("coderd_scaletest_bytes_written_total", ws.name);
    const read = o.values("coderd_scaletest_bytes_read_total", ws.name);
    expect(written).toBeGreaterThanOrEqual(10 * bytesPerTick);
    if (mode === "echo") expect(Math.abs(read - written)).toBeLessThanOrEqual(bytesPerTick);
    if (mode === "sink") expect(read).toBe(0);
    if (mode === "source") expect(read).toBeGreaterThan(written);
    expect(o.values("coderd_scaletest_read_errors_total", ws.name)).toBe(0);
    expect(o.values("coderd_scaletest_write_errors_total", ws.name)).toBe(0);
  }
  expect(o.metricsText).toContain('coderd_scaletest_jobs_total{test="workspace-traffic",outcome="ok"} 2');
}

describe("workspace traffic against the simulator", () => {
  it("web terminal: all jobs pass, reads match writes within one tick, every echo verified and timed", async () => {
    const o = await runTraffic({});
    expectClean(o, 1024, "echo");
    for (const ws of workspaces) {
      expect(o.values("coderd_scaletest_round_trip_seconds_count", ws.name)).toBeGreaterThanOrEqual(10);
    }
    expect(o.metricsText).toMatch(/coderd_scaletest_read_latency_seconds_count\{agent_name="m",username="[^"]+",workspace_name="scaletest-traffic-0"\} \d+/);
    expect(o.harness.runs[0]!.log.toString()).toMatch(/echoes verified, round trip p50/);
  });

  it("app wsec echoes (verified), wsdi sinks, wsra streams", async () => {
    const wsec = await runTraffic({ app: "wsec" });
    expectClean(wsec, 1024, "echo");
    expect(wsec.values("coderd_scaletest_round_trip_seconds_count", workspaces[0]!.name)).toBeGreaterThanOrEqual(10);
    expectClean(await runTraffic({ app: "wsdi" }), 1024, "sink");
    expectClean(await runTraffic({ app: "wsra" }), 1024, "source");
  });

  it("never trips the PTY's 32 KiB message limit, even with 100000 bytes per tick", async () => {
    expectClean(await runTraffic({ bytesPerTick: 100_000, tickIntervalMs: 100, durationMs: 1_200 }), 100_000, "echo");
  });

  it("counts read errors when the simulator drops the sockets mid-run", async () => {
    const o = await runTraffic({ durationMs: 3_000 }, async (registry) => {
      // Mid-run: every connection is open (the runner's gauge) and has sent its first tick; then drop them all.
      const value = async (name: string, labels: Record<string, string>) =>
        (await registry.getSingleMetric(name)!.get()).values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((a, v) => a + v.value, 0);
      await expect.poll(() => value(RUNNER.openConnections, { mode: "rpty" }), { timeout: 10_000, interval: 10 }).toBe(N);
      for (const ws of workspaces) {
        await expect.poll(() => value(TRAFFIC.bytesWritten, { workspace_name: ws.name }), { timeout: 10_000, interval: 10 }).toBeGreaterThan(0);
      }
      expect(trafficControls(sim.ctx).sockets.count("pty")).toBe(N);
      expect(trafficControls(sim.ctx).sockets.dropAll({ kind: "pty" })).toBe(N);
    });
    const results = o.harness.results();
    expect(results.total_fail).toBe(N);
    for (const ws of workspaces) expect(o.values("coderd_scaletest_read_errors_total", ws.name)).toBe(1);
    expect(Object.values(results.runs)[0]!.error).toMatch(/read from agent: websocket closed with status 1006/);
    expect(o.metricsText).toContain('coderd_scaletest_jobs_total{test="workspace-traffic",outcome="failed"} 2');
  });

  it("reports a corrupted echo byte as a read error", async () => {
    sim.setKnobs({ corruptEchoRate: 1 });
    try {
      const o = await runTraffic({});
      expect(o.harness.results().total_fail).toBe(N);
      expect(Object.values(o.harness.results().runs)[0]!.error).toMatch(/echo corrupted: tick 1 byte \d+: expected 0x[0-9a-f]{2}, got 0x[0-9a-f]{2}/);
      for (const ws of workspaces) expect(o.values("coderd_scaletest_read_errors_total", ws.name)).toBe(1);
    } finally {
      sim.setKnobs({ corruptEchoRate: 0 });
    }
  });
});

describe("retries in the results", () => {
  it("a refused upgrade is retried: the job's log in the results JSON names it, the phase's totals count it, every job passes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wt-retry-"));
    const scheduler = new Scheduler();
    const registry = createRegistry();
    const lines: string[] = [];
    sim.setKnobs({ refuseUpgrades: 1 });
    try {
      const resultsPath = join(dir, "r.json");
      const r = await runWorkspaceTrafficPhase({
        client,
        cfg: { ...defaultWorkspaceTrafficConfig, bytesPerTick: 64, tickIntervalMs: 50, durationMs: 300 },
        strategy: { concurrency: 0, timeoutMs: 300, jobTimeoutMs: 30_000 },
        scheduler,
        traffic: new TrafficMetrics(registry),
        signal: new AbortController().signal,
        log: (l) => lines.push(l),
        resultsPath,
      });
      expect(sim.knobs().refuseUpgrades).toBe(0);
      const written = JSON.parse(await readFile(resultsPath, "utf8")) as Results;
      expect([written.total_runs, written.total_pass], JSON.stringify(written.runs, null, 1)).toEqual([N, N]);
      const retried = Object.values(written.runs).filter((run) => run.logs.includes("retry websocket after 503 (attempt 1)"));
      expect(retried.length).toBe(1);
      expect(r.retries).toEqual({ total: 1, byReason: { "websocket 503": 1 } });
      expect(lines).toContain("Retries: 1 (websocket 503 ×1)");
    } finally {
      sim.setKnobs({ refuseUpgrades: 0 });
      scheduler.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("SSH traffic through the coder shim", () => {
  let sshd: Sshd | undefined;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ssh-traffic-"));
  });
  afterAll(async () => {
    await sshd?.stop();
    for (const ws of workspaces ?? []) setSshTarget(sim, ws.latest_build.resources.flatMap((r) => r.agents ?? [])[0]!.id, undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it("runs dd as an echo over the built-in agent server with none auth", async () => {
    expectClean(await runTraffic({ ssh: true, coderBinary: coderShimPath() }), 1024, "echo");
  });

  it("runs dd as an echo on a real OpenSSH sshd, every byte verified", async () => {
    sshd = await startSshd();
    const key = join(dir, "id_ed25519");
    await writeFile(key, sshd.privateKey, { mode: 0o600 });
    for (const ws of workspaces) {
      for (const a of ws.latest_build.resources.flatMap((r) => r.agents ?? [])) setSshTarget(sim, a.id, { host: sshd.host, port: sshd.port });
    }
    const o = await runTraffic({ ssh: true, coderBinary: coderShimPath(), sshIdentityFile: key, sshUser: sshd.username });
    expectClean(o, 1024, "echo");
    for (const ws of workspaces) expect(o.values("coderd_scaletest_round_trip_seconds_count", ws.name)).toBeGreaterThanOrEqual(10);
  });
});

describe("target selection", () => {
  const cfg = (o: Partial<WorkspaceTrafficConfig>) => ({ ...defaultWorkspaceTrafficConfig, ...o });

  it("pages with the q filter until an empty page and keeps list indexes as job IDs", async () => {
    const before = sim.requests.length;
    const sel = await selectTrafficTargets(client, cfg({ template: sim.template.name, targetWorkspaces: "1:2" }));
    expect(sel.targets.map((t) => [t.index, t.workspace.name, t.agent.name])).toEqual([[1, "scaletest-traffic-1", "m"]]);
    const lists = sim.requests.slice(before).filter((r) => r.route === "/api/v2/workspaces");
    expect(lists.length).toBe(2); // the data page, then the empty page that ends the loop
    // The template term of the q filter reaches the server: another template's name selects nothing.
    const other = sim.templates.find((t) => t.id !== sim.template.id)!;
    await expect(selectTrafficTargets(client, cfg({ template: other.name }))).rejects.toThrow("no scaletest workspaces exist");
  });

  it("fails with upstream's messages for a missing app, a range past the list and an unknown template", async () => {
    await expect(selectTrafficTargets(client, cfg({ app: "nope" }))).rejects.toThrow('app "nope" not found in workspace "scaletest-traffic-0"');
    await expect(selectTrafficTargets(client, cfg({ targetWorkspaces: "0:5" }))).rejects.toThrow(
      "target workspace end 5 is greater than the number of workspaces 2",
    );
    await expect(selectTrafficTargets(client, cfg({ template: "no-such-template" }))).rejects.toThrow(/validate --template: could not find template "no-such-template"/);
  });

  it("builds subdomain app URLs from the app host", async () => {
    const sel = await selectTrafficTargets(client, cfg({ app: "wsec" }));
    const host = (await client.appHost()).host;
    expect(sel.targets[0]!.appUrl).toMatch(new RegExp(`^http://wsec-[^/]+${host.slice(1).replace(/\./g, "\\.")}/$`));
  });
});

describe("scaletest workspace-traffic", () => {
  it("runs from the command line and writes upstream-shaped results", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wt-cli-"));
    try {
      const out = join(dir, "r.json");
      const code = await main([
        "workspace-traffic", "--url", sim.url, "--token", sim.sessionToken, "--timeout", "1s", "--job-timeout", "30s",
        "--tick-interval", "50ms", "--concurrency", "0", "--target-workspaces", "0:2",
        "--scaletest-prometheus-address", "127.0.0.1:0", "--scaletest-prometheus-wait", "0s", "--output", `json:${out}`,
        "--workers", "2",
      ]);
      const results = JSON.parse(await readFile(out, "utf8")) as { total_runs: number; total_pass: number; runs: Record<string, unknown> };
      expect(code).toBe(0);
      expect(results.total_runs).toBe(2);
      expect(results.total_pass).toBe(2);
      expect(Object.keys(results.runs).sort()).toEqual(["workspace-traffic/0", "workspace-traffic/1"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("draws the staged run's progress line while it runs: time left, jobs ok/failed/running, bytes/s against the target, round trip, errors", async () => {
    let stderr = "";
    const write = process.stderr.write.bind(process.stderr);
    const tty = Object.getOwnPropertyDescriptor(process.stderr, "isTTY");
    // Plain-line mode, as in a pod's log.
    Object.defineProperty(process.stderr, "isTTY", { value: false, configurable: true });
    process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main([
        "workspace-traffic", "--url", sim.url, "--token", sim.sessionToken, "--timeout", "2s", "--job-timeout", "30s",
        "--tick-interval", "50ms", "--concurrency", "0", "--target-workspaces", "0:2", "--progress-interval", "300ms",
        "--scaletest-prometheus-address", "127.0.0.1:0", "--scaletest-prometheus-wait", "0s", "--workers", "1",
      ]);
    } finally {
      process.stderr.write = write;
      if (tty) Object.defineProperty(process.stderr, "isTTY", tty);
      else delete (process.stderr as { isTTY?: boolean }).isTTY;
    }
    expect(code, stderr).toBe(0);
    const lines = stderr.split("\n").filter((l) => l.startsWith("workspace-traffic (rpty)"));
    expect(stderr).not.toMatch(/\r|\x1b/);
    // 2 jobs of 1024 bytes every 50 ms: 40 KiB/s is the target.
    const full = lines
      .map((l) => /^workspace-traffic \(rpty\) {2}\d+s left {2}jobs ok 0 failed 0 running 2 open 2 {2}([\d.]+) KiB\/s of 40\.0 KiB\/s \((\d+)%\) {2}rtt p95 ([\d.]+)ms {2}errors 0$/.exec(l))
      .filter((m) => m !== null);
    expect(full.length, stderr).toBeGreaterThan(0);
    for (const [, kib, pct, rtt] of full) {
      expect(Number(kib)).toBeGreaterThan(20);
      expect(Number(pct)).toBeGreaterThan(50);
      expect(Number(rtt)).toBeGreaterThan(0);
    }
    expect(stderr).not.toContain(sim.sessionToken);
  });

  it("rejects bad flags before connecting, naming the flag", async () => {
    const base = ["workspace-traffic", "--url", "http://127.0.0.1:1", "--token", "x"];
    expect(await main([...base, "--bytes-per-tick", "0"])).toBe(2);
    expect(await main([...base, "--ssh", "--app", "wsec", "--coder-binary", coderShimPath()])).toBe(2);
    expect(await main([...base, "--target-workspaces", "3:3"])).toBe(2);
    expect(await main([...base, "--tick-interval", "0s"])).toBe(2);
  });

  it("rejects out-of-range traffic flags with exit 2 before any request, naming the flag and its range", async () => {
    const base = ["workspace-traffic", "--url", sim.url, "--token", sim.sessionToken, "--scaletest-prometheus-address", "127.0.0.1:0"];
    const cases: [string[], RegExp][] = [
      [["--bytes-per-tick", "99999999999"], /--bytes-per-tick: must be an integer from 1 to 33554432, got 99999999999/],
      [["--tick-interval", "1ns"], /--tick-interval: must be a duration from 1ms to 1m0s, got 1ns/],
      [["--tick-interval", "2m"], /--tick-interval: must be a duration from 1ms to 1m0s, got 2m0s/],
      [["--workers", "0"], /--workers: must be an integer from 1 to 64 \(default: the CPU limit\), got "0"/],
      [["--progress-interval", "10ms"], /--progress-interval: must be 0 \(1s on a terminal, 10s otherwise\) or a duration from 100ms to 1h0m0s, got 10ms/],
    ];
    for (const [flags, message] of cases) {
      const mark = sim.requests.length;
      let stderr = "";
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
      let code: number;
      try {
        code = await main([...base, ...flags]);
      } finally {
        process.stderr.write = write;
      }
      expect(code, stderr).toBe(2);
      expect(stderr).toMatch(message);
      expect(stderr).not.toContain(sim.sessionToken);
      expect(sim.requests.slice(mark)).toEqual([]);
    }
  });
});
