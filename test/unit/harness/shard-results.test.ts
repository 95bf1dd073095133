import { describe, expect, it } from "vitest";
import { encodeResultsJson, type Results, type RunResult } from "../../../src/harness/results.ts";
import { formatShardResultsLine, mergeShardResults, parseShardResultsLog } from "../../../src/harness/shard-results.ts";

const run = (id: string, error = "<nil>"): RunResult => ({
  full_id: `workspacetraffic/${id}`, test_name: "workspacetraffic", id, logs: "line <1>\n", started_at: "2026-12-07T07:00:00.000000001Z",
  duration: "1.5s", duration_ms: 1500, error,
});
const results = (elapsedMs: number, ...runs: RunResult[]): Results => ({
  total_runs: runs.length,
  total_pass: runs.filter((r) => r.error === "<nil>").length,
  total_fail: runs.filter((r) => r.error !== "<nil>").length,
  elapsed: `${elapsedMs / 1000}s`,
  elapsed_ms: elapsedMs,
  runs: Object.fromEntries(runs.map((r) => [r.full_id, r])),
});

describe("shard results", () => {
  it("round-trips through a pod log that holds other lines, and takes a retried pod's last line", () => {
    const first = results(900, run("0", "dial: refused"));
    const second = results(1200, run("0"), run("3"));
    const log = [
      "2026-12-07 07:00:00 starting shard 1/3",
      formatShardResultsLine(1, 3, first),
      "restarted",
      formatShardResultsLine(1, 3, second),
      "",
    ].join("\n");
    const parsed = parseShardResultsLog(log);
    expect(parsed).toEqual({ index: 1, count: 3, results: second });
    // The JSON on the line is byte for byte the results file's.
    expect(log).toContain(encodeResultsJson(second).trimEnd());
  });

  it("finds no results in a log without the line, or with it only inside another line", () => {
    expect(parseShardResultsLog("started\nkilled\n")).toBeUndefined();
    expect(parseShardResultsLog("echo scaletest-shard-results 0/1 {}")).toBeUndefined();
  });

  it("merges shards: the union of runs, summed counts, the slowest shard's elapsed", () => {
    const merged = mergeShardResults([results(1200, run("0"), run("3")), results(2500, run("1", "echo corrupted")), results(800, run("2"))]);
    expect(merged.total_runs).toBe(4);
    expect(merged.total_pass).toBe(3);
    expect(merged.total_fail).toBe(1);
    expect(merged.elapsed_ms).toBe(2500);
    expect(merged.elapsed).toBe("2.5s");
    expect(Object.keys(merged.runs).sort()).toEqual(["workspacetraffic/0", "workspacetraffic/1", "workspacetraffic/2", "workspacetraffic/3"]);
    expect(merged.runs["workspacetraffic/1"]!.error).toBe("echo corrupted");
  });

  it("refuses shards that drove the same target", () => {
    expect(() => mergeShardResults([results(1, run("5")), results(1, run("5"))])).toThrow(/run workspacetraffic\/5 appears in two shards/);
  });
});
