import { afterEach, describe, expect, it } from "vitest";
import { createServer } from "node:net";
import { once } from "node:events";
import { createRegistry, JobMetrics, TrafficMetrics } from "../../../src/metrics/registry.ts";
import { RunnerHealth } from "../../../src/metrics/health.ts";
import { parseListenAddress, startMetricsServer, type MetricsServer } from "../../../src/metrics/server.ts";

const labels = { username: "scaletest-u-0", workspace_name: "scaletest-w-0", agent_name: "main" };
let server: MetricsServer | undefined;
afterEach(async () => server?.close());

describe("TrafficMetrics", () => {
  it("touches the six upstream series at job start: counters at 0, histograms with one 0 sample", async () => {
    const reg = createRegistry();
    new TrafficMetrics(reg).connMetrics(labels);
    const text = await reg.metrics();
    const lbl = 'agent_name="main",username="scaletest-u-0",workspace_name="scaletest-w-0"';
    for (const c of ["bytes_read_total", "bytes_written_total", "read_errors_total", "write_errors_total"]) {
      expect(text).toContain(`# TYPE coderd_scaletest_${c} counter`);
      expect(text).toMatch(new RegExp(`coderd_scaletest_${c}\\{[^}]*\\} 0\\n`));
    }
    for (const h of ["read_latency_seconds", "write_latency_seconds"]) {
      expect(text).toContain(`coderd_scaletest_${h}_bucket{le="0.005",${lbl}} 1`);
      expect(text).toContain(`coderd_scaletest_${h}_bucket{le="10",${lbl}} 1`);
      expect(text).toContain(`coderd_scaletest_${h}_count{${lbl}} 1`);
    }
    expect(text).toContain(`coderd_scaletest_round_trip_seconds_count{${lbl}} 0`);
  });

  it("counts through the ConnMetrics handle", async () => {
    const reg = createRegistry();
    const m = new TrafficMetrics(reg).connMetrics(labels);
    m.addWritten(1024);
    m.addRead(1000);
    m.readError();
    m.observeRoundTrip(0.002);
    const json = await reg.getMetricsAsJSON();
    const value = (name: string) => json.find((x) => x.name === name)!.values[0]!.value;
    expect(value("coderd_scaletest_bytes_written_total")).toBe(1024);
    expect(value("coderd_scaletest_bytes_read_total")).toBe(1000);
    expect(value("coderd_scaletest_read_errors_total")).toBe(1);
    expect(await reg.metrics()).toMatch(/coderd_scaletest_round_trip_seconds_bucket\{le="0.0025",[^}]*\} 1/);
  });

  it("drops the per-workspace labels when asked", async () => {
    const reg = createRegistry();
    const t = new TrafficMetrics(reg, { perWorkspaceLabels: false });
    t.connMetrics(labels).addWritten(5);
    t.connMetrics({ ...labels, workspace_name: "other" }).addWritten(5);
    const text = await reg.metrics();
    expect(text).toContain("coderd_scaletest_bytes_written_total 10\n");
    expect(text).not.toContain("workspace_name");
  });

  it("adds the staged runner's scenario label in Go's sorted order, and only when asked", async () => {
    const reg = createRegistry();
    new TrafficMetrics(reg, { scenario: "Web Terminal Traffic" }).connMetrics(labels).addWritten(7);
    new TrafficMetrics(reg, { scenario: "App Traffic" }).connMetrics(labels).addWritten(3);
    const text = await reg.metrics();
    expect(text).toContain('coderd_scaletest_bytes_written_total{agent_name="main",scenario="Web Terminal Traffic",username="scaletest-u-0",workspace_name="scaletest-w-0"} 7');
    expect(text).toContain('coderd_scaletest_bytes_written_total{agent_name="main",scenario="App Traffic",username="scaletest-u-0",workspace_name="scaletest-w-0"} 3');
    expect(text).toContain('coderd_scaletest_round_trip_seconds_count{agent_name="main",scenario="App Traffic",username="scaletest-u-0",workspace_name="scaletest-w-0"} 0');

    const plain = createRegistry();
    new TrafficMetrics(plain).connMetrics(labels);
    expect(await plain.metrics()).not.toContain("scenario");

    const aggregated = createRegistry();
    new TrafficMetrics(aggregated, { perWorkspaceLabels: false, scenario: "SSH Traffic" }).connMetrics(labels).addRead(2);
    expect(await aggregated.metrics()).toContain('coderd_scaletest_bytes_read_total{scenario="SSH Traffic"} 2\n');
  });

  it("refuses to share a registry between families with and without the scenario label", () => {
    const reg = createRegistry();
    new TrafficMetrics(reg, { scenario: "SSH Traffic" });
    expect(() => new TrafficMetrics(reg)).toThrow(/coderd_scaletest_bytes_read_total is already registered with labels \[agent_name, scenario, username, workspace_name\]/);
  });

  it("lets two scenarios share one registry", () => {
    const reg = createRegistry();
    new TrafficMetrics(reg);
    expect(() => new TrafficMetrics(reg)).not.toThrow();
    new JobMetrics(reg).finished("workspace-traffic", "ok", 3);
    new RunnerHealth(reg);
    expect(() => new RunnerHealth(reg)).not.toThrow();
  });
});

