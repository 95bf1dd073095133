// `npm run bench`: what operators run (`scaletest workspace-traffic`, metrics server on, scraped every second,
// upstream's per-workspace labels) beside a bare `ws` loop with identical framing, each in its own process,
// against a lean echo target in a third process (bench/target.ts). Everything stays on 127.0.0.1.
//
// Both generators are measured the same way from outside: CPU from /proc/<pid>/stat over the window in which
// the target received data, peak RSS from VmHWM, bytes from the target's own counts. Prints one markdown table.
//
// Settings (environment): BENCH_CONNS (default "250,1000,2000"), BENCH_DURATION_S (30), BENCH_BYTES (1024),
// BENCH_INTERVAL_MS (100), BENCH_WORKERS ("2": extra CLI runs at the largest count with --workers N; "" for none;
// the per-count CLI rows use --workers 1, one thread like the bare loop),
// BENCH_STARTUP (1: a 1-connection, 1 s run of each to show start-up cost; 0 to skip), BENCH_CLI (the CLI entry
// point run with node; default bin/scaletest.js, e.g. an installed package's bin to measure what it ships),
// BENCH_NODE_ARGS (node flags for both generator processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them),
// BENCH_TARGET_NODE_ARGS (node flags for the target, to profile it the same way),
// BENCH_SCRAPE (1: scrape the CLI's /metrics every second as Prometheus would; 0: only once at the end).
// BENCH_BARE_DIAL_BATCH (200: how many connections the bare loop dials at a time; 0 for all at once, as the CLI does
// with --dial-concurrency 0).
// BENCH_REPEAT (1: each count's bare/CLI pair N times, alternating, with the median ratios), BENCH_TRACE (1: the
// CLI's late ticks and open connections at each scrape).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { get } from "node:http";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import { registerSecret } from "../src/errors.ts";
import type { Results } from "../src/harness/results.ts";
import { makePayload } from "../src/traffic/payload.ts";
import { ptyFrames, rptyCommand } from "../src/traffic/rpty.ts";

const list = (v: string | undefined, d: string) => (v ?? d).split(",").map((s) => s.trim()).filter(Boolean).map(Number);
const COUNTS = list(process.env.BENCH_CONNS, "250,1000,2000");
const DURATION_MS = Number(process.env.BENCH_DURATION_S ?? 30) * 1000;
const BYTES = Number(process.env.BENCH_BYTES ?? 1024);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_MS ?? 100);
const WORKERS = list(process.env.BENCH_WORKERS, "2");
const STARTUP = process.env.BENCH_STARTUP !== "0";
const CLI = process.env.BENCH_CLI || fileURLToPath(new URL("../bin/scaletest.js", import.meta.url));
const TRACE = process.env.BENCH_TRACE === "1";
// One run's ratio moves with the machine by as much as ±15%: BENCH_REPEAT alternates the pair and takes medians.
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1));
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
const TARGET_NODE_ARGS = (process.env.BENCH_TARGET_NODE_ARGS ?? "").split(" ").filter(Boolean);
const SCRAPE = process.env.BENCH_SCRAPE !== "0";
// The bare loop opens its connections this many at a time and starts its timer once all are open; the CLI starts
// every job at once (upstream's concurrency 0), opens at most 200 at a time (its --dial-concurrency default) and
// each starts ticking as it opens. 0: the bare loop dials all at once.
const BARE_DIAL_BATCH = Math.max(0, Number(process.env.BENCH_BARE_DIAL_BATCH ?? 200));
const SAMPLE_MS = 250;
const CLK_TCK = 100; // USER_HZ on Linux

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const log = (s: string) => process.stderr.write(`${s}\n`);

// ---- the target ----

interface Target {
  url: string;
  token: string;
  child: ChildProcess;
  stats(): Promise<TargetStats>;
}
interface TargetStats {
  cpuSeconds: number;
  rxBytes: number;
  txBytes: number;
  sessions: number;
  openSessions: number;
}

