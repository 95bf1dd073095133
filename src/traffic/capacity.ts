// What one runner process sustains, by the project's own benchmark: the one place the sharded plan's limit comes from.

/**
 * Connections one worker thread drives. From `npm run bench` on the 2-core development machine (quiet, compiled
 * CLI, 1 Hz scrape, per-workspace labels), row "1000 connections × 1 KiB / 100 ms, ours, --workers 1": 99.5 % of
 * the target bytes sent and every echo verified; at 2000 connections it fell to 81 % (the target took the other core).
 */
export const CONNECTIONS_PER_WORKER = 1000;

/** Bytes per second one worker thread writes, the same bench row: 1000 connections × 1024 B × 10 ticks/s. */
export const BYTES_PER_SECOND_PER_WORKER = 10_240_000;

/** What one runner process with `workers` traffic threads sustains (the bench figure times the threads). */
export function runnerCapacity(workers = 1): { connections: number; bytesPerSecond: number } {
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}`);
  return { connections: CONNECTIONS_PER_WORKER * workers, bytesPerSecond: BYTES_PER_SECOND_PER_WORKER * workers };
}
