// --workers: jobs run in worker threads split by workspace ID, with one harness, one results set and one page.
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { Harness } from "../../../src/harness/harness.ts";
import { concurrent } from "../../../src/harness/strategies.ts";
import { renderExposition } from "../../../src/metrics/exposition.ts";
import { RunnerHealth } from "../../../src/metrics/health.ts";
import { createRegistry, JobMetrics, TrafficMetrics } from "../../../src/metrics/registry.ts";
import { defaultWorkspaceTrafficConfig } from "../../../src/scenarios/workspace-traffic/config.ts";
import type { TrafficTarget } from "../../../src/scenarios/workspace-traffic/select.ts";
import { fnv1a32, shardOf } from "../../../src/traffic/shard.ts";
import { defaultWorkerCount, parseWorkers, startTrafficWorkers, type TrafficWorkers } from "../../../src/scenarios/workspace-traffic/workers.ts";

let wss: WebSocketServer | undefined;
let pool: TrafficWorkers | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
  for (const c of wss?.clients ?? []) c.terminate();
  await new Promise((r) => (wss ? wss.close(r) : r(undefined)));
});

/** A terminal on loopback: each `{"data":…}` frame echoed (\n -> \r\n); Ctrl+C ends the session with 1000. */
async function terminal(): Promise<string> {
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  wss.on("connection", (ws) =>
    ws.on("message", (msg: Buffer) => {
      const { data } = JSON.parse(msg.toString("latin1")) as { data: string };
      if (data === "\u0003") return ws.close(1000);
      ws.send(Buffer.from(data.replace(/\n/g, "\r\n"), "latin1"));
    }),
  );
  await once(wss, "listening");
  return `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

function targets(n: number): TrafficTarget[] {
  return Array.from({ length: n }, (_, i) => ({
    index: i,
    workspace: { id: randomUUID(), name: `scaletest-ws-${i}`, owner_name: "scaletest-owner" },
    agent: { id: randomUUID(), name: "main" },
  }));
}

describe("traffic worker threads", () => {
  it("run every job in the worker its workspace ID hashes to; one page sums every worker's series exactly", async () => {
    const url = await terminal();
    const registry = createRegistry();
    const health = new RunnerHealth(registry);
    new TrafficMetrics(registry);
    const jobs = new JobMetrics(registry);
    const ts = targets(8);
    const runs = ts.map((t) => ({ testName: "workspace-traffic", id: String(t.index), target: t }));
    const cfg = { ...defaultWorkspaceTrafficConfig, bytesPerTick: 512, tickIntervalMs: 20, durationMs: 300 };
    pool = await startTrafficWorkers(runs, { count: 3, cfg, url: new URL(url), token: "test-token-123", perWorkspaceLabels: true, registry, health, jobs, testName: "workspace-traffic" });
    expect(pool.count).toBe(3);
    for (const t of ts) expect(pool.workerOf(String(t.index))).toBe(shardOf(t.workspace.id, 3));

    const harness = new Harness({ strategy: concurrent(0) });
    for (const r of pool.runs) harness.addRun(r.testName, r.id, r.runner);
    await harness.run(new AbortController().signal);
    const results = harness.results();
    expect(results.total_pass, JSON.stringify(results.runs)).toBe(8);

    const page = await renderExposition(registry);
    for (const t of ts) {
      const log = results.runs[`workspace-traffic/${t.index}`]!.logs;
      const m = /Done: (\d+) ticks written, 0 skipped, (\d+) echoes verified/.exec(log);
      expect(m, log).not.toBeNull();
      const ticks = Number(m![1]);
      expect(Number(m![2])).toBe(ticks);
      const lbl = `agent_name="main",username="scaletest-owner",workspace_name="scaletest-ws-${t.index}"`;
      expect(page).toContain(`coderd_scaletest_bytes_written_total{${lbl}} ${ticks * 512}\n`);
      // Each tick echoes 513 bytes (\n -> \r\n).
      expect(page).toContain(`coderd_scaletest_bytes_read_total{${lbl}} ${ticks * 513}\n`);
      expect(page).toContain(`coderd_scaletest_round_trip_seconds_count{${lbl}} ${ticks}\n`);
      expect(page).toContain(`coderd_scaletest_write_latency_seconds_count{${lbl}} ${ticks + 1}\n`);
    }
    expect(page).toContain('coderd_scaletest_jobs_total{test="workspace-traffic",outcome="ok"} 8\n');
    expect(page).toContain('coderd_scaletest_open_connections{mode="rpty"} 0\n');
    expect(page).toMatch(/coderd_scaletest_runner_event_loop_lag_seconds_count [1-9]\d*\n/);
  });

  it("inside a shard, split the shard's own targets over every worker (the hash's next digits)", async () => {
    const url = await terminal();
    const registry = createRegistry();
    new RunnerHealth(registry);
    new TrafficMetrics(registry);
    // Shard 0 of 2 holds only even hashes: split by h mod 2, both of its workers' targets would land on worker 0.
    const mine = targets(40).filter((t) => shardOf(t.workspace.id, 2) === 0);
    const runs = mine.map((t) => ({ testName: "workspace-traffic", id: String(t.index), target: t }));
    pool = await startTrafficWorkers(runs, { count: 2, cfg: defaultWorkspaceTrafficConfig, url: new URL(url), token: "test-token-123", perWorkspaceLabels: true, registry, testName: "workspace-traffic", shardCount: 2 });
    const byWorker = [0, 1].map((w) => mine.filter((t) => pool!.workerOf(String(t.index)) === w).length);
    expect(byWorker.every((n) => n > 0), `targets per worker: ${byWorker}`).toBe(true);
    for (const t of mine) expect(pool.workerOf(String(t.index))).toBe(Math.floor(fnv1a32(t.workspace.id) / 2) % 2);
  });

  it("sum the shared series of --no-per-workspace-labels across workers", async () => {
    const url = await terminal();
    const registry = createRegistry();
    new RunnerHealth(registry);
    new TrafficMetrics(registry, { perWorkspaceLabels: false });
    const ts = targets(6);
    const runs = ts.map((t) => ({ testName: "workspace-traffic", id: String(t.index), target: t }));
    const cfg = { ...defaultWorkspaceTrafficConfig, bytesPerTick: 100, tickIntervalMs: 20, durationMs: 200 };
    pool = await startTrafficWorkers(runs, { count: 2, cfg, url: new URL(url), token: "test-token-123", perWorkspaceLabels: false, registry, testName: "workspace-traffic" });
    const harness = new Harness({ strategy: concurrent(0) });
    for (const r of pool.runs) harness.addRun(r.testName, r.id, r.runner);
    await harness.run(new AbortController().signal);
    const results = harness.results();
    expect(results.total_pass).toBe(6);
    const ticks = Object.values(results.runs).reduce((n, r) => n + Number(/Done: (\d+) ticks/.exec(r.logs)![1]), 0);
    const page = await renderExposition(registry);
    expect(page).toContain(`coderd_scaletest_bytes_written_total ${ticks * 100}\n`);
    expect(page).toContain(`coderd_scaletest_round_trip_seconds_count ${ticks}\n`);
    expect(page.match(/^coderd_scaletest_bytes_written_total/gm)).toHaveLength(1);
  });

  it("forward a cancel to the worker: the job stops early and is reported as canceled", async () => {
    const url = await terminal();
    const registry = createRegistry();
    new RunnerHealth(registry);
    new TrafficMetrics(registry);
    const jobs = new JobMetrics(registry);
    const ts = targets(2);
    const runs = ts.map((t) => ({ testName: "workspace-traffic", id: String(t.index), target: t }));
    const cfg = { ...defaultWorkspaceTrafficConfig, tickIntervalMs: 20, durationMs: 60_000 };
    pool = await startTrafficWorkers(runs, { count: 2, cfg, url: new URL(url), token: "test-token-123", perWorkspaceLabels: true, registry, jobs, testName: "workspace-traffic" });
    const harness = new Harness({ strategy: concurrent(0) });
    for (const r of pool.runs) harness.addRun(r.testName, r.id, r.runner);
    const stop = new AbortController();
    const running = harness.run(stop.signal);
    // Cancel once both connections are open (the workers' gauge, read through the main registry).
    while (!(await renderExposition(registry)).includes('coderd_scaletest_open_connections{mode="rpty"} 2')) await new Promise((r) => setImmediate(r));
    stop.abort();
    await running;
    expect(harness.outcomes().canceled).toBe(2);
    expect(await renderExposition(registry)).toContain('coderd_scaletest_jobs_total{test="workspace-traffic",outcome="canceled"} 2\n');
  });

  it("default to the cgroup CPU limit, capped by the CPUs; refuse a count out of range naming the flag", () => {
    const files = (map: Record<string, string>) => (p: string) => {
      if (!(p in map)) throw new Error("ENOENT");
      return map[p]!;
    };
    const v2 = (cpuMax: Record<string, string>, cgroup = "0::/\n") =>
      files({ "/proc/self/cgroup": cgroup, "/sys/fs/cgroup/cgroup.controllers": "cpu memory", ...cpuMax });
    expect(defaultWorkerCount(v2({ "/sys/fs/cgroup/cpu.max": "250000 100000\n" }), "linux", 8)).toBe(2);
    expect(defaultWorkerCount(v2({ "/sys/fs/cgroup/cpu.max": "400000 100000\n" }), "linux", 2)).toBe(2);
    expect(defaultWorkerCount(v2({ "/sys/fs/cgroup/cpu.max": "50000 100000\n" }), "linux", 8)).toBe(1);
    expect(defaultWorkerCount(v2({ "/sys/fs/cgroup/cpu.max": "max 100000\n" }), "linux", 6)).toBe(6);
    // The root cgroup has no cpu.max: unlimited.
    expect(defaultWorkerCount(v2({}), "linux", 6)).toBe(6);
    // No cgroup namespace: the process's own cgroup, and the tightest limit above it.
    const nested = { "/sys/fs/cgroup/kubepods/pod1/cpu.max": "max 100000", "/sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "300000 100000", "/sys/fs/cgroup/kubepods/cpu.max": "200000 100000" };
    expect(defaultWorkerCount(v2(nested, "0::/kubepods/pod1/c1\n"), "linux", 8)).toBe(2);
    const v1 = { "/proc/self/cgroup": "4:memory:/x\n3:cpu,cpuacct:/pod\n", "/sys/fs/cgroup/cpu/pod/cpu.cfs_quota_us": "300000", "/sys/fs/cgroup/cpu/pod/cpu.cfs_period_us": "100000", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000" };
    expect(defaultWorkerCount(files(v1), "linux", 8)).toBe(3);
    expect(defaultWorkerCount(files({ "/proc/self/cgroup": "1:cpu:/\n", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000" }), "linux", 4)).toBe(4);
    expect(defaultWorkerCount(files({}), "linux", 8)).toBe(1);
    expect(defaultWorkerCount(files({}), "darwin", 8)).toBe(8);
    expect(parseWorkers("4")).toEqual({ workers: 4 });
    expect(parseWorkers("").workers).toBeGreaterThanOrEqual(1);
    for (const bad of ["0", "65", "two", "1.5", "-1"]) {
      expect(parseWorkers(bad).problem).toEqual({ path: "--workers", message: `must be an integer from 1 to 64 (default: the CPU limit), got ${JSON.stringify(bad)}` });
    }
  });
});
