// Metric families whose series are plain Float64 slots: the hot path bumps a number, the scrape reads and renders it.
//
// prom-client hashes the label set on every inc/observe (17.8% of the runner's main thread at 2000 connections,
// before any scrape) and rebuilds every line on every scrape (a 14 MB page, ~200 ms of blocked loop). These
// families keep prom-client's names, types, label order and text exposition exactly (they register in a
// prom-client Registry like any metric, and `get()` answers in its shape), but a series is resolved once, by
// the connection, and the page is rendered from cached label text (see exposition.ts). Slots can live in shared
// memory, so a worker thread's series are read by the main thread.
import type { Metric, Registry } from "prom-client";

/** Slots per chunk (64 KiB); a series never spans chunks. */
const CHUNK_SLOTS = 8192;

/** Where a series' numbers live. */
export interface SlotRef {
  readonly array: Float64Array;
  readonly offset: number;
}

/** Allocates slots in fixed chunks, in shared memory when another thread reads them; interns label sets. */
export class SlotStore {
  readonly chunks: Float64Array[] = [];
  private used = CHUNK_SLOTS;
  private readonly labelSets = new Map<string, LabelSet>();

  /** @param onChunk called with each new chunk (shared stores announce them to the reading thread) */
  constructor(
    readonly shared = false,
    private readonly onChunk?: (chunk: Float64Array, index: number) => void,
  ) {}

  /** `n` consecutive zeroed slots. */
  alloc(n: number): { chunk: number; offset: number } {
    if (n > CHUNK_SLOTS) throw new RangeError(`a series needs ${n} slots, more than a chunk holds (${CHUNK_SLOTS})`);
    if (this.used + n > CHUNK_SLOTS) {
      const bytes = CHUNK_SLOTS * Float64Array.BYTES_PER_ELEMENT;
      const chunk = new Float64Array(this.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
      this.chunks.push(chunk);
      this.used = 0;
      this.onChunk?.(chunk, this.chunks.length - 1);
    }
    const offset = this.used;
    this.used += n;
    return { chunk: this.chunks.length - 1, offset };
  }

  /** The one LabelSet for these names and values (every family of a connection shares its label text). */
  labelSet(names: readonly string[], values: readonly string[]): LabelSet {
    const key = `${names.join("\u0001")}\u0000${values.join("\u0001")}`;
    let set = this.labelSets.get(key);
    if (!set) {
      set = new LabelSet(names, values);
      this.labelSets.set(key, set);
    }
    return set;
  }
}

/** What a family is registered in: a prom-client Registry, or a worker's host (same two methods). */
export interface MetricHost {
  getSingleMetric(name: string): unknown;
  registerMetric(metric: Metric): void;
}

/** A host whose series another thread reads: its store is shared and each new series is announced. */
export interface SharedMetricHost extends MetricHost {
  readonly store: SlotStore;
  announce(family: string, labelValues: readonly string[], chunk: number, offset: number): void;
}

function isShared(host: MetricHost): host is SharedMetricHost {
  return "announce" in host && "store" in host;
}

const stores = new WeakMap<MetricHost, SlotStore>();

/** The slot store of a host (one per registry). */
export function storeOf(host: MetricHost): SlotStore {
  if (isShared(host)) return host.store;
  let s = stores.get(host);
  if (!s) {
    s = new SlotStore();
    stores.set(host, s);
  }
  return s;
}

/**
 * A series' label names and values, and its label text in the three places prom-client writes labels. The text
 * is one unpooled buffer: a small pooled one would pin a whole 8 KiB pool slab shared with short-lived buffers.
 */
export class LabelSet {
  private forDefaults: Readonly<Record<string, unknown>> | undefined;
  /**
   * Three texts, views over one buffer: `plain` `{a="1",run_id="x"}` (series labels, then default labels) or empty,
   * for counters and gauges; `tail` `,run_id="x",a="1"}` or `}`, what follows `le="…"` in a bucket line (default
   * labels first, as prom-client writes them); `sumTail` `{run_id="x",a="1"}` or empty, for a histogram's _sum and
   * _count lines. Whole views, because Buffer#copy of part of a buffer makes a new view on every call.
   */
  plain: Buffer = EMPTY;
  tail: Buffer = EMPTY;
  sumTail: Buffer = EMPTY;