async function startTarget(workspaces: number): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), "scaletest-bench-")); // mode 0700
  const credentials = join(dir, "credentials.json");
  const child = spawn(process.execPath, [...TARGET_NODE_ARGS, "--import", "tsx", here("./target.ts"), credentials], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, BENCH_WORKSPACES: String(workspaces) },
  });
  try {
    const lines = createInterface({ input: child.stdout! });
    const next = lineReader(lines, child, "bench target");
    const ready = JSON.parse(await next()) as { url: string };
    const { session_token: token } = JSON.parse(readFileSync(credentials, "utf8")) as { session_token: string };
    registerSecret(token);
    let queue = Promise.resolve<unknown>(undefined);
    const stats = () => {
      const p = queue.then(() => {
        child.stdin!.write("stats\n");
        return next().then((l) => JSON.parse(l) as TargetStats);
      });
      queue = p.catch(() => undefined);
      return p;
    };
    return { url: ready.url, token, child, stats };
  } catch (err) {
    child.kill("SIGTERM");
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads lines one at a time from a child's stdout; rejects when it exits first. */
function lineReader(lines: Interface, child: ChildProcess, what: string): () => Promise<string> {
  const buffered: string[] = [];
  const waiting: Array<{ resolve: (l: string) => void; reject: (e: Error) => void }> = [];
  lines.on("line", (l) => (waiting.length ? waiting.shift()!.resolve(l) : buffered.push(l)));
  child.once("exit", (c) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`${what} exited (${c})`));
  });
  return () => (buffered.length ? Promise.resolve(buffered.shift()!) : new Promise((resolve, reject) => waiting.push({ resolve, reject })));
}

// ---- measuring a generator from outside ----

interface Sample {
  t: number;
  cpu: number;
  rss: number;
  hwm: number;
  rx: number;
  targetCpu: number;
  open: number;
}

