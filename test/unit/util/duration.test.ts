import { describe, expect, it } from "vitest";
import { formatGoDuration, parseDuration } from "../../../src/util/duration.ts";

describe("parseDuration", () => {
  it.each([
    ["0", 0],
    ["300ms", 300],
    ["5s", 5000],
    ["1m30s", 90_000],
    ["2h", 7_200_000],
    ["1.5s", 1500],
    ["1h2m3.5s", 3_723_500],
    ["250us", 0.25],
    ["-5s", -5000],
  ])("reads %s as %d ms", (input, ms) => {
    expect(parseDuration(input)).toBeCloseTo(ms, 9);
  });

  it.each(["", "5", "5 s", "1x", "s", "1m-3s", "--1s"])("rejects %j", (input) => {
    expect(() => parseDuration(input)).toThrow(/invalid duration/);
  });
});

describe("formatGoDuration", () => {
  it.each([
    [0, "0s"],
    [0.0005, "500ns"],
    [0.0015, "1.5µs"],
    [300, "300ms"],
    [1.234567, "1.234567ms"],
    [1500, "1.5s"],
    [60_000, "1m0s"],
    [90_000, "1m30s"],
    [3_600_000, "1h0m0s"],
    [2 * 3_600_000 + 3 * 60_000 + 4000.000005, "2h3m4.000000005s"],
    [63_200, "1m3.2s"],
    [-1500, "-1.5s"],
  ])("prints %d ms as %s", (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
  });

  it("round-trips through parseDuration", () => {
    for (const ms of [1, 999, 1000, 61_001, 3_723_500]) expect(parseDuration(formatGoDuration(ms))).toBeCloseTo(ms, 6);
  });
});
