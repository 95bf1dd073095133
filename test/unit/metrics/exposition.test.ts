// The slot-backed families against prom-client itself: the same calls must give the same page, byte for byte,
// through prom-client's own formatting of our values, through the fast renderer and through the /metrics server.
import http from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { renderExposition, writeExposition } from "../../../src/metrics/exposition.ts";
import { LAG_BUCKETS, RunnerHealth } from "../../../src/metrics/health.ts";
import { DEFAULT_BUCKETS, RUNNER, TRAFFIC } from "../../../src/metrics/names.ts";
import { createRegistry, JobMetrics, ROUND_TRIP_BUCKETS, TrafficMetrics, type TrafficLabels } from "../../../src/metrics/registry.ts";
import { startMetricsServer, type MetricsServer } from "../../../src/metrics/server.ts";
import type { ConnMetrics } from "../../../src/traffic/conn.ts";

let server: MetricsServer | undefined;
afterEach(async () => server?.close());

/** The families as prom-client's own Counter and Histogram, labelled as upstream: the oracle. */
function referenceTraffic(reg: Registry, opts: { perWorkspaceLabels?: boolean; scenario?: string } = {}) {
  const names = [...(opts.perWorkspaceLabels === false ? [] : ["agent_name", "username", "workspace_name"]), ...(opts.scenario ? ["scenario"] : [])].sort();
  const registers = [reg];
  const c = (name: string, help: string) => new Counter({ name, help, labelNames: names, registers });
  const h = (name: string, help: string, buckets: number[]) => new Histogram({ name, help, labelNames: names, buckets, registers });
  const read = c(TRAFFIC.bytesRead, "Bytes read from workspace connections.");
  const written = c(TRAFFIC.bytesWritten, "Bytes written to workspace connections (payload, before framing).");
  const rErr = c(TRAFFIC.readErrors, "Read errors on workspace connections.");
  const wErr = c(TRAFFIC.writeErrors, "Write errors on workspace connections.");
  const rLat = h(TRAFFIC.readLatency, "Time between reads on a workspace connection (seconds).", DEFAULT_BUCKETS);
  const wLat = h(TRAFFIC.writeLatency, "Time to hand one tick's payload to the OS (seconds).", DEFAULT_BUCKETS);
  const rtt = h(TRAFFIC.roundTrip, "Time from writing a tick to reading its echo back (seconds).", ROUND_TRIP_BUCKETS);
  return (labels: TrafficLabels): ConnMetrics => {
    const all: Record<string, string> = { ...labels, scenario: opts.scenario ?? "" };
    const lv = Object.fromEntries(names.map((n) => [n, all[n]!]));
    read.inc(lv, 0);
    written.inc(lv, 0);
    rErr.inc(lv, 0);
    wErr.inc(lv, 0);
    rLat.observe(lv, 0);
    wLat.observe(lv, 0);
    rtt.zero(lv);
    return {
      addRead: (n) => read.inc(lv, n),
      addWritten: (n) => written.inc(lv, n),
      readError: () => rErr.inc(lv),
      writeError: () => wErr.inc(lv),
      observeReadLatency: (s) => rLat.observe(lv, s),
      observeWriteLatency: (s) => wLat.observe(lv, s),
      observeRoundTrip: (s) => rtt.observe(lv, s),
    };
  };
}

/** A deterministic mix of calls, with values on bucket bounds, above the last one, and awkward label values. */
function drive(conns: ConnMetrics[], rounds: number): { written: number; read: number; samples: number } {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const specials = [0, 0.005, 0.0005, 10, 10.5, 1e-9, 2.5];
  let written = 0;
  let read = 0;
  let samples = 0;
  for (let r = 0; r < rounds; r++) {
    for (const m of conns) {
      const n = Math.floor(rnd() * 2048);
      m.addWritten(n);
      m.addRead(n + 1);
      written += n;
      read += n + 1;
      const v = r % 5 === 0 ? specials[r % specials.length]! : rnd() * rnd() * 3;
      m.observeWriteLatency(v);
      m.observeReadLatency(v / 3);
      m.observeRoundTrip(v / 7);
      samples++;
      if (r % 11 === 0) m.readError();
      if (r % 13 === 0) m.writeError();
    }
  }
  return { written, read, samples };
}

const TARGETS: TrafficLabels[] = [
  { username: "scaletest-u-0", workspace_name: "scaletest-w-0", agent_name: "main" },
  { username: "scaletest-u-1", workspace_name: 'scaletest-"quoted"\\back\nline', agent_name: "dev" },
  { username: "scaletest-ü", workspace_name: "scaletest-w-2", agent_name: "main" },
];

async function pages(reg: Registry): Promise<{ prom: string; fast: string }> {
  return { prom: await reg.metrics(), fast: await renderExposition(reg) };
}