  constructor(
    readonly names: readonly string[],
    readonly values: readonly string[],
  ) {}

  /** The labels as prom-client's values carry them. */
  toObject(): Record<string, string> {
    const o: Record<string, string> = {};
    this.names.forEach((n, i) => (o[n] = this.values[i]!));
    return o;
  }

  /** Renders the label text for this registry's default labels (cached until they change). */
  prepare(defaults: Readonly<Record<string, unknown>>): void {
    if (this.forDefaults === defaults) return;
    this.forDefaults = defaults;
    const own = this.names.map((n, i) => `${n}="${escapeLabelValue(this.values[i]!)}"`);
    const extra = Object.entries(defaults)
      .filter(([n]) => !this.names.includes(n))
      .map(([n, v]) => `${n}="${escapeLabelValue(v)}"`);
    const plain = [...own, ...extra];
    const hist = [...extra, ...own];
    const parts = [plain.length ? `{${plain.join(",")}}` : "", hist.length ? `,${hist.join(",")}}` : "}", hist.length ? `{${hist.join(",")}}` : ""];
    const lengths = parts.map((p) => Buffer.byteLength(p));
    const text = Buffer.allocUnsafeSlow(lengths[0]! + lengths[1]! + lengths[2]!);
    text.write(parts.join(""));
    const tailEnd = lengths[0]! + lengths[1]!;
    this.plain = text.subarray(0, lengths[0]!);
    this.tail = text.subarray(lengths[0]!, tailEnd);
    this.sumTail = text.subarray(tailEnd);
  }
}

const EMPTY = Buffer.alloc(0);

/** prom-client's label value escaping: backslash, newline, double quote (non-strings as they print). */
export function escapeLabelValue(v: unknown): string {
  return typeof v === "string" ? escapeText(v).replace(/"/g, '\\"') : String(v);
}

/** prom-client's HELP escaping: backslash and newline. */
export function escapeText(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/**
 * One series: its label set, this thread's slots (once it asked for them) and other threads' slots for the same
 * labels (worker threads), summed in when read. One object with fixed fields: there are thousands.
 */
export class Series implements SlotRef {
  array: Float64Array = NO_SLOTS;
  offset = 0;
  remote: SlotRef[] | undefined = undefined;
  constructor(readonly labels: LabelSet) {}

  /** Slot `k` summed over this thread and the others. */
  total(k: number): number {
    let v = this.array === NO_SLOTS ? 0 : this.array[this.offset + k]!;
    if (this.remote) for (const r of this.remote) v += r.array[r.offset + k]!;
    return v;
  }
}
const NO_SLOTS = new Float64Array(0);

/** Receives rendered exposition text; see exposition.ts. */
export interface ExpositionSink {
  /** Appends all of `b`. */
  bytes(b: Buffer): void;
  /** Appends a number as prom-client prints it. */
  number(v: number): void;
  /** Appends a one-byte character. */
  char(c: number): void;
}

/** The options every family takes. */
export interface FamilyOptions {
  name: string;
  help: string;
  labelNames?: readonly string[];
}

type PromValue = { value: number; labels: Record<string, string | number>; metricName?: string; sharedLabels?: Record<string, string>; exemplar?: null };

/** Shared by the three kinds: series lookup, registration, prom-client's Metric surface. */
export abstract class FastFamily implements SeriesOwner {
  abstract readonly type: "counter" | "gauge" | "histogram";
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly aggregator = "sum" as const;
  /** Series in creation order (the order prom-client writes them in). */
  readonly series: Series[] = [];
  private readonly byLabels = new Map<LabelSet, Series>();
  private readonly store: SlotStore;
  private readonly host: MetricHost;
  /** Rendered `# HELP …\n# TYPE …` header. */
  header!: Buffer;

  protected constructor(host: MetricHost, opts: FamilyOptions) {
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames ?? [];
    this.host = host;
    this.store = storeOf(host);
    host.registerMetric(this as unknown as Metric);
  }

  protected init(): void {
    this.header = Buffer.from(`# HELP ${escapeText(this.name)} ${escapeText(this.help)}\n# TYPE ${escapeText(this.name)} ${this.type}`);
  }

  /** Slots per series. */
  abstract get width(): number;

  /** This thread's slot for the series with these label values (created on first use, zeroed), as prom-client's `labels()`. */
  slot(values: readonly string[]): SlotRef {
    if (values.length !== this.labelNames.length) {
      throw new Error(`${this.name}: ${values.length} label value(s) for ${this.labelNames.length} label name(s) [${this.labelNames.join(", ")}]`);
    }
    const s = this.seriesFor(values);
    if (s.array === NO_SLOTS) {
      const { chunk, offset } = this.store.alloc(this.width);
      s.array = this.store.chunks[chunk]!;
      s.offset = offset;
      if (isShared(this.host)) this.host.announce(this.name, values, chunk, offset);
    }
    return s;
  }

  /** Adds another thread's slots to the series with these label values (its numbers are summed in). */
  attach(values: readonly string[], ref: SlotRef): void {
    const s = this.seriesFor(values);
    (s.remote ??= []).push(ref);
  }

  private seriesFor(values: readonly string[]): Series {
    const labels = this.store.labelSet(this.labelNames, values);
    let s = this.byLabels.get(labels);
    if (!s) {
      s = new Series(labels);
      this.byLabels.set(labels, s);
      this.series.push(s);
    }
    return s;
  }

  /** Writes series [from, to) as exposition lines, each preceded by `\n` (prom-client's join). */
  abstract renderSeries(out: ExpositionSink, from: number, to: number, defaults: Readonly<Record<string, unknown>>): void;

  /** prom-client's Metric: values in its shape (labels merged), for getMetricsAsJSON and tests. */
  async get(): Promise<{ name: string; help: string; type: string; values: PromValue[]; aggregator: "sum" }> {
    const data = await this.getForPromString();
    for (const v of data.values) {
      if (v.sharedLabels) {
        v.labels = { ...v.labels, ...v.sharedLabels };
        delete v.sharedLabels;
      }
    }
    return data;
  }

  /** What prom-client's Registry formats (labels and shared labels apart, as its histograms do). */
  async getForPromString(): Promise<{ name: string; help: string; type: string; values: PromValue[]; aggregator: "sum" }> {
    return { name: this.name, help: this.help, type: this.type, values: this.values(), aggregator: this.aggregator };
  }

  protected abstract values(): PromValue[];

  /** Zeroes this thread's slots (prom-client's reset forgets series; ours keep theirs, at zero). */
  reset(): void {
    for (const s of this.series) s.array.fill(0, s.offset, s.offset + this.width);
  }
}

/** What the page renderer needs of a family. */
export interface SeriesOwner {
  readonly series: readonly Series[];
  readonly header: Buffer;
  renderSeries(out: ExpositionSink, from: number, to: number, defaults: Readonly<Record<string, unknown>>): void;
}

/** A counter or gauge: one slot per series. */
abstract class ScalarFamily extends FastFamily {
  private nameBytes!: Buffer;

  protected override init(): void {
    super.init();
    this.nameBytes = Buffer.from(this.name);
  }

  get width(): number {
    return 1;
  }

  renderSeries(out: ExpositionSink, from: number, to: number, defaults: Readonly<Record<string, unknown>>): void {
    for (let i = from; i < to; i++) {
      const s = this.series[i]!;
      s.labels.prepare(defaults);
      out.char(0x0a);
      out.bytes(this.nameBytes);
      out.bytes(s.labels.plain);
      out.char(0x20);
      out.number(s.total(0));
    }
  }

  protected values(): PromValue[] {
    return this.series.map((s) => ({ value: s.total(0), labels: s.labels.toObject() }));
  }
}

/** A counter (prom-client's Counter text and JSON). */
export class FastCounter extends ScalarFamily {
  readonly type = "counter" as const;
  constructor(host: MetricHost, opts: FamilyOptions) {
    super(host, opts);
    this.init();
  }
}

/** A gauge (prom-client's Gauge text and JSON). */
export class FastGauge extends ScalarFamily {
  readonly type = "gauge" as const;
  constructor(host: MetricHost, opts: FamilyOptions) {
    super(host, opts);
    this.init();
  }
}

/**
 * A histogram: per series, one slot per bucket (non-cumulative, the last one above every bound) and the sum.
 * The count is the buckets' total, so a scrape never sees a count that disagrees with its buckets.
 */
export class FastHistogram extends FastFamily {
  readonly type = "histogram" as const;
  readonly buckets: readonly number[];
  private readonly bucketPrefix: Buffer[];
  private readonly sumName: Buffer;
  private readonly countName: Buffer;

  constructor(host: MetricHost, opts: FamilyOptions & { buckets: readonly number[] }) {
    super(host, opts);
    this.buckets = opts.buckets;
    if (this.labelNames.includes("le")) throw new Error("le is a reserved label keyword");
    this.bucketPrefix = [...this.buckets.map(String), "+Inf"].map((le) => Buffer.from(`${this.name}_bucket{le="${le}"`));
    this.sumName = Buffer.from(`${this.name}_sum`);
    this.countName = Buffer.from(`${this.name}_count`);
    this.init();
  }

  get width(): number {
    return this.buckets.length + 2;
  }

  renderSeries(out: ExpositionSink, from: number, to: number, defaults: Readonly<Record<string, unknown>>): void {
    const nb = this.buckets.length;
    for (let i = from; i < to; i++) {
      const s = this.series[i]!;
      const l = s.labels;
      l.prepare(defaults);
      let acc = 0;
      for (let k = 0; k <= nb; k++) {
        acc += s.total(k);
        out.char(0x0a);
        out.bytes(this.bucketPrefix[k]!);
        out.bytes(l.tail);
        out.char(0x20);
        out.number(acc);
      }
      out.char(0x0a);
      out.bytes(this.sumName);
      out.bytes(l.sumTail);
      out.char(0x20);
      out.number(s.total(nb + 1));
      out.char(0x0a);
      out.bytes(this.countName);
      out.bytes(l.sumTail);
      out.char(0x20);
      out.number(acc);
    }
  }

  protected values(): PromValue[] {
    const nb = this.buckets.length;
    const out: PromValue[] = [];
    for (const s of this.series) {
      const shared = s.labels.toObject();
      let acc = 0;
      for (let k = 0; k <= nb; k++) {
        acc += s.total(k);
        out.push({ labels: { le: k < nb ? this.buckets[k]! : "+Inf" }, sharedLabels: shared, value: acc, metricName: `${this.name}_bucket`, exemplar: null });
      }
      out.push({ labels: {}, sharedLabels: shared, value: s.total(nb + 1), metricName: `${this.name}_sum` });
      out.push({ labels: {}, sharedLabels: shared, value: acc, metricName: `${this.name}_count` });
    }
    return out;
  }
}

/** Adds `v` to the histogram series at `o` in `a` with these bounds (prom-client's rule: the first bound >= v). */
export function observeInto(a: Float64Array, o: number, bounds: readonly number[], v: number): void {
  const n = bounds.length;
  let k = 0;
  while (k < n && v > bounds[k]!) k++;
  a[o + k]!++;
  a[o + n + 1]! += v;
}

/** The registry's default labels (prom-client keeps them in a field it reads when rendering; no getter exists). */
export function defaultLabelsOf(registry: Registry): Readonly<Record<string, unknown>> {
  const d = (registry as unknown as { _defaultLabels?: unknown })._defaultLabels;
  return d && typeof d === "object" ? (d as Record<string, unknown>) : NO_LABELS;
}
const NO_LABELS: Readonly<Record<string, unknown>> = Object.freeze({});