function procStats(pid: number): { cpu: number; rss: number; hwm: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpu = (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (every thread)
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return { cpu, rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    return undefined;
  }
}

/** Samples the generator and the target every 250 ms until `stop()`. */
function monitor(pid: number, target: Target) {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const p = procStats(pid);
      const t = await target.stats();
      if (p) samples.push({ t: performance.now(), ...p, rx: t.rxBytes, targetCpu: t.cpuSeconds, open: t.openSessions });
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/**
 * The steady-state window, the same for both generators: from the first sample at which the target had all `conns`
 * sessions open and saw data, to the first after the data stopped growing. The CLI starts each job's ticks as soon
 * as its own connection opens (as upstream does) while the bare loop opens everything first, so a window from the
 * first byte would charge the CLI for the dial storm and not the bare loop; what opening costs is reported apart
 * (`openCpu`: the generator's CPU from its start until all were open). `bytes` (for sent %) counts the whole run.
 */
function window(samples: Sample[], rx0: number, conns: number) {
  const firstData = samples.findIndex((s) => s.rx > rx0);
  const allOpen = samples.findIndex((s, i) => i >= firstData && s.open >= conns);
  let last = samples.length - 1;
  while (last > 0 && samples[last - 1]!.rx === samples[last]!.rx) last--;
  const dataEnd = samples[last]!;
  const steady = allOpen >= 0 && allOpen < last;
  if (steady) {
    // The CPU window ends where the first session closed, if that came before the data stopped.
    const closed = samples.findIndex((s, i) => i > allOpen && s.open < conns);
    if (closed > allOpen && closed < last) last = closed;
  }
  const a = samples[steady ? allOpen : Math.max(0, firstData - 1)]!;
  const b = samples[last]!;
  return {
    steady,
    cpu: b.cpu - a.cpu,
    windowBytes: b.rx - a.rx,
    bytes: dataEnd.rx - rx0,
    seconds: (b.t - a.t) / 1000,
    targetCpu: b.targetCpu - a.targetCpu,
    openCpu: a.cpu,
    peakRss: Math.max(...samples.map((s) => s.hwm)),
    totalCpu: samples.at(-1)!.cpu,
  };
}

// ---- runs ----

interface Row {
  generator: string;
  conns: number;
  opened: number;
  sentPct: number;
  echoPct: number;
  verified: string;
  cpuPer100MB: number;
  cpuPct: number;
  peakRssMiB: number;
  lagP50: number;
  lagP99: number;
  /** Echo round trip p50 / p99 (ms), from the CLI's own histogram; the bare loop does not time echoes. */
  rttP50?: number;
  rttP99?: number;
  late: number;
  targetCpuPct: number;
  scrape?: string;
  /** CPU-s from the generator's start until all its connections were open (start-up and dialing). */
  openCpu: number;
  /** False when not every connection opened: CPU per byte is then over the whole data window, dialing included. */
  steady: boolean;
  totalCpu: number;
}

const targetBytes = (conns: number) => conns * Math.floor(DURATION_MS / INTERVAL_MS) * BYTES;
const mib = (b: number) => b / 1024 / 1024;

/** What bench/bare.js prints. */
interface BareResult {
  opened: number;
  bytesWritten: number;
  bytesRead: number;
  ticks: number;
  lateTicks: number;
  lagP50: number;
  lagP99: number;
  errors: number;
}

async function runBare(target: Target, conns: number, durationMs = DURATION_MS): Promise<Row> {
  const rx0 = (await target.stats()).rxBytes;
  // The CLI's own frames for this tick size, so both generators put the same bytes on the wire.
  const frames = ptyFrames(makePayload(BYTES)).map((f) => f.toString("base64"));
  const arg = JSON.stringify({ url: target.url, conns, bytesPerTick: BYTES, intervalMs: INTERVAL_MS, durationMs, frames, command: rptyCommand(BYTES), dialBatch: BARE_DIAL_BATCH });
  // The V8 setting the CLI gives itself (bin/scaletest.js), so the baseline is as lean as it can be: without it,
  // some runs of the bare loop pretenure `ws`'s per-message arrays and their echoes pile up until a full GC
  // (peak RSS 156-172 MiB instead of 131-141 at 2000 connections, and more CPU).
  const child = spawn(process.execPath, ["--no-allocation-site-pretenuring", ...NODE_ARGS, here("./bare.js"), arg], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, CODER_SESSION_TOKEN: target.token },
  });
  const mon = monitor(child.pid!, target);
  const out = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (c) => reject(new Error(`bare generator exited (${c}) without a result`)));
  });
  await new Promise((r) => (child.exitCode !== null ? r(0) : child.once("exit", r)));
  await mon.stop();
  const r = JSON.parse(out) as BareResult;
  const w = window(mon.samples, rx0, conns);
  const ticks = Math.floor(durationMs / INTERVAL_MS);
  return {
    generator: "bare ws loop",
    conns,
    opened: r.opened,
    sentPct: (w.bytes / (conns * ticks * BYTES)) * 100,
    echoPct: (r.bytesRead / (conns * ticks * (BYTES + 1))) * 100,
    verified: "no (counts bytes)",
    cpuPer100MB: w.windowBytes > 0 ? (w.cpu / w.windowBytes) * 1e8 : NaN,
    steady: w.steady,
    openCpu: w.openCpu,
    cpuPct: (w.cpu / w.seconds) * 100,
    peakRssMiB: mib(w.peakRss),
    lagP50: r.lagP50,
    lagP99: r.lagP99,
    late: r.lateTicks,
    targetCpuPct: (w.targetCpu / w.seconds) * 100,
    totalCpu: w.totalCpu,
  };
}

async function freePort(): Promise<number> {
  const s = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => s.once("listening", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Sum of every series of `name` in a text exposition. */
function sumOf(text: string, name: string): number {
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))) total += Number(m[1]);
  return total;
}