describe("RunnerHealth and JobMetrics", () => {
  it("exports lag, skipped ticks by reason, open connections, memory and jobs by outcome", async () => {
    const reg = createRegistry();
    const h = new RunnerHealth(reg);
    h.observeLag(0.003);
    h.addLateTicks(2);
    h.skip("backpressure");
    const closed = h.connectionOpened("rpty", process.pid);
    h.connectionOpened("rpty")();
    new JobMetrics(reg).finished("workspace-traffic", "timed_out", 12);
    const text = await reg.metrics();
    expect(text).toContain('coderd_scaletest_skipped_ticks_total{reason="late"} 2');
    expect(text).toContain('coderd_scaletest_skipped_ticks_total{reason="backpressure"} 1');
    expect(text).toContain('coderd_scaletest_skipped_ticks_total{reason="echo_backlog"} 0');
    expect(text).toContain('coderd_scaletest_open_connections{mode="rpty"} 1');
    expect(text).toContain("coderd_scaletest_runner_event_loop_lag_seconds_count 1");
    expect(text).toContain('coderd_scaletest_jobs_total{test="workspace-traffic",outcome="timed_out"} 1');
    const app = new JobMetrics(reg, { scenario: "App Traffic" });
    app.zero("workspace-traffic");
    expect(await reg.metrics()).toContain('coderd_scaletest_jobs_total{test="workspace-traffic",outcome="canceled",scenario="App Traffic"} 0');
    app.finished("workspace-traffic", "ok", 2);
    const after = await reg.metrics();
    expect(after).toContain('coderd_scaletest_jobs_total{test="workspace-traffic",outcome="ok",scenario="App Traffic"} 1');
    expect(after).toContain('coderd_scaletest_job_duration_seconds_count{test="workspace-traffic",outcome="ok",scenario="App Traffic"} 1');
    expect(after).toContain('coderd_scaletest_jobs_total{test="workspace-traffic",outcome="timed_out"} 1');
    const rss = /coderd_scaletest_runner_resident_memory_bytes\{process="children"\} (\d+)/.exec(text);
    expect(Number(rss?.[1])).toBeGreaterThan(10 * 1024 * 1024); // our own pid registered as a "child"
    closed();
    expect(await reg.metrics()).toContain('coderd_scaletest_open_connections{mode="rpty"} 0');
  });
});

describe("metrics server", () => {
  it("serves the registry on every path", async () => {
    const reg = createRegistry();
    new TrafficMetrics(reg).connMetrics(labels).addWritten(7);
    server = await startMetricsServer(reg, "127.0.0.1:0");
    for (const path of ["/metrics", "/", "/anything/else"]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/plain");
      expect(await res.text()).toContain("coderd_scaletest_bytes_written_total{");
    }
  });

  it("logs a listen failure and carries on", async () => {
    const blocker = createServer().listen(0, "127.0.0.1");
    await once(blocker, "listening");
    const port = (blocker.address() as { port: number }).port;
    const lines: string[] = [];
    server = await startMetricsServer(createRegistry(), `127.0.0.1:${port}`, (l) => lines.push(l));
    expect(server.url).toBeUndefined();
    expect(lines[0]).toMatch(/start prometheus metrics server on 127.0.0.1:\d+: .*EADDRINUSE/);
    blocker.close();
  });

  it("parses listen addresses and names the shape on bad input", () => {
    expect(parseListenAddress("0.0.0.0:21112")).toEqual({ host: "0.0.0.0", port: 21112 });
    expect(parseListenAddress(":9")).toEqual({ host: "", port: 9 });
    expect(parseListenAddress("[::1]:0")).toEqual({ host: "::1", port: 0 });
    expect(() => parseListenAddress("nope")).toThrow(/must be host:port/);
  });
});
