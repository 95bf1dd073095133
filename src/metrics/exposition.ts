// The /metrics page, byte for byte as prom-client's Registry.metrics() writes it, rendered in slices that yield
// to the event loop: at thousands of labelled series the page is megabytes, and building it in one go would hold
// the tick loop. Slices are a few milliseconds: each yield costs a loop turn, which is long on a busy runner, so
// many small slices would stretch one scrape over seconds.
import { performance } from "node:perf_hooks";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { Registry } from "./prom.ts";
import { defaultLabelsOf, FastFamily, type ExpositionSink } from "./series.ts";

/** Bytes per chunk handed to the sink. */
const CHUNK_BYTES = 64 * 1024;
/** Longest stretch (milliseconds) the renderer runs before it lets timers and sockets in. */
const SLICE_MS = 5;
/** Most bytes rendered before they are handed to the sink (bounds memory when the client is slow). */
const MAX_PENDING = 1024 * 1024;
/** Series rendered between clock checks. */
const SERIES_PER_CHECK = 32;

/**
 * Where rendered chunks go. The renderer reuses a chunk's memory once the sink is done with it: when the sink
 * returns, or when the promise it returns settles (which is also how it applies backpressure).
 */
export type ChunkSink = (chunk: Buffer) => void | Promise<void>;

/** Chunks kept for the next scrape: a 14 MB page rendered every second would otherwise churn 14 MB/s of buffers. */
const spare: Buffer[] = [];
const MAX_SPARE = 32;

/** Collects bytes into chunks of CHUNK_BYTES and hands full ones to the sink. */
class ChunkWriter implements ExpositionSink {
  private buf = spare.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
  private pos = 0;
  /** Finished chunks and how many of their bytes are used. */
  private readonly ready: Buffer[] = [];
  private readonly readyLen: number[] = [];

  bytes(b: Buffer): void {
    const n = b.length;
    if (this.pos + n > this.buf.length) {
      this.cut();
      if (n > this.buf.length) {
        this.ready.push(Buffer.from(b));
        this.readyLen.push(n);
        return;
      }
    }
    // TypedArray#set: one builtin call (Buffer#copy goes through three JS frames to reach it).
    this.buf.set(b, this.pos);
    this.pos += n;
  }

  char(c: number): void {
    if (this.pos === this.buf.length) this.cut();
    this.buf[this.pos++] = c;
  }

  /** As prom-client prints a value: `${v}`, with NaN as `Nan` and infinities as `+Inf` / `-Inf`. */
  number(v: number): void {
    if (this.pos + 32 > this.buf.length) this.cut();
    if (v >= 0 && v < 1e15 && Number.isInteger(v)) {
      // Whole numbers (every count and bucket) without a string: digits written back to front.
      let len = 1;
      for (let t = v; t >= 10; t = Math.floor(t / 10)) len++;
      let p = this.pos + len;
      let n = v;
      do {
        this.buf[--p] = 48 + (n % 10);
        n = Math.floor(n / 10);
      } while (n > 0);
      this.pos += len;
      return;
    }
    // JSON.stringify prints a finite number exactly as String() does, but not through V8's number-to-string
    // cache: every string in that cache outlives a minor GC, so a page with thousands of sums promoted
    // ≈0.2 MiB a second of dead strings into the old generation (sampled at 2000 connections, 1 Hz scrape).
    const s = Number.isNaN(v) ? "Nan" : v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : JSON.stringify(v);
    this.pos += this.buf.write(s, this.pos, "latin1");
  }

  /** Bytes waiting to be handed over. */
  get pending(): number {
    let n = this.pos;
    for (const len of this.readyLen) n += len;
    return n;
  }

  private cut(): void {
    if (this.pos > 0) {
      this.ready.push(this.buf);
      this.readyLen.push(this.pos);
      this.buf = spare.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
    }
    this.pos = 0;
  }

  /** Hands every finished chunk (and the partial one) to the sink, and keeps each for reuse once it is done. */
  async drain(sink: ChunkSink): Promise<void> {
    this.cut();
    while (this.ready.length > 0) {
      const chunk = this.ready.shift()!;
      const p = sink(chunk.subarray(0, this.readyLen.shift()!));
      if (p) await p;
      if (chunk.length === CHUNK_BYTES && spare.length < MAX_SPARE) spare.push(chunk);
    }
  }

  /** Gives the (empty) current chunk back for reuse. */
  release(): void {
    if (this.pos === 0 && spare.length < MAX_SPARE) spare.push(this.buf);
  }
}

/**
 * Writes `registry`'s text exposition to `sink`, identical to `registry.metrics()`. Fast families (series.ts) are
 * rendered from their slots in slices of a few milliseconds, yielding to the event loop in between; every other metric
 * is prom-client's own text, resolved first (so a failing collect() rejects before any byte is written).
 * `aborted` stops the rendering early (the client went away).
 */
export async function writeExposition(registry: Registry, sink: ChunkSink, aborted: () => boolean = () => false): Promise<void> {
  const metrics = registry.getMetricsAsArray();
  const texts = await Promise.all(metrics.map((m) => (m instanceof FastFamily ? undefined : registry.getSingleMetricAsString(m.name))));
  const defaults = defaultLabelsOf(registry);
  const w = new ChunkWriter();
  let sliceStart = performance.now();
  const maybeYield = async () => {
    if (performance.now() - sliceStart < SLICE_MS && w.pending < MAX_PENDING) return;
    await w.drain(sink);
    await yieldToLoop();
    sliceStart = performance.now();
  };
  for (let i = 0; i < metrics.length; i++) {
    if (aborted()) return;
    if (i > 0) w.bytes(SEPARATOR);
    const m = metrics[i]!;
    const text = texts[i];
    if (text !== undefined) {
      w.bytes(Buffer.from(text));
      continue;
    }
    const f = m as unknown as FastFamily;
    w.bytes(f.header);
    const n = f.series.length;
    for (let from = 0; from < n; from += SERIES_PER_CHECK) {
      f.renderSeries(w, from, Math.min(n, from + SERIES_PER_CHECK), defaults);
      await maybeYield();
      if (aborted()) return;
    }
  }
  w.char(0x0a);
  await w.drain(sink);
  w.release();
}

const SEPARATOR = Buffer.from("\n\n");

/** The whole page as one string (tests, and callers that want prom-client's `metrics()` through the fast path). */
export async function renderExposition(registry: Registry): Promise<string> {
  const parts: Buffer[] = [];
  await writeExposition(registry, (c) => void parts.push(Buffer.from(c)));
  return Buffer.concat(parts).toString("utf8");
}

/** True when the fast renderer can answer for this registry (prom-client's text format; OpenMetrics goes the slow way). */
export function fastExpositionFor(registry: Registry): boolean {
  return registry.contentType === Registry.PROMETHEUS_CONTENT_TYPE;
}
