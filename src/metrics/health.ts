// Runner health on /metrics: event-loop (tick) lag, skipped ticks, open connections, resident memory.
import { readFileSync } from "node:fs";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { SchedulerHealth } from "../traffic/scheduler.ts";
import type { SkipReason } from "../traffic/job.ts";
import { getOrCreate } from "./registry.ts";
import { LABELS, RUNNER } from "./names.ts";

/** Lag buckets (seconds): a healthy loop stays under a few milliseconds. */
export const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The generator's own saturation signals; one per process, shared by every scenario. */
export class RunnerHealth implements SchedulerHealth {
  private readonly lag: Histogram<string>;
  private readonly skipped: Counter<string>;
  private readonly open: Gauge<string>;
  private readonly children = new Set<number>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.lag = getOrCreate(registry, RUNNER.eventLoopLag, () =>
      new Histogram({ name: RUNNER.eventLoopLag, help: "How late the traffic timer fired (seconds).", buckets: LAG_BUCKETS, registers }),
    );
    this.skipped = getOrCreate(registry, RUNNER.skippedTicks, () =>
      new Counter({ name: RUNNER.skippedTicks, help: "Ticks skipped (never queued), by reason.", labelNames: [LABELS.reason], registers }),
    );
    for (const reason of ["backpressure", "echo_backlog", "late"]) this.skipped.inc({ reason }, 0);
    this.open = getOrCreate(registry, RUNNER.openConnections, () =>
      new Gauge({ name: RUNNER.openConnections, help: "Open traffic connections, by mode.", labelNames: [LABELS.mode], registers }),
    );
    const children = this.children;
    getOrCreate(registry, RUNNER.residentMemory, () =>
      new Gauge({
        name: RUNNER.residentMemory,
        help: "Resident memory of the runner (bytes); process=children sums the `coder ssh --stdio` tunnels.",
        labelNames: ["process"],
        registers,
        collect() {
          this.set({ process: "runner" }, process.memoryUsage.rss());
          this.set({ process: "children" }, childrenRss(children));
        },
      }),
    );
  }

  observeLag(seconds: number): void {
    this.lag.observe(seconds);
  }

  addLateTicks(n: number): void {
    this.skipped.inc({ reason: "late" }, n);
  }

  /** Counts one skipped tick. */
  skip(reason: SkipReason): void {
    this.skipped.inc({ reason });
  }

  /** A connection of `mode` opened; call the returned function once when it closes. Child pids are added to the memory gauge. */
  connectionOpened(mode: string, childPid?: number): () => void {
    this.open.inc({ mode });
    if (childPid) this.children.add(childPid);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.open.dec({ mode });
      if (childPid) this.children.delete(childPid);
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