/** histogram_quantile over a histogram's cumulative buckets summed across its series (linear within the bucket), in ms. */
function quantile(text: string, name: string, q: number): number {
  const byLe = new Map<number, number>();
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"[^}]*\\} (\\S+)$`, "gm"))) {
    const le = m[1] === "+Inf" ? Infinity : Number(m[1]);
    byLe.set(le, (byLe.get(le) ?? 0) + Number(m[2]));
  }
  const buckets = [...byLe].sort((a, b) => a[0] - b[0]).map(([le, n]) => ({ le, n }));
  const total = buckets.at(-1)?.n ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevN = 0;
  for (const b of buckets) {
    if (b.n >= rank) {
      if (b.le === Infinity) return prevLe * 1000;
      return (prevLe + ((b.le - prevLe) * (rank - prevN)) / Math.max(1, b.n - prevN)) * 1000;
    }
    prevLe = b.le;
    prevN = b.n;
  }
  return NaN;
}

async function runCli(target: Target, conns: number, workers: number, durationMs = DURATION_MS): Promise<Row> {
  const rx0 = (await target.stats()).rxBytes;
  const dir = mkdtempSync(join(tmpdir(), "scaletest-bench-cli-"));
  const results = join(dir, "results.json");
  const port = await freePort();
  const argv = [
    CLI,
    "workspace-traffic",
    "--url",
    target.url,
    "--target-workspaces",
    `0:${conns}`,
    "--concurrency",
    "0",
    "--timeout",
    `${durationMs}ms`,
    "--job-timeout",
    `${durationMs + 60_000}ms`,
    "--bytes-per-tick",
    String(BYTES),
    "--tick-interval",
    `${INTERVAL_MS}ms`,
    "--scaletest-prometheus-address",
    `127.0.0.1:${port}`,
    "--scaletest-prometheus-wait",
    "2s",
    "--output",
    `json:${results}`,
    "--workers",
    String(workers),
  ];
  const child = spawn(process.execPath, [...NODE_ARGS, ...argv], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, CODER_SESSION_TOKEN: target.token, CODER_CONFIG_DIR: dir, SCALETEST_STATE_DIR: dir },
  });
  let stderr = "";
  let finalScrape: Promise<void> | undefined;
  let lastPage = "";
  const scrapeTimes: number[] = [];
  let pageBytes = 0;
  const started = performance.now();
  // A lean scraper (bytes counted, the text decoded only when read): on this two-core machine a scraper that
  // decodes 6-12 MB a second would take CPU from the generator, which a Prometheus on its own host does not.
  const scrape = async (keep = TRACE) => {
    const t0 = performance.now();
    try {
      const chunks: Buffer[] = [];
      let n = 0;
      await new Promise<void>((resolve, reject) => {
        get(`http://127.0.0.1:${port}/metrics`, (res) => {
          res.on("data", (c: Buffer) => {
            n += c.length;
            if (keep) chunks.push(c);
          });
          res.on("end", resolve);
          res.on("error", reject);
        }).on("error", reject);
      });
      scrapeTimes.push(performance.now() - t0);
      pageBytes = Math.max(pageBytes, n);
      if (!keep) return;
      const text = Buffer.concat(chunks).toString("utf8");
      lastPage = text;
      if (TRACE) {
        const late = /coderd_scaletest_skipped_ticks_total\{reason="late"\} (\S+)/.exec(text)?.[1];
        const open = /coderd_scaletest_open_connections\{[^}]*\} (\S+)/.exec(text)?.[1];
        process.stderr.write(`trace +${((t0 - started) / 1000).toFixed(1)}s: late ${late}, open ${open} (target: ${mon.samples.at(-1)?.open}), scrape ${(performance.now() - t0).toFixed(0)} ms\n`);
      }
    } catch {
      // not listening yet, or gone
    }
  };
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => {
    stderr = (stderr + d).slice(-20_000);
    // The jobs are done and the results written: take the last scrape now, as Prometheus would during the wait.
    if (!finalScrape && stderr.includes("for prometheus metrics to be scraped")) finalScrape = scrape(true);
  });
  const mon = monitor(child.pid!, target);
  const scraper = SCRAPE ? setInterval(() => void scrape(), 1000) : undefined;
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  clearInterval(scraper);
  await finalScrape;
  await mon.stop();
  try {
    if (code !== 0 && code !== 1) throw new Error(`scaletest exited ${code}: ${stderr.slice(-2000)}`);
    const res = JSON.parse(readFileSync(results, "utf8")) as Results;
    let ticks = 0;
    let verified = 0;
    for (const run of Object.values(res.runs)) {
      ticks += Number(/Done: (\d+) ticks written/.exec(run.logs)?.[1] ?? 0);
      verified += Number(/(\d+) echoes verified/.exec(run.logs)?.[1] ?? 0);
    }
    const w = window(mon.samples, rx0, conns);
    const tickCount = Math.floor(durationMs / INTERVAL_MS);
    const sorted = [...scrapeTimes].sort((a, b) => a - b);
    return {
      generator: `scaletest --workers ${workers}`,
      conns,
      opened: res.total_runs,
      sentPct: (w.bytes / (conns * tickCount * BYTES)) * 100,
      echoPct: (sumOf(lastPage, "coderd_scaletest_bytes_read_total") / (conns * tickCount * (BYTES + 1))) * 100,
      verified: `${res.total_fail === 0 && verified === ticks ? "all" : "NOT all"}: ${verified}/${ticks} ticks, ${res.total_pass}/${res.total_runs} jobs passed`,
      cpuPer100MB: w.windowBytes > 0 ? (w.cpu / w.windowBytes) * 1e8 : NaN,
      steady: w.steady,
      openCpu: w.openCpu,
      cpuPct: (w.cpu / w.seconds) * 100,
      peakRssMiB: mib(w.peakRss),
      lagP50: quantile(lastPage, "coderd_scaletest_runner_event_loop_lag_seconds", 0.5),
      lagP99: quantile(lastPage, "coderd_scaletest_runner_event_loop_lag_seconds", 0.99),
      rttP50: quantile(lastPage, "coderd_scaletest_round_trip_seconds", 0.5),
      rttP99: quantile(lastPage, "coderd_scaletest_round_trip_seconds", 0.99),
      late: Number(/coderd_scaletest_skipped_ticks_total\{reason="late"\} (\S+)/.exec(lastPage)?.[1] ?? NaN),
      targetCpuPct: (w.targetCpu / w.seconds) * 100,
      scrape: `${scrapeTimes.length} × ${(pageBytes / 1e6).toFixed(1)} MB, p50 ${(sorted[Math.floor(sorted.length / 2)] ?? NaN).toFixed(0)} ms, max ${(sorted.at(-1) ?? NaN).toFixed(0)} ms`,
      totalCpu: w.totalCpu,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the table ----

const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : "-");
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "-");

