// `workspace-traffic --workers N`: the connections split over N worker threads (each with its own event loop and
// scheduler), by the same stable rule as shard pods (shard.ts), while the main thread keeps the harness, the one
// results file and the one /metrics page, which reads every worker's metric slots in place (metrics/shared.ts).
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import type { Registry } from "prom-client";
import type { OnRetry, RetryEvent } from "../../coder/retry.ts";
import { getErrorMessage } from "../../errors.ts";
import { classifyFailure } from "../../harness/test-run.ts";
import type { Runner, RunLog } from "../../harness/runner.ts";
import type { RunnerHealth } from "../../metrics/health.ts";
import type { JobMetrics, JobOutcome } from "../../metrics/registry.ts";
import { SharedSlotsReader } from "../../metrics/shared.ts";
import type { WorkspaceTrafficConfig } from "./config.ts";
import type { TrafficTarget } from "./select.ts";
import { DeadlineError } from "../../util/abort.ts";
import { dialShare } from "../../traffic/dial-gate.ts";
import { splitByShard } from "../../traffic/shard.ts";

/** Most worker threads `--workers` accepts. */
export const MAX_WORKERS = 64;

/**
 * The default worker count: the CPU limit of this container's cgroup (v2 cpu.max, or v1's CFS quota, the tightest
 * along the cgroup's path), rounded down, capped by os.availableParallelism(); without a limit,
 * availableParallelism(); on Linux when no cgroup CPU file can be read, 1 (unsure). `read` is for tests.
 */
export function defaultWorkerCount(read: (path: string) => string = (p) => readFileSync(p, "utf8"), platform = process.platform, cpus = availableParallelism()): number {
  if (platform !== "linux") return Math.max(1, Math.min(cpus, MAX_WORKERS));
  const limit = cgroupCpuLimit(read);
  if (limit === undefined) return 1;
  return Math.max(1, Math.min(cpus, MAX_WORKERS, limit === Infinity ? cpus : Math.floor(limit)));
}

/** CPUs the cgroup allows (Infinity when unlimited), or undefined when no cgroup CPU file could be read. */
function cgroupCpuLimit(read: (path: string) => string): number | undefined {
  const tryRead = (path: string): string | undefined => {
    try {
      return read(path).trim();
    } catch {
      return undefined;
    }
  };
  // The process's cgroup per hierarchy ("0::/path" for v2, "N:cpu,cpuacct:/path" for v1); "/" inside a cgroup namespace.
  const paths = new Map<string, string>();
  for (const line of (tryRead("/proc/self/cgroup") ?? "").split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) for (const c of m[1]!.split(",")) paths.set(c, m[2]!);
  }
  // A limit applies to everything below it: take the tightest from the cgroup up to the root.
  const ancestors = (path: string) => {
    const out: string[] = [];
    for (let p = path; ; p = p.slice(0, p.lastIndexOf("/"))) {
      out.push(p === "/" ? "" : p);
      if (p === "" || p === "/") break;
    }
    return out;
  };
  let found = false;
  let limit = Infinity;
  const v2root = tryRead("/sys/fs/cgroup/cgroup.controllers") !== undefined ? "/sys/fs/cgroup" : undefined;
  if (v2root) {
    found = true;
    for (const dir of ancestors(paths.get("") ?? "/")) {
      const [quota, period] = (tryRead(`${v2root}${dir}/cpu.max`) ?? "max").split(/\s+/);
      if (quota !== "max" && Number(quota) > 0 && Number(period ?? 100_000) > 0) limit = Math.min(limit, Number(quota) / Number(period ?? 100_000));
    }
  }
  for (const mount of ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"]) {
    for (const dir of ancestors(paths.get("cpu") ?? "/")) {
      const quota = tryRead(`${mount}${dir}/cpu.cfs_quota_us`);
      const period = tryRead(`${mount}${dir}/cpu.cfs_period_us`);
      if (quota === undefined || period === undefined) continue;
      found = true;
      if (Number(quota) > 0 && Number(period) > 0) limit = Math.min(limit, Number(quota) / Number(period));
    }
  }
  return found ? limit : undefined;
}

/** Parses `--workers` ("" = the default); the problem names the flag and the range. */
export function parseWorkers(text: string, flag = "--workers"): { workers?: number; problem?: { path: string; message: string } } {
  if (text.trim() === "") return { workers: defaultWorkerCount() };
  const n = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > MAX_WORKERS) {
    return { problem: { path: flag, message: `must be an integer from 1 to ${MAX_WORKERS} (default: the CPU limit), got ${JSON.stringify(text)}` } };
  }
  return { workers: n };
}

