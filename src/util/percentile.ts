// Nearest-rank percentiles of a small list of numbers (per-workspace build times), exact where a histogram would be bucketed.

/** The nearest-rank `p`-th percentile (0..100) of `values` (need not be sorted); undefined for an empty list. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
