// Metric slots across threads: a worker thread's families keep their slots in shared memory and announce each
// new chunk and series; the main thread adds them to its own families of the same names, so its one /metrics
// page sums every thread's numbers (the slots are read in place when scraped, never copied per update).
import type { Metric, Registry } from "prom-client";
import { FastFamily, SlotStore, type SharedMetricHost } from "./series.ts";

/** What a worker thread posts about its slots. */
export type SlotMessage =
  | { t: "chunk"; index: number; buffer: SharedArrayBuffer }
  | { t: "series"; family: string; values: string[]; chunk: number; offset: number };

/** The worker side: a metric host (in place of a Registry) whose slots the main thread reads. */
export class SharedSlotsHost implements SharedMetricHost {
  readonly store: SlotStore;
  private readonly metrics = new Map<string, unknown>();

  constructor(private readonly post: (m: SlotMessage) => void) {
    this.store = new SlotStore(true, (chunk, index) => post({ t: "chunk", index, buffer: chunk.buffer as SharedArrayBuffer }));
  }

  getSingleMetric(name: string): unknown {
    return this.metrics.get(name);
  }

  /** Fast families register here; a prom-client metric does too (e.g. the memory gauge), and is never read. */
  registerMetric(metric: Metric): void {
    this.metrics.set((metric as unknown as { name: string }).name, metric);
  }

  announce(family: string, labelValues: readonly string[], chunk: number, offset: number): void {
    this.post({ t: "series", family, values: [...labelValues], chunk, offset });
  }
}

/** The main side of one worker: adds its series to the same-named families of `registry`. */
export class SharedSlotsReader {
  private readonly chunks: Float64Array[] = [];

  constructor(private readonly registry: Registry) {}

  /** Handles one SlotMessage; false when `m` is not one. */
  receive(m: { t?: unknown }): boolean {
    const msg = m as SlotMessage;
    if (msg.t === "chunk") {
      this.chunks[msg.index] = new Float64Array(msg.buffer);
      return true;
    }
    if (msg.t !== "series") return false;
    const family = this.registry.getSingleMetric(msg.family);
    const array = this.chunks[msg.chunk];
    // The main thread declares the same families before any worker starts; anything else is a programming error.
    if (!(family instanceof FastFamily) || !array) throw new Error(`metrics: a worker thread reported ${msg.family}, which this registry does not have`);
    family.attach(msg.values, { array, offset: msg.offset });
    return true;
  }
}