/** What the main thread hands each worker (structured-cloned; the token stays in memory). */
export interface WorkerData {
  index: number;
  cfg: WorkspaceTrafficConfig;
  url: string;
  token: string;
  perWorkspaceLabels: boolean;
  closeTimeoutMs?: number;
  targets: TrafficTarget[];
  /** The deployment's extra headers (--header, --header-command) and the env that hands them to a `coder` child. */
  headers?: Record<string, string>;
  headerEnv?: Record<string, string>;
  /** The request deadline (--request-timeout), which bounds each dial's handshake; 0 = the dial's own 30 s. */
  requestTimeoutMs?: number;
}

/** Main thread → worker. */
export type ToWorker = { t: "run"; id: string } | { t: "abort"; id: string; deadline: boolean; message: string } | { t: "stop" };

/** Worker → main thread (besides the SlotMessages of metrics/shared.ts). */
export type FromWorker =
  | { t: "ready" }
  | { t: "log"; id: string; text: string }
  | { t: "done"; id: string; error?: { name: string; message: string } }
  | { t: "child"; pid: number; open: boolean }
  | { t: "retry"; e: RetryEvent };

/** Options for startTrafficWorkers. */
export interface TrafficWorkersOptions {
  count: number;
  cfg: WorkspaceTrafficConfig;
  url: URL;
  token: string;
  perWorkspaceLabels: boolean;
  /** The main registry, with the traffic and health families already declared (workers add their series to them). */
  registry: Registry;
  /** The main thread's health: it sums the SSH tunnels' memory of every worker. */
  health?: RunnerHealth;
  jobs?: JobMetrics;
  closeTimeoutMs?: number;
  /** Test name the job metrics are recorded under. */
  testName: string;
  /** The shard count these runs were already split by (a sharded command): threads split the shard's own subset. */
  shardCount?: number;
  /** The client's headers and the env for `coder` children (the retries metric is counted per thread). */
  connection?: { headers?: Record<string, string>; headerEnv?: Record<string, string>; requestTimeoutMs?: number };
  /** The phase's tally: every dial retry of every thread is reported back here. */
  onRetry?: OnRetry;
}

/** A run for the harness (same test name and id as in-process). */
export interface WorkerRun {
  testName: string;
  id: string;
  runner: Runner;
}

/** The running worker threads and the runs that execute in them. */
export interface TrafficWorkers {
  /** One run per target, in the order given; each executes in the worker its workspace ID hashes to. */
  readonly runs: WorkerRun[];
  /** Threads actually started (no more than there are targets). */
  readonly count: number;
  /** The worker thread (0-based) that runs job `id`. */
  workerOf(id: string): number;
  /** Stops every worker (after the harness finished); idempotent. */
  close(): Promise<void>;
}

/** Starts min(count, targets) worker threads and resolves once each has declared its metrics. */
export async function startTrafficWorkers(
  runs: readonly { testName: string; id: string; target: TrafficTarget }[],
  o: TrafficWorkersOptions,
): Promise<TrafficWorkers> {
  const count = Math.max(1, Math.min(o.count, runs.length));
  const groups = splitByShard(runs, count, (r) => r.target.workspace.id, o.shardCount);
  const threads = groups.map((group, index) => new TrafficThread(workerDataFor(index, o, group.map((r) => r.target), groups.length), o));
  try {
    await Promise.all(threads.map((t) => t.ready));
  } catch (err) {
    await Promise.all(threads.map((t) => t.stop()));
    throw err;
  }
  const owner = new Map<string, TrafficThread>();
  groups.forEach((group, i) => group.forEach((r) => owner.set(r.id, threads[i]!)));
  let closed: Promise<void> | undefined;
  return {
    count,
    workerOf: (id) => owner.get(id)?.index ?? -1,
    runs: runs.map((r) => ({ testName: r.testName, id: r.id, runner: new WorkerRunner(owner.get(r.id)!, o.jobs, o.testName) })),
    close: () => (closed ??= Promise.all(threads.map((t) => t.stop())).then(() => undefined)),
  };
}

/** The main thread's side of one job: runs it in its worker, records its outcome, mirrors its log. */
class WorkerRunner implements Runner {
  constructor(
    private readonly thread: TrafficThread,
    private readonly jobs: JobMetrics | undefined,
    private readonly testName: string,
  ) {}

