// A fixed-size log-linear latency histogram for in-process percentiles (no allocation per sample).

const SUB = 16; // sub-buckets per power of two: about 6% precision
const SIZE = SUB + 28 * SUB; // up to 2^32 microseconds (~71 minutes)

/** Records durations (milliseconds, stored as whole microseconds) and answers percentiles. */
export class LatencyRecorder {
  private readonly counts = new Uint32Array(SIZE);
  /** Number of samples recorded. */
  count = 0;
  /** Largest sample (milliseconds). */
  max = 0;
  /** Sum of samples (milliseconds). */
  sum = 0;

  /** Adds one sample in milliseconds (negative values count as 0). */
  record(ms: number): void {
    const v = ms > 0 ? ms : 0;
    this.counts[indexOf(Math.min(0xffffffff, Math.round(v * 1000)))]!++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** The `p`-th percentile (0..100) in milliseconds, or 0 with no samples. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < SIZE; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, upperOf(i) / 1000);
    }
    return this.max;
  }

  /** Adds another recorder's samples to this one. */
  merge(other: LatencyRecorder): void {
    for (let i = 0; i < SIZE; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  /** Forgets every sample. */
  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }
}

function indexOf(us: number): number {
  if (us < SUB) return us;
  const e = 31 - Math.clz32(us); // position of the leading bit, >= 4
  const mant = Math.floor(us / 2 ** (e - 4)) & (SUB - 1);
  return Math.min(SIZE - 1, SUB + (e - 4) * SUB + mant);
}

// Upper bound (exclusive) of bucket `i`, in microseconds.
function upperOf(i: number): number {
  if (i < SUB) return i + 1;
  const e = 4 + Math.floor((i - SUB) / SUB);
  const mant = (i - SUB) % SUB;
  return (SUB + mant + 1) * 2 ** (e - 4);
}
