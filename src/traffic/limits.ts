// What the traffic engine accepts per connection: the one home of these ranges (the runner's settings and the CLI flags use them).

/** Bytes one connection writes per tick: at least 1, at most 32 MiB (one PTY frame carries at most 1024 data bytes per object; the engine splits). */
export const BYTES_PER_TICK = { min: 1, max: 32 * 1024 * 1024, default: 1024 } as const;

/** Milliseconds between two ticks of one connection: 1 ms to 1 min. */
export const TICK_INTERVAL_MS = { min: 1, max: 60_000, default: 100 } as const;

/** Connections one traffic phase opens at once (`--dial-concurrency`; 0 = no limit, every job dials at once as upstream). */
export const DIAL_CONCURRENCY = { min: 0, max: 100_000, default: 200 } as const;
