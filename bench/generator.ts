// Bench generator: one load run in its own process (`bare` = a plain ws loop, `ours` = the traffic engine); prints one JSON result.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { ptyUrl } from "../src/coder/urls.ts";
import { countingConn, noMetrics, type ConnMetrics } from "../src/traffic/conn.ts";
import { runTrafficJob } from "../src/traffic/job.ts";
import { makePayload, terminalEcho } from "../src/traffic/payload.ts";
import { openRpty, ptyFrames, rptyCommand, type RptyConn } from "../src/traffic/rpty.ts";
import { Scheduler } from "../src/traffic/scheduler.ts";
import { LatencyRecorder } from "../src/traffic/stats.ts";

/** What the parent passes (JSON in argv[2]); the session token comes in CODER_SESSION_TOKEN, out of `ps`. */
interface GenArgs {
  kind: "bare" | "ours";
  url: string;
  agentId: string;
  conns: number;
  bytesPerTick: number;
  intervalMs: number;
  durationMs: number;
}

/** What the parent gets back. */
export interface GenResult {
  kind: GenArgs["kind"];
  conns: number;
  opened: number;
  bytesWritten: number;
  bytesRead: number;
  targetBytes: number;
  lagP50: number;
  lagP99: number;
  rttP50?: number;
  rttP99?: number;
  /** Ours only: lateness against the drift-free grid, which includes a tick's place in its batch. */
  gridLagP50?: number;
  gridLagP99?: number;
  cpuPercent: number;
  rssPerConnKiB: number;
  errors: number;
}

const args = JSON.parse(process.argv[2]!) as GenArgs;
const payload = makePayload(args.bytesPerTick);
const token = process.env.CODER_SESSION_TOKEN;
if (!token) throw new Error("CODER_SESSION_TOKEN must be set (bench/traffic.ts passes it)");
const headers = { "Coder-Session-Token": token };
const lag = new LatencyRecorder();
const rtt = new LatencyRecorder();
let written = 0;
let read = 0;
let errors = 0;

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const rssBefore = process.memoryUsage.rss();

// Open the connections a few hundred at a time (both generators the same way).
async function openAll<T>(open: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < args.conns; i += 200) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(200, args.conns - i) }, open));
    for (const r of batch) {
      if (r.status === "fulfilled") out.push(r.value);
      else errors++;
    }
  }
  return out;
}

function dialBare(): Promise<WebSocket> {
  const url = ptyUrl(args.url, args.agentId, { reconnect: randomUUID(), width: 80, height: 25, command: rptyCommand(args.bytesPerTick) });
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

let cpuStart: NodeJS.CpuUsage;
let t0: number;
let opened = 0;
let rssAtEnd = 0;
let gridLag: LatencyRecorder | undefined;

if (args.kind === "bare") {
  const sockets = await openAll(dialBare);
  opened = sockets.length;
  const frames = ptyFrames(payload);
  cpuStart = process.cpuUsage();
  t0 = performance.now();
  const timers: NodeJS.Timeout[] = [];
  const cpuEnd = () => process.cpuUsage(cpuStart);
  for (const ws of sockets) {
    ws.on("message", (d: Buffer) => (read += d.length));
    ws.on("close", (code) => {
      if (code !== 1000) errors++;
    });
    let last = performance.now();
    timers.push(
      setInterval(() => {
        const now = performance.now();
        lag.record(now - last - args.intervalMs);
        last = now;
        for (const f of frames) ws.send(f, { binary: true });
        written += args.bytesPerTick;
      }, args.intervalMs),
    );
  }
  await new Promise((r) => setTimeout(r, args.durationMs));
  const cpu = cpuEnd();
  for (const t of timers) clearInterval(t);
  gc?.();
  rssAtEnd = process.memoryUsage.rss();
  const elapsed = performance.now() - t0;
  report(cpu, elapsed);
  for (const ws of sockets) ws.send(Buffer.from('{"data":"\\u0003"}\n'), { binary: true });
  await Promise.all(sockets.map((ws) => new Promise((r) => (ws.readyState === WebSocket.CLOSED ? r(0) : ws.once("close", r)))));
} else {
  const metrics: ConnMetrics = { ...noMetrics, addWritten: (n) => (written += n), addRead: (n) => (read += n), observeRoundTrip: (s) => rtt.record(s * 1000) };
  const conns = await openAll(() => openRpty({ url: args.url, agentId: args.agentId, payload, headers }));
  opened = conns.length;
  const scheduler = new Scheduler();
  cpuStart = process.cpuUsage();
  t0 = performance.now();
  const template = terminalEcho(payload);
  const jobs = conns.map((c: RptyConn) =>
    runTrafficJob({
      conn: countingConn(c, metrics),
      scheduler,
      tickIntervalMs: args.intervalMs,
      durationMs: args.durationMs,
      echo: { template, markerLen: payload.markerLen },
      metrics,
    }).catch(() => errors++),
  );
  // Measure up to the deadline, before the closes.
  await new Promise((r) => setTimeout(r, args.durationMs));
  const cpu = process.cpuUsage(cpuStart);
  const elapsed = performance.now() - t0;
  gc?.();
  rssAtEnd = process.memoryUsage.rss();
  // Measured as the bare loop's is: time since the connection's previous tick, minus one interval.
  lag.merge(scheduler.tickJitter);
  gridLag = scheduler.tickLag;
  report(cpu, elapsed);
  await Promise.all(jobs);
  scheduler.close();
}

function report(cpu: NodeJS.CpuUsage, elapsedMs: number): void {
  const ticksPerConn = Math.floor(elapsedMs / args.intervalMs);
  const result: GenResult = {
    kind: args.kind,
    conns: args.conns,
    opened,
    bytesWritten: written,
    bytesRead: read,
    targetBytes: args.conns * ticksPerConn * args.bytesPerTick,
    lagP50: lag.percentile(50),
    lagP99: lag.percentile(99),
    ...(args.kind === "ours" ? { rttP50: rtt.percentile(50), rttP99: rtt.percentile(99) } : {}),
    ...(gridLag ? { gridLagP50: gridLag.percentile(50), gridLagP99: gridLag.percentile(99) } : {}),
    cpuPercent: ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100,
    // Resident memory at the end of the traffic minus before any connection, per connection.
    rssPerConnKiB: opened > 0 ? (rssAtEnd - rssBefore) / opened / 1024 : 0,
    errors,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
process.exit(0);
