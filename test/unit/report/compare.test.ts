import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTolerance } from "../../../src/cli/compare.ts";
import { compareRuns, renderComparison } from "../../../src/report/compare.ts";
import { loadRun } from "../../../src/report/run-data.ts";
import type { RunSummary } from "../../../src/report/summary.ts";
import { writeRunFixture } from "../../helpers/run-fixture.ts";

describe("compareRuns", () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "compare-"));
    await writeRunFixture(join(dir, "a"), { runId: "a" });
    await writeRunFixture(join(dir, "b"), { runId: "b", slow: 1.5 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("flags latencies worse beyond the tolerance and the noise floor, and nothing else", () => {
    const c = compareRuns(loadRun(join(dir, "a")), loadRun(join(dir, "b")), { tolerance: 0.2 });
    expect(c.rows.filter((r) => r.regressed).map((r) => r.key)).toEqual([
      "build.p50",
      "build.p95",
      "build.p99",
      "dashboard.action.p50",
      "dashboard.action.p95",
      "dashboard.action.p99",
    ]);
    // 6 ms → 9 ms is +50 %, but 3 ms is below the 10 ms floor.
    const p50 = c.rows.find((r) => r.key === "ssh.round_trip.p50")!;
    expect([p50.a, p50.b, p50.regressed, p50.note]).toEqual([6, 9, false, "within the noise floor (10.0ms)"]);
    // The observed value of a threshold the run evaluated is compared too (here the same client figure).
    expect(c.rows.filter((r) => r.key === "ssh.round_trip.p95")).toHaveLength(1);
    const text = renderComparison(c);
    expect(text).toMatch(/ {2}build\.p50 +11\.00s +16\.50s +\+50\.0% {2}REGRESSED/);
    expect(text).toMatch(/B regressed on 6 metrics \(tolerance 20%\)/);
    expect(compareRuns(loadRun(join(dir, "a")), loadRun(join(dir, "b")), { tolerance: 0.6 }).regressed).toBe(false);
  });

  it("never flags round trips from too few samples, and says so", () => {
    const path = join(dir, "b", "results", "summary.json");
    const s = JSON.parse(readFileSync(path, "utf8")) as RunSummary;
    const ssh = s.phases[2]!.scenarios[0]!;
    ssh.roundTrip = { samples: 40, p50: 60, p95: 130, p99: 140 };
    writeFileSync(path, JSON.stringify(s));
    const c = compareRuns(loadRun(join(dir, "a")), loadRun(path), { tolerance: 0.2 });
    const p95 = c.rows.find((r) => r.key === "ssh.round_trip.p95")!;
    expect([p95.regressed, p95.note]).toEqual([false, "too few samples (40) to flag"]);
    expect(c.rows.find((r) => r.key === "round_trip.p95")!.regressed).toBe(false);
  });
});

describe("parseTolerance", () => {
  it.each([
    ["10%", 0.1],
    ["10", 0.1],
    ["0.25", 0.25],
    ["150%", 1.5],
    ["lots", NaN],
    ["-5%", NaN],
  ])("%s", (raw, want) => {
    expect(parseTolerance(raw)).toBe(want);
  });
});