function table(rows: Row[]): string {
  const head = [
    "conns",
    "generator",
    "sent %",
    "echoed %",
    "echo verified",
    "CPU-s / 100 MB, all open",
    "CPU %",
    "CPU-s to open",
    "peak RSS MiB",
    "tick lag p50 / p99 ms",
    "echo round trip p50 / p99 ms",
    "late ticks",
    "target CPU %",
    "CPU/byte, RSS vs bare",
    "scrapes",
  ];
  const lines = [head, head.map(() => "---")];
  for (const r of rows) {
    // Against the bare row run just before it at the same count (its pair when repeated).
    const bare = rows.slice(0, rows.indexOf(r)).findLast((b) => b.conns === r.conns && b.generator === "bare ws loop");
    const ratio = bare && r.generator !== bare.generator ? `${f2(r.cpuPer100MB / bare.cpuPer100MB)}×, ${f2(r.peakRssMiB / bare.peakRssMiB)}×` : "";
    lines.push([
      String(r.conns),
      r.generator,
      f1(r.sentPct),
      f1(r.echoPct),
      r.verified,
      r.steady ? f2(r.cpuPer100MB) : `${f2(r.cpuPer100MB)} (not all opened: from the first byte)`,
      f1(r.cpuPct),
      f2(r.openCpu),
      f1(r.peakRssMiB),
      `${f2(r.lagP50)} / ${f2(r.lagP99)}`,
      r.rttP50 === undefined ? "-" : `${f2(r.rttP50)} / ${f2(r.rttP99!)}`,
      String(r.late),
      f1(r.targetCpuPct),
      ratio,
      r.scrape ?? "",
    ]);
  }
  return lines.map((l) => `| ${l.join(" | ")} |`).join("\n");
}

