// The runner's Prometheus registry and the workspace-traffic families (upstream names, types, labels and buckets).
import { Counter, Gauge, Histogram, Registry } from "./prom.ts";
import type { ConnMetrics } from "../traffic/conn.ts";
import { DEFAULT_BUCKETS, LABELS, RUNNER, TRAFFIC } from "./names.ts";
import { FastCounter, FastHistogram, observeInto, type MetricHost, type SlotRef } from "./series.ts";

/** A fresh registry (never prom-client's global one). */
export function createRegistry(): Registry {
  return new Registry();
}

/** Returns the metric already registered under `name`, or registers the one `make` builds (so two scenarios can share a registry). */
export function getOrCreate<M>(registry: MetricHost, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

/** Label values of one traffic target, as upstream: owner name, workspace name, agent name. */
export interface TrafficLabels {
  username: string;
  workspace_name: string;
  agent_name: string;
}

/** Options for the traffic families. */
export interface TrafficMetricsOptions {
  /** Label every series with username/workspace_name/agent_name as upstream (default true). Off for runs with thousands of targets. */
  perWorkspaceLabels?: boolean;
  /**
   * Adds a `scenario` label with this value to every series. The staged runner sets it (its traffic
   * scenarios share one registry, and the dashboard splits by scenario); the standalone
   * `workspace-traffic` command leaves it unset, so its families carry exactly upstream's labels.
   */
  scenario?: string;
}

/** Round-trip buckets (seconds): finer at the low end than the defaults, since a healthy echo takes milliseconds. */
export const ROUND_TRIP_BUCKETS = [0.0005, 0.001, 0.0025, ...DEFAULT_BUCKETS];

// Sorted by name, as Go's client writes label pairs.
const TRAFFIC_LABELS = [LABELS.agentName, LABELS.username, LABELS.workspaceName] as const;

/** The families' label names for these options, sorted as Go writes them. */
function trafficLabelNames(perWorkspace: boolean, scenario: boolean): string[] {
  return [...(perWorkspace ? TRAFFIC_LABELS : []), ...(scenario ? [LABELS.scenario] : [])].sort();
}

/**
 * The six upstream workspace-traffic families plus our round-trip histogram. Each connection resolves its series
 * once (`connMetrics`); the hot path then adds to plain numbers that the /metrics page reads when scraped.
 */
export class TrafficMetrics {
  private readonly bytesRead: FastCounter;
  private readonly bytesWritten: FastCounter;
  private readonly readErrors: FastCounter;
  private readonly writeErrors: FastCounter;
  private readonly readLatency: FastHistogram;
  private readonly writeLatency: FastHistogram;
  private readonly roundTrip: FastHistogram;
  readonly perWorkspaceLabels: boolean;
  private readonly scenario: string | undefined;
  private readonly labelNames: string[];

  constructor(registry: MetricHost, opts: TrafficMetricsOptions = {}) {
    this.perWorkspaceLabels = opts.perWorkspaceLabels ?? true;
    this.scenario = opts.scenario;
    this.labelNames = trafficLabelNames(this.perWorkspaceLabels, this.scenario !== undefined);
    const labelNames = this.labelNames;
    // Families on a shared registry must agree on labels, or a series would be written under the wrong names.
    const shared = <M extends { labelNames: readonly string[] }>(name: string, make: () => M): M => {
      const m = getOrCreate(registry, name, make);
      const have = m.labelNames;
      if (have.join(",") !== labelNames.join(",")) {
        throw new Error(`traffic metrics: ${name} is already registered with labels [${have.join(", ")}], these need [${labelNames.join(", ")}]`);
      }
      return m;
    };
    // Upstream sets no HELP text; prom-client requires one, so ours is short.
    const counter = (name: string, help: string) => shared(name, () => new FastCounter(registry, { name, help, labelNames }));
    const histogram = (name: string, help: string, buckets: number[]) => shared(name, () => new FastHistogram(registry, { name, help, labelNames, buckets }));
    this.bytesRead = counter(TRAFFIC.bytesRead, "Bytes read from workspace connections.");
    this.bytesWritten = counter(TRAFFIC.bytesWritten, "Bytes written to workspace connections (payload, before framing).");
    this.readErrors = counter(TRAFFIC.readErrors, "Read errors on workspace connections.");
    this.writeErrors = counter(TRAFFIC.writeErrors, "Write errors on workspace connections.");
    this.readLatency = histogram(TRAFFIC.readLatency, "Time between reads on a workspace connection (seconds).", DEFAULT_BUCKETS);
    this.writeLatency = histogram(TRAFFIC.writeLatency, "Time to hand one tick's payload to the OS (seconds).", DEFAULT_BUCKETS);
    this.roundTrip = histogram(TRAFFIC.roundTrip, "Time from writing a tick to reading its echo back (seconds).", ROUND_TRIP_BUCKETS);
  }

  /**
   * The hot-path handle for one target. Touches its series as upstream does at job start
   * (counters at 0, each upstream histogram observes 0); the round-trip series starts empty.
   */
  connMetrics(labels: TrafficLabels): ConnMetrics {
    const all: Record<string, string> = { ...labels, [LABELS.scenario]: this.scenario ?? "" };
    const values = this.labelNames.map((n) => all[n] ?? "");
    const m = new TrafficSeries(
      this.bytesRead.slot(values),
      this.bytesWritten.slot(values),
      this.readErrors.slot(values),
      this.writeErrors.slot(values),
      this.readLatency.slot(values),
      this.writeLatency.slot(values),
      this.roundTrip.slot(values),
    );
    m.observeReadLatency(0);
    m.observeWriteLatency(0);
    return m;
  }
}

/** One target's series: each call adds to a number in place (no label lookup, no allocation). */
class TrafficSeries implements ConnMetrics {
  private readonly readA: Float64Array;
  private readonly readO: number;
  private readonly writtenA: Float64Array;
  private readonly writtenO: number;
  private readonly rErrA: Float64Array;
  private readonly rErrO: number;
  private readonly wErrA: Float64Array;
  private readonly wErrO: number;
  private readonly rLatA: Float64Array;
  private readonly rLatO: number;
  private readonly wLatA: Float64Array;
  private readonly wLatO: number;
  private readonly rttA: Float64Array;
  private readonly rttO: number;

  constructor(read: SlotRef, written: SlotRef, rErr: SlotRef, wErr: SlotRef, rLat: SlotRef, wLat: SlotRef, rtt: SlotRef) {
    this.readA = read.array;
    this.readO = read.offset;
    this.writtenA = written.array;
    this.writtenO = written.offset;
    this.rErrA = rErr.array;
    this.rErrO = rErr.offset;
    this.wErrA = wErr.array;
    this.wErrO = wErr.offset;
    this.rLatA = rLat.array;
    this.rLatO = rLat.offset;
    this.wLatA = wLat.array;
    this.wLatO = wLat.offset;
    this.rttA = rtt.array;
    this.rttO = rtt.offset;
  }

  addRead(n: number): void {
    this.readA[this.readO]! += n;
  }
  addWritten(n: number): void {
    this.writtenA[this.writtenO]! += n;
  }
  readError(): void {
    this.rErrA[this.rErrO]!++;
  }
  writeError(): void {
    this.wErrA[this.wErrO]!++;
  }
  observeReadLatency(seconds: number): void {
    observeInto(this.rLatA, this.rLatO, DEFAULT_BUCKETS, seconds);
  }
  observeWriteLatency(seconds: number): void {
    observeInto(this.wLatA, this.wLatO, DEFAULT_BUCKETS, seconds);
  }
  observeRoundTrip(seconds: number): void {
    observeInto(this.rttA, this.rttO, ROUND_TRIP_BUCKETS, seconds);
  }
}

/** Outcome of one job, for `coderd_scaletest_jobs_total{test,outcome}`. */
export type JobOutcome = "ok" | "failed" | "canceled" | "timed_out";

const JOB_OUTCOMES: readonly JobOutcome[] = ["ok", "failed", "canceled", "timed_out"];

/** Jobs finished per test and outcome (and, in the staged run, scenario), and their durations. */
export class JobMetrics {
  private readonly jobs: Counter<string>;
  private readonly duration: Histogram<string>;
  private readonly running: Gauge<string>;
  /** Jobs this handle marked started and not yet finished, by test: finished() lowers the gauge only for these. */
  private readonly open = new Map<string, number>();
  private readonly scenario: string | undefined;

  /** `scenario` labels this handle's jobs (the staged run); unset, the series carry only test and outcome. */
  constructor(registry: Registry, opts: { scenario?: string } = {}) {
    this.scenario = opts.scenario;
    const registers = [registry];
    // One label set for every handle on the registry; a label never given a value is left out of the series.
    const labelNames = [LABELS.test, LABELS.outcome, LABELS.scenario];
    this.jobs = getOrCreate(registry, RUNNER.jobs, () =>
      new Counter({ name: RUNNER.jobs, help: "Jobs finished, by test, outcome and (staged run) scenario.", labelNames, registers }),
    );
    this.duration = getOrCreate(registry, RUNNER.jobDuration, () =>
      new Histogram({
        name: RUNNER.jobDuration,
        help: "Job duration (seconds), by test, outcome and (staged run) scenario.",
        labelNames,
        buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
        registers,
      }),
    );
    this.running = getOrCreate(registry, RUNNER.jobsRunning, () =>
      new Gauge({ name: RUNNER.jobsRunning, help: "Jobs started and not finished yet, by test and (staged run) scenario.", labelNames: [LABELS.test, LABELS.scenario], registers }),
    );
  }

  /**
   * Creates this handle's series for `test` at zero, every outcome, before its jobs start: otherwise the
   * first job of a scenario creates its series already at 1, and Prometheus' rate() never sees that increase.
   */
  zero(test: string): void {
    for (const outcome of JOB_OUTCOMES) {
      const labels = this.labels(test, outcome);
      this.jobs.inc(labels, 0);
      this.duration.zero(labels);
    }
    this.running.inc(this.runningLabels(test), 0);
  }

  /** Marks one job running (until its finished()). */
  started(test: string): void {
    this.open.set(test, (this.open.get(test) ?? 0) + 1);
    this.running.inc(this.runningLabels(test));
  }

  /** Records one finished job; it stops counting as running if started() marked it. */
  finished(test: string, outcome: JobOutcome, seconds: number): void {
    const labels = this.labels(test, outcome);
    this.jobs.inc(labels);
    this.duration.observe(labels, seconds);
    const open = this.open.get(test) ?? 0;
    if (open > 0) {
      this.open.set(test, open - 1);
      this.running.dec(this.runningLabels(test));
    }
  }

  /** Records a job the harness never started (canceled before its turn): an outcome, never running. */
  notStarted(test: string, outcome: JobOutcome): void {
    const labels = this.labels(test, outcome);
    this.jobs.inc(labels);
    this.duration.observe(labels, 0);
  }

  private runningLabels(test: string): Record<string, string> {
    return this.scenario === undefined ? { test } : { test, scenario: this.scenario };
  }

  private labels(test: string, outcome: JobOutcome): Record<string, string> {
    return this.scenario === undefined ? { test, outcome } : { test, outcome, scenario: this.scenario };
  }
}
