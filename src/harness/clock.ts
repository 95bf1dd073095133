// Wall-clock time with nanosecond resolution and Go's RFC 3339 (nano) rendering, for results parity.

// Anchor the monotonic clock to the wall clock once, so timestamps carry sub-millisecond digits as Go's do.
const wallAnchorNs = BigInt(Date.now()) * 1_000_000n;
const hrAnchorNs = process.hrtime.bigint();

/** Nanoseconds since the Unix epoch (wall clock at process start plus the monotonic time since). */
export function nowNs(): bigint {
  return wallAnchorNs + (process.hrtime.bigint() - hrAnchorNs);
}

/** Monotonic nanoseconds, for durations. */
export function monoNs(): bigint {
  return process.hrtime.bigint();
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/**
 * Formats epoch nanoseconds like Go's time.RFC3339Nano in the given zone: fraction with trailing zeros
 * trimmed (none when zero), `Z` for UTC, else `+hh:mm`. `offsetMinutes` defaults to the local zone at that instant.
 */
export function formatRfc3339Nano(epochNs: bigint, offsetMinutes?: number): string {
  const ms = Number(epochNs / 1_000_000n);
  const offset = offsetMinutes ?? -new Date(ms).getTimezoneOffset();
  const local = new Date(ms + offset * 60_000);
  const fracNs = ((epochNs % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const frac = fracNs === 0n ? "" : "." + fracNs.toString().padStart(9, "0").replace(/0+$/, "");
  const zone =
    offset === 0 ? "Z" : `${offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return (
    `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${frac}${zone}`
  );
}