const load = () => loadavg().map((v) => v.toFixed(2)).join(", ");
const max = Math.max(...COUNTS, 1);
const target = await startTarget(max);
const loadBefore = load();
try {
  log(`target at ${target.url}; ${COUNTS.join(", ")} connections × ${BYTES} B every ${INTERVAL_MS} ms for ${DURATION_MS / 1000} s; the bare loop dials ${BARE_DIAL_BATCH || "all"} at a time, the CLI 200 at a time (--dial-concurrency); load average ${loadBefore}`);
  const rows: Row[] = [];
  const startup: string[] = [];
  const summary: string[] = [];
  if (STARTUP) {
    const b = await runBare(target, 1, 1000);
    const o = await runCli(target, 1, 1, 1000);
    startup.push(`1 connection for 1 s, whole process: bare ${b.totalCpu.toFixed(2)} CPU-s, ${f1(b.peakRssMiB)} MiB peak; scaletest ${o.totalCpu.toFixed(2)} CPU-s, ${f1(o.peakRssMiB)} MiB peak`);
    log(startup[0]!);
  }
  for (const n of COUNTS) {
    // One thread, like the bare loop; the --workers rows follow at the largest count.
    const ratios: { cpu: number; rss: number }[] = [];
    for (let rep = 0; rep < REPEAT; rep++) {
      const pair: Row[] = [];
      for (const run of [() => runBare(target, n), () => runCli(target, n, 1)]) {
        const r = await run();
        log(`${r.generator} ${n}: ${JSON.stringify(r)}`);
        pair.push(r);
      }
      rows.push(...pair);
      ratios.push({ cpu: pair[1]!.cpuPer100MB / pair[0]!.cpuPer100MB, rss: pair[1]!.peakRssMiB / pair[0]!.peakRssMiB });
    }
    if (REPEAT > 1) {
      const med = (v: number[]) => {
        const o = [...v].sort((a, b) => a - b);
        const m = o.length >> 1;
        return o.length % 2 ? o[m]! : (o[m - 1]! + o[m]!) / 2;
      };
      const all = (k: "cpu" | "rss") => ratios.map((r) => f2(r[k])).join(", ");
      summary.push(`${n} connections, ${REPEAT} pairs: CPU/byte vs bare median ${f2(med(ratios.map((r) => r.cpu)))}× (${all("cpu")}), peak RSS median ${f2(med(ratios.map((r) => r.rss)))}× (${all("rss")})`);
    }
  }
  for (const w of WORKERS) {
    const r = await runCli(target, max, w);
    log(`${r.generator} ${max}: ${JSON.stringify(r)}`);
    rows.push(r);
  }
  process.stdout.write(`${table(rows)}\n\n`);
  for (const s of [...summary, ...startup]) process.stdout.write(`${s}\n`);
  process.stdout.write(`load average (1, 5, 15 min) before: ${loadBefore}; after: ${load()}; ${(await import("node:os")).availableParallelism()} CPUs\n`);
} finally {
  target.child.kill("SIGTERM");
}
