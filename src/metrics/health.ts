// Runner health on /metrics: event-loop (tick) lag, skipped ticks, open connections, resident memory.
import { readFileSync } from "node:fs";
import { Gauge } from "./prom.ts";
import type { RetryEvent } from "../coder/retry.ts";
import type { SchedulerHealth } from "../traffic/scheduler.ts";
import type { SkipReason } from "../traffic/job.ts";
import { getOrCreate } from "./registry.ts";
import { LABELS, RUNNER } from "./names.ts";
import { setRetrySink } from "./retry-sink.ts";
import { FastCounter, FastGauge, FastHistogram, observeInto, type MetricHost, type SlotRef } from "./series.ts";

/** Lag buckets (seconds): a healthy loop stays under a few milliseconds. */
export const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Options for RunnerHealth. */
export interface RunnerHealthOptions {
  /**
   * Where `coder ssh --stdio` tunnel pids go when a connection opens (true) and closes (false). Unset, this
   * instance sums their memory itself; a worker thread passes them to the main thread's instance instead.
   */
  onChild?: (pid: number, open: boolean) => void;
}

/** The generator's own saturation signals; one per process (or thread), shared by every scenario. */
export class RunnerHealth implements SchedulerHealth {
  private readonly lag: SlotRef;
  private readonly backpressure: SlotRef;
  private readonly echoBacklog: SlotRef;
  private readonly late: SlotRef;
  private readonly open: FastGauge;
  private readonly retries: FastCounter;
  private readonly children = new Set<number>();
  private readonly onChild: (pid: number, open: boolean) => void;

  constructor(registry: MetricHost, opts: RunnerHealthOptions = {}) {
    const lag = getOrCreate(registry, RUNNER.eventLoopLag, () =>
      new FastHistogram(registry, { name: RUNNER.eventLoopLag, help: "How late the traffic timer fired (seconds).", buckets: LAG_BUCKETS }),
    );
    this.lag = lag.slot([]);
    const skipped = getOrCreate(registry, RUNNER.skippedTicks, () =>
      new FastCounter(registry, { name: RUNNER.skippedTicks, help: "Ticks skipped (never queued), by reason.", labelNames: [LABELS.reason] }),
    );
    this.backpressure = skipped.slot(["backpressure"]);
    this.echoBacklog = skipped.slot(["echo_backlog"]);
    this.late = skipped.slot(["late"]);
    this.open = getOrCreate(registry, RUNNER.openConnections, () =>
      new FastGauge(registry, { name: RUNNER.openConnections, help: "Open traffic connections, by mode.", labelNames: [LABELS.mode] }),
    );
    this.retries = getOrCreate(registry, RUNNER.retries, () =>
      new FastCounter(registry, {
        name: RUNNER.retries,
        help: "Retries of API calls, WebSocket upgrades and SSH starts, by kind and reason (429, 503, ECONNREFUSED, ...).",
        labelNames: [LABELS.kind, LABELS.reason],
      }),
    );
    // The process's clients were made before any RunnerHealth; their retries count here from now on.
    if (!opts.onChild) setRetrySink(this.retried);
    const children = this.children;
    this.onChild = opts.onChild ?? ((pid, open) => (open ? children.add(pid) : children.delete(pid)));
    getOrCreate(registry, RUNNER.residentMemory, () =>
      new Gauge({
        name: RUNNER.residentMemory,
        help: "Resident memory of the runner (bytes); process=children sums the `coder ssh --stdio` tunnels.",
        labelNames: ["process"],
        registers: [registry as never],
        collect() {
          this.set({ process: "runner" }, process.memoryUsage.rss());
          this.set({ process: "children" }, childrenRss(children));
        },
      }),
    );
  }

  observeLag(seconds: number): void {
    observeInto(this.lag.array, this.lag.offset, LAG_BUCKETS, seconds);
  }

  addLateTicks(n: number): void {
    this.late.array[this.late.offset]! += n;
  }

  /** Counts one skipped tick. */
  skip(reason: SkipReason): void {
    const s = reason === "backpressure" ? this.backpressure : this.echoBacklog;
    s.array[s.offset]!++;
  }

  /** Counts one retry (a client's or a dial's `onRetry`). */
  readonly retried = (e: RetryEvent): void => {
    const s = this.retries.slot([e.kind, e.reason]);
    s.array[s.offset]!++;
  };

  /** A `coder ssh --stdio` tunnel of another thread's connection opened (true) or closed (false). */
  trackChild(pid: number, open: boolean): void {
    if (open) this.children.add(pid);
    else this.children.delete(pid);
  }

  /** A connection of `mode` opened; call the returned function once when it closes. Child pids are added to the memory gauge. */
  connectionOpened(mode: string, childPid?: number): () => void {
    const g = this.open.slot([mode]);
    g.array[g.offset]!++;
    if (childPid) this.onChild(childPid, true);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      g.array[g.offset]!--;
      if (childPid) this.onChild(childPid, false);
    };
  }
}

/** Sum of VmRSS of the given pids (Linux /proc; 0 elsewhere or for pids that are gone). */
export function childrenRss(pids: Iterable<number>): number {
  let total = 0;
  for (const pid of pids) total += processRss(pid);
  return total;
}

/** One process's resident memory in bytes from /proc/<pid>/statm, or 0. */
export function processRss(pid: number): number {
  try {
    // statm's second field is resident pages.
    const statm = readFileSync(`/proc/${pid}/statm`, "utf8");
    const pages = Number(statm.split(" ")[1]);
    return Number.isFinite(pages) ? pages * PAGE_SIZE : 0;
  } catch {
    return 0;
  }
}

const PAGE_SIZE = 4096;