  async run(signal: AbortSignal, id: string, log: RunLog): Promise<void> {
    const t0 = performance.now();
    let outcome: JobOutcome = "ok";
    this.jobs?.started(this.testName);
    try {
      await this.thread.run(id, signal, log);
    } catch (err) {
      outcome = classifyFailure(err, signal);
      throw err;
    } finally {
      this.jobs?.finished(this.testName, outcome, (performance.now() - t0) / 1000);
    }
  }
}

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
  log: RunLog;
}

/** What thread `index` of `threads` is handed: its targets, and its share of the process's --dial-concurrency. */
export function workerDataFor(index: number, o: TrafficWorkersOptions, targets: TrafficTarget[], threads: number): WorkerData {
  return {
    index,
    // Each thread opens its share, so the phase as a whole keeps to --dial-concurrency (give or take the rounding).
    cfg: { ...o.cfg, dialConcurrency: dialShare(o.cfg.dialConcurrency, threads) },
    url: o.url.toString(),
    token: o.token,
    perWorkspaceLabels: o.perWorkspaceLabels,
    closeTimeoutMs: o.closeTimeoutMs,
    targets,
    headers: o.connection?.headers,
    headerEnv: o.connection?.headerEnv,
    requestTimeoutMs: o.connection?.requestTimeoutMs,
  };
}

/** One worker thread and its jobs in flight. */
class TrafficThread {
  readonly ready: Promise<void>;
  private readonly worker: Worker;
  private readonly pending = new Map<string, Pending>();
  private failure: Error | undefined;
  private stopping = false;
  private readonly exited: Promise<void>;

  readonly index: number;

  constructor(data: WorkerData, o: TrafficWorkersOptions) {
    this.index = data.index;
    this.worker = spawnWorker(data);
    const slots = new SharedSlotsReader(o.registry);
    let markReady!: () => void;
    let failStart!: (err: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failStart = reject;
    });
    this.ready.catch(() => {});
    this.worker.on("message", (m: FromWorker) => {
      if (slots.receive(m)) return;
      switch (m.t) {
        case "ready":
          return markReady();
        case "log":
          return this.pending.get(m.id)?.log.write(m.text);
        case "child":
          return o.health?.trackChild(m.pid, m.open);
        case "retry":
          return o.onRetry?.(m.e);
        case "done": {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          if (!m.error) return p?.resolve();
          const err = new Error(m.error.message);
          err.name = m.error.name;
          return p?.reject(err);
        }
      }
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      failStart(err);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on("error", (err) => fail(new Error(`traffic worker ${this.index}: ${getErrorMessage(err)}`, { cause: err })));
    this.exited = new Promise((resolve) =>
      this.worker.once("exit", (code) => {
        if (!this.stopping) fail(new Error(`traffic worker ${this.index} exited unexpectedly (code ${code})`));
        resolve();
      }),
    );
  }

  /** Runs job `id` in the worker; the signal's abort is forwarded (deadline or cancel, as the harness decided). */
  run(id: string, signal: AbortSignal, log: RunLog): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const reason: unknown = signal.reason;
        const deadline = reason instanceof DeadlineError || (reason instanceof Error && reason.name === "TimeoutError");
        this.worker.postMessage({ t: "abort", id, deadline, message: getErrorMessage(reason) } satisfies ToWorker);
      };
      const settle = () => signal.removeEventListener("abort", onAbort);
      this.pending.set(id, {
        resolve: () => (settle(), resolve()),
        reject: (err) => (settle(), reject(err)),
        log,
      });
      signal.addEventListener("abort", onAbort, { once: true });
      this.worker.postMessage({ t: "run", id } satisfies ToWorker);
    });
  }

  /** Asks the worker to stop and waits (5 s at most, then terminates it). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.worker.postMessage({ t: "stop" } satisfies ToWorker);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((r) => (timer = setTimeout(r, 5_000, "timeout")));
    if ((await Promise.race([this.exited, timeout])) === "timeout") await this.worker.terminate();
    clearTimeout(timer);
  }
}

/**
 * Starts worker-thread.ts (or worker-thread.js, when this file runs compiled). Under the TypeScript loader the worker registers
 * it first: a loader registered in the main thread does not carry over to worker threads.
 */
function spawnWorker(data: WorkerData): Worker {
  const ts = import.meta.url.endsWith(".ts");
  const entry = new URL(ts ? "./worker-thread.ts" : "./worker-thread.js", import.meta.url);
  // A smaller young generation than V8's default: a traffic thread allocates little that survives, and each
  // thread's full-size semi-spaces (~30 MiB of heap) would otherwise count against the runner pod's memory.
  const options = { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: 8 } };
  if (!ts) return new Worker(entry, options);
  const loader = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(loader)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
