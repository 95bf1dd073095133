import { describe, expect, it } from "vitest";
import { parseTargetRange, percentageSlice, selectTargetWorkspaces } from "../../../src/scenarios/targets.ts";

describe("target ranges", () => {
  it("uses upstream's exact error messages", () => {
    expect(() => parseTargetRange("1-2", "workspaces")).toThrow('invalid target workspaces "1-2"');
    expect(() => parseTargetRange("3:3", "workspaces")).toThrow('invalid target workspaces "3:3": start and end cannot be equal');
    expect(() => parseTargetRange("5:2", "workspaces")).toThrow('invalid target workspaces "5:2": end cannot be less than start');
    expect(parseTargetRange("", "workspaces")).toEqual({ start: 0, end: 0 });
    // Upstream reads a negative START as 0; here it is bad input.
    expect(() => parseTargetRange("-3:0", "workspaces")).toThrow('invalid target workspaces "-3:0": start must be 0 or more (START:END with 0 <= START < END)');
  });

  it("selects START <= i < END and keeps the list index as the job ID", () => {
    const list = ["a", "b", "c", "d", "e"];
    expect(selectTargetWorkspaces(list, parseTargetRange("1:3", "workspaces"))).toEqual([
      { index: 1, item: "b" },
      { index: 2, item: "c" },
    ]);
    expect(selectTargetWorkspaces(list, parseTargetRange("", "workspaces")).length).toBe(5);
  });

  it("fails on an empty list and on an END past the list", () => {
    expect(() => selectTargetWorkspaces([], { start: 0, end: 0 })).toThrow("no scaletest workspaces exist");
    expect(() => selectTargetWorkspaces([1, 2], { start: 0, end: 3 })).toThrow("target workspace end 3 is greater than the number of workspaces 2");
  });

  it("turns a percentage into a slice that wraps to 0 past the end", () => {
    expect(percentageSlice(10, 30)).toEqual({ start: 0, end: 3, target: "0:3" });
    expect(percentageSlice(10, 50, 3)).toEqual({ start: 3, end: 8, target: "3:8" });
    expect(percentageSlice(10, 50, 8)).toEqual({ start: 0, end: 5, target: "0:5" });
    expect(percentageSlice(7, 33)).toEqual({ start: 0, end: 2, target: "0:2" });
    expect(() => percentageSlice(10, 101)).toThrow(/between 0 and 100/);
  });
});