describe("slot-backed traffic families", () => {
  for (const variant of [
    { name: "per-workspace labels (upstream's default)", opts: {} },
    { name: "--no-per-workspace-labels", opts: { perWorkspaceLabels: false } },
    { name: "the staged run's scenario label and run_id default label", opts: { scenario: "Web Terminal Traffic" }, runId: "run-1" },
    { name: "no labels but run_id", opts: { perWorkspaceLabels: false }, runId: "r2" },
  ]) {
    it(`write the page prom-client writes: ${variant.name}`, async () => {
      const ref = new Registry();
      const ours = createRegistry();
      if (variant.runId) {
        ref.setDefaultLabels({ run_id: variant.runId });
        ours.setDefaultLabels({ run_id: variant.runId });
      }
      const refConn = referenceTraffic(ref, variant.opts);
      const fast = new TrafficMetrics(ours, variant.opts);
      drive(TARGETS.map(refConn), 40);
      drive(TARGETS.map((t) => fast.connMetrics(t)), 40);
      const expected = await ref.metrics();
      const got = await pages(ours);
      expect(got.prom).toBe(expected);
      expect(got.fast).toBe(expected);
      expect(await ours.getMetricsAsJSON()).toEqual(await ref.getMetricsAsJSON());
    });
  }

  it("prints every kind of finite value as prom-client does: exponents, the smallest and largest doubles", async () => {
    const values = [1e21, 1.5e300, 1e-7, 1.25e-9, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, 1 / 3, 123456789.125];
    const ref = new Registry();
    const ours = createRegistry();
    const refConn = referenceTraffic(ref);
    const fast = new TrafficMetrics(ours);
    const targets = values.map((_, i): TrafficLabels => ({ username: `u${i}`, workspace_name: `w${i}`, agent_name: "main" }));
    for (const conns of [targets.map(refConn), targets.map((t) => fast.connMetrics(t))]) conns.forEach((m, i) => m.observeRoundTrip(values[i]!));
    const expected = await ref.metrics();
    for (const text of ["1e+21", "1.5e+300", "1e-7", "1.25e-9", "5e-324", "1.7976931348623157e+308", "0.30000000000000004"]) {
      expect(expected).toContain(text); // the oracle's page holds each form the renderer must match
    }
    expect(await renderExposition(ours)).toBe(expected);
  });

  it("counts exactly what was sent and received; buckets hold every sample; the round-trip series starts empty", async () => {
    const reg = createRegistry();
    const t = new TrafficMetrics(reg);
    const conns = TARGETS.map((l) => t.connMetrics(l));
    const empty = await renderExposition(reg);
    expect(empty).toContain(`${TRAFFIC.roundTrip}_count{agent_name="main",username="scaletest-u-0",workspace_name="scaletest-w-0"} 0\n`);
    const sent = drive(conns.slice(0, 1), 100);
    const text = await renderExposition(reg);
    const lbl = 'agent_name="main",username="scaletest-u-0",workspace_name="scaletest-w-0"';
    expect(text).toContain(`${TRAFFIC.bytesWritten}{${lbl}} ${sent.written}\n`);
    expect(text).toContain(`${TRAFFIC.bytesRead}{${lbl}} ${sent.read}\n`);
    // Job start observed one 0 in each upstream histogram.
    expect(text).toContain(`${TRAFFIC.writeLatency}_count{${lbl}} ${sent.samples + 1}\n`);
    expect(text).toContain(`${TRAFFIC.writeLatency}_bucket{le="+Inf",${lbl}} ${sent.samples + 1}\n`);
    expect(text).toContain(`${TRAFFIC.roundTrip}_count{${lbl}} ${sent.samples}\n`);
    expect(text).toContain(`${TRAFFIC.readErrors}{${lbl}} ${Math.ceil(100 / 11)}\n`);
  });

  it("the server streams the same page, to a HEAD only headers", async () => {
    const reg = createRegistry();
    reg.setDefaultLabels({ run_id: "x" });
    const t = new TrafficMetrics(reg);
    for (let i = 0; i < 300; i++) t.connMetrics({ username: `scaletest-u-${i}`, workspace_name: `scaletest-w-${i}`, agent_name: "main" }).addWritten(i);
    new JobMetrics(reg).finished("workspace-traffic", "ok", 1.5);
    server = await startMetricsServer(reg, "127.0.0.1:0");
    const res = await fetch(`${server.url}/metrics`);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await res.text()).toBe(await reg.metrics());
    const head = await fetch(`${server.url}/metrics`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("serves concurrent scrapes from one render at a time, each the whole page", async () => {
    const reg = createRegistry();
    const t = new TrafficMetrics(reg);
    for (let i = 0; i < 500; i++) t.connMetrics({ username: `scaletest-u-${i}`, workspace_name: `scaletest-w-${i}`, agent_name: "main" }).addWritten(i);
    // The first render waits on this collect() until every request has reached the server.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let renders = 0;
    new Gauge({ name: "gate", help: "g", registers: [reg], collect: () => (renders++ === 0 ? gate : undefined) });
    let requests = 0;
    const original = http.Server.prototype.emit;
    const emit = vi.spyOn(http.Server.prototype, "emit").mockImplementation(function (this: http.Server, event: string | symbol, ...args: unknown[]) {
      if (event === "request") requests++;
      return (original as (event: string | symbol, ...args: unknown[]) => boolean).call(this, event, ...args);
    });
    server = await startMetricsServer(reg, "127.0.0.1:0");
    const bodies = Promise.all(Array.from({ length: 6 }, async () => (await fetch(`${server!.url}/metrics`)).text()));
    while (requests < 6) await new Promise((r) => setImmediate(r));
    open();
    const texts = await bodies;
    emit.mockRestore();
    const expected = await reg.metrics();
    for (const b of texts) expect(b).toBe(expected);
    // The first request's render, then one more for the five that arrived during it.
    expect(renders).toBe(2 + 1); // + the reg.metrics() above
  });

  it("a failing collect() answers 500 before any byte of the page", async () => {
    const reg = createRegistry();
    new TrafficMetrics(reg).connMetrics(TARGETS[0]!);
    new Gauge({ name: "broken", help: "b", registers: [reg], collect: () => Promise.reject(new Error("collector down")) });
    server = await startMetricsServer(reg, "127.0.0.1:0");
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe("collector down");
  });

  it("renders a large page in slices, letting the event loop run in between", async () => {
    const reg = createRegistry();
    const t = new TrafficMetrics(reg);
    for (let i = 0; i < 2000; i++) t.connMetrics({ username: `scaletest-user-${i}`, workspace_name: `scaletest-workspace-${i}`, agent_name: "main" });
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    let bytes = 0;
    let chunks = 0;
    await writeExposition(reg, (c) => {
      bytes += c.length;
      chunks++;
    });
    spinning = false;
    expect(bytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(chunks).toBeGreaterThan(100);
    // At least one loop turn for every MiB rendered.
    expect(turns).toBeGreaterThanOrEqual(Math.floor(bytes / (1024 * 1024)));
  });
});

describe("slot-backed runner health", () => {
  it("writes the lag, skipped-tick, open-connection and retry families as prom-client does", async () => {
    const ref = new Registry();
    const registers = [ref];
    const lag = new Histogram({ name: RUNNER.eventLoopLag, help: "How late the traffic timer fired (seconds).", buckets: LAG_BUCKETS, registers });
    const skipped = new Counter({ name: RUNNER.skippedTicks, help: "Ticks skipped (never queued), by reason.", labelNames: ["reason"], registers });
    for (const reason of ["backpressure", "echo_backlog", "late"]) skipped.inc({ reason }, 0);
    const open = new Gauge({ name: RUNNER.openConnections, help: "Open traffic connections, by mode.", labelNames: ["mode"], registers });
    const retries = new Counter({
      name: RUNNER.retries,
      help: "Retries of API calls, WebSocket upgrades and SSH starts, by kind and reason (429, 503, ECONNREFUSED, ...).",
      labelNames: ["kind", "reason"],
      registers,
    });

    const ours = createRegistry();
    const h = new RunnerHealth(ours);
    for (const s of [0, 0.001, 0.0031, 0.2, 7]) {
      lag.observe(s);
      h.observeLag(s);
    }
    skipped.inc({ reason: "late" }, 3);
    h.addLateTicks(3);
    skipped.inc({ reason: "echo_backlog" });
    h.skip("echo_backlog");
    open.inc({ mode: "ssh" });
    open.inc({ mode: "rpty" });
    open.dec({ mode: "ssh" });
    h.connectionOpened("ssh")();
    h.connectionOpened("rpty");
    retries.inc({ kind: "rest", reason: "503" }, 2);
    h.retried({ kind: "rest", reason: "503", attempt: 1 });
    h.retried({ kind: "rest", reason: "503", attempt: 2 });
    retries.inc({ kind: "websocket", reason: "ECONNRESET" });
    h.retried({ kind: "websocket", reason: "ECONNRESET", attempt: 1 });

    // Our registry also has the resident-memory gauge (prom-client's own, values change by the call): compare the rest.
    const strip = (text: string) => text.split("\n\n").filter((block) => !block.includes(RUNNER.residentMemory)).join("\n\n").trimEnd();
    const expected = (await ref.metrics()).trimEnd();
    expect(strip(await ours.metrics())).toBe(expected);
    expect(strip(await renderExposition(ours))).toBe(expected);
  });
});
