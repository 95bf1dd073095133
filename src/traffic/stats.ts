// A fixed-size log-linear latency histogram for in-process percentiles (no allocation per sample).

/** Records durations (milliseconds, stored as whole microseconds) and answers percentiles. */
export class LatencyRecorder {
  private readonly counts: Uint32Array;
  /** Sub-buckets per power of two. */
  private readonly sub: number;
  private readonly bits: number;
  /** Number of samples recorded. */
  count = 0;
  /** Largest sample (milliseconds). */
  max = 0;
  /** Sum of samples (milliseconds). */
  sum = 0;

  /**
   * @param bits log2 of the sub-buckets per power of two: 4 (the default) is about 6% precision in 1.9 KiB;
   *   3 is about 12% in 0.9 KiB, enough for a per-connection log line when thousands are kept.
   */
  constructor(bits = 4) {
    this.bits = bits;
    this.sub = 1 << bits;
    // Up to 2^32 microseconds (~71 minutes).
    this.counts = new Uint32Array(this.sub + (32 - bits) * this.sub);
  }

  /** Adds one sample in milliseconds (negative values count as 0). */
  record(ms: number): void {
    const v = ms > 0 ? ms : 0;
    this.counts[this.indexOf(Math.min(0xffffffff, Math.round(v * 1000)))]!++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** The `p`-th percentile (0..100) in milliseconds, or 0 with no samples. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, this.upperOf(i) / 1000);
    }
    return this.max;
  }

  /** Adds another recorder's samples to this one (of the same precision). */
  merge(other: LatencyRecorder): void {
    if (other.bits !== this.bits) throw new RangeError(`cannot merge a ${other.bits}-bit recorder into a ${this.bits}-bit one`);
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
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

  // `us` is a whole number below 2^32, so shifts (as unsigned 32-bit) do what division by powers of two would.
  private indexOf(us: number): number {
    const sub = this.sub;
    if (us < sub) return us;
    const shift = 31 - Math.clz32(us) - this.bits; // leading bit position minus the sub-bucket bits, >= 0
    return Math.min(this.counts.length - 1, sub + shift * sub + ((us >>> shift) & (sub - 1)));
  }

  // Upper bound (exclusive) of bucket `i`, in microseconds.
  private upperOf(i: number): number {
    const sub = this.sub;
    if (i < sub) return i + 1;
    const e = this.bits + Math.floor((i - sub) / sub);
    const mant = (i - sub) % sub;
    return (sub + mant + 1) * 2 ** (e - this.bits);
  }
}
