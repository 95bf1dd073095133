// How a shard pod hands its results to the coordinator: one line in its log (no shared volume needed), and the
// merge of N shards' results into the one upstream-shaped results of the phase.
import { formatGoDuration } from "../util/duration.ts";
import { encodeResultsJson, type Results } from "./results.ts";

/** Starts the one line a shard writes to stdout with its results; the JSON follows on the same line. */
export const SHARD_RESULTS_PREFIX = "scaletest-shard-results";

/** The shard's results line: `scaletest-shard-results <index>/<count> <compact results JSON>`. */
export function formatShardResultsLine(index: number, count: number, results: Results): string {
  return `${SHARD_RESULTS_PREFIX} ${index}/${count} ${encodeResultsJson(results)}`;
}

/**
 * The last line of a shard's log that starts with `prefix` (a retried pod's earlier attempt may have written one
 * too; the prefix inside another line does not count): its index, count and JSON text, "malformed" when the line is
 * there but cut off or garbled, or undefined when there is none.
 */
export function lastShardLine(log: string, prefix: string): { index: number; count: number; json: string } | "malformed" | undefined {
  let start = log.lastIndexOf(`${prefix} `);
  while (start > 0 && log[start - 1] !== "\n") start = log.lastIndexOf(`${prefix} `, start - 1);
  if (start < 0) return undefined;
  const end = log.indexOf("\n", start);
  const m = /^\S+ (\d+)\/(\d+) (\{.*\})$/s.exec(log.slice(start, end < 0 ? undefined : end));
  return m ? { index: Number(m[1]), count: Number(m[2]), json: m[3]! } : "malformed";
}

/** The last results line in a shard's log, or undefined (none, or not readable). */
export function parseShardResultsLog(log: string): { index: number; count: number; results: Results } | undefined {
  const line = lastShardLine(log, SHARD_RESULTS_PREFIX);
  if (line === undefined || line === "malformed") return undefined;
  return { index: line.index, count: line.count, results: JSON.parse(line.json) as Results };
}

/**
 * One phase's results from its shards' results: runs are the union (a full ID seen twice means two shards drove
 * the same target, which is an error), counts add up, and the phase took as long as its slowest shard.
 */
export function mergeShardResults(shards: readonly Results[]): Results {
  const runs: Results["runs"] = {};
  let total = 0;
  let pass = 0;
  let fail = 0;
  let elapsedMs = 0;
  let elapsed = formatGoDuration(0);
  for (const r of shards) {
    for (const [id, run] of Object.entries(r.runs)) {
      if (id in runs) throw new Error(`shard results overlap: run ${id} appears in two shards`);
      runs[id] = run;
    }
    total += r.total_runs;
    pass += r.total_pass;
    fail += r.total_fail;
    if (r.elapsed_ms >= elapsedMs) {
      elapsedMs = r.elapsed_ms;
      elapsed = r.elapsed;
    }
  }
  return { total_runs: total, total_pass: pass, total_fail: fail, elapsed, elapsed_ms: elapsedMs, runs };
}
