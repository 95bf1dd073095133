import { describe, expect, it } from "vitest";
import { formatShardTotalsLine, mergeShardTotals, parseShardTotalsLog, type ShardTotals } from "../../../src/harness/shard-totals.ts";

const hist = (counts: number[], sum: number) => ({ counts, sum });
const shard = (written: number, rtt: number[]): ShardTotals => ({
  traffic: { read: written - 1, written, readErrors: 1, writeErrors: 0, readLatency: hist([1, 0], 0.001), writeLatency: hist([1, 0], 0.002), roundTrip: hist(rtt, 0.01) },
  skipped: { backpressure: 2, late: 1 },
  lag: hist([5, 1], 0.003),
  jobs: { workspacetraffic: { ok: hist([3, 0], 4.5), failed: hist([0, 1], 9) } },
});

describe("shard totals line", () => {
  it("round-trips through a pod log with other lines, and takes a retried pod's last line", () => {
    const first = shard(100, [1, 0]);
    const second = shard(2048, [7, 2]);
    const log = ["starting", formatShardTotalsLine(2, 4, first).trimEnd(), "restarted", formatShardTotalsLine(2, 4, second)].join("\n");
    expect(parseShardTotalsLog(log)).toEqual({ index: 2, count: 4, totals: second });
  });

  it("finds none without the line or with it only inside another line; a cut or foreign line is a problem, not a throw", () => {
    expect(parseShardTotalsLog("started\nkilled\n")).toBeUndefined();
    expect(parseShardTotalsLog("echo scaletest-shard-totals 0/1 {}\n")).toBeUndefined();
    // A line inside another one after the real one: the real one still counts.
    const real = formatShardTotalsLine(0, 1, shard(5, [1, 0]));
    expect(parseShardTotalsLog(`${real}x scaletest-shard-totals 0/1 {}\n`)).toMatchObject({ index: 0, totals: { traffic: { written: 5 } } });
    expect(parseShardTotalsLog('scaletest-shard-totals 0/1 {"traffic":{"read":1')).toEqual({ problem: "the totals line is malformed (cut off?)" });
    expect(parseShardTotalsLog("scaletest-shard-totals 0/1 {nope}")).toMatchObject({ problem: expect.stringMatching(/^the totals line's JSON does not parse/) });
    expect(parseShardTotalsLog('scaletest-shard-totals 0/1 {"traffic":{"read":"1"}}')).toEqual({ problem: "the totals line has traffic counters that are not numbers" });
    expect(parseShardTotalsLog('scaletest-shard-totals 0/1 {"dashboard":{"a":{"duration":{"counts":[1]},"errors":0}}}')).toEqual({
      problem: "the totals line has a dashboard action of the wrong shape",
    });
  });

  it("merges shards: counters, buckets, sums, reasons, jobs and actions add up", () => {
    const a = shard(100, [1, 2]);
    const b = { ...shard(50, [3, 4]), dashboard: { "open workspaces": { duration: hist([2, 1], 1.5), errors: 1 } } };
    const m = mergeShardTotals([a, b]);
    expect(m.traffic).toEqual({ read: 148, written: 150, readErrors: 2, writeErrors: 0, readLatency: hist([2, 0], 0.002), writeLatency: hist([2, 0], 0.004), roundTrip: hist([4, 6], 0.02) });
    expect(m.skipped).toEqual({ backpressure: 4, late: 2 });
    expect(m.lag).toEqual(hist([10, 2], 0.006));
    expect(m.jobs).toEqual({ workspacetraffic: { ok: hist([6, 0], 9), failed: hist([0, 2], 18) } });
    expect(m.dashboard).toEqual({ "open workspaces": { duration: hist([2, 1], 1.5), errors: 1 } });
    // The inputs are not changed.
    expect(a.traffic!.roundTrip.counts).toEqual([1, 2]);
    expect(() => mergeShardTotals([a, shard(1, [1, 2, 3])])).toThrow(/histograms with 2 and 3 buckets/);
  });
});
