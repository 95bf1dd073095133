import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  failedStatus,
  isFinalStatus,
  lockStatus,
  NOT_STARTED,
  readStatus,
  readStatusHistory,
  StatusLockedError,
  statusPath,
  writeStatus,
} from "../../../src/state/status.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "status-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("status file", () => {
  it("reads Not started before anything is written", () => {
    expect(readStatus(join(dir, "state"))).toBe(NOT_STARTED);
    expect(readStatusHistory(join(dir, "state"))).toEqual([]);
  });

  it("appends timestamped lines and reads the last status without its timestamp", () => {
    const state = join(dir, "state");
    writeStatus(state, "Preparing", { now: () => Date.UTC(2024, 8, 18, 11, 47, 53) });
    writeStatus(state, "Running");
    expect(readStatus(state)).toBe("Running");
    const lines = readFileSync(statusPath(state), "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe("2024-09-18T11:47:53.000Z Preparing");
    expect(readStatusHistory(state)).toEqual(["Preparing", "Running"]);
  });

  it("marks dry-run statuses", () => {
    writeStatus(dir, "Complete", { dryRun: true });
    expect(readStatus(dir)).toBe("Complete (dry-run)");
  });

  it("refuses to overwrite a failure once locked, even for root", () => {
    writeStatus(dir, "Running");
    writeStatus(dir, failedStatus(1));
    lockStatus(dir);
    expect(() => writeStatus(dir, "Complete")).toThrow(StatusLockedError);
    expect(readStatus(dir)).toBe("Failed (exit=1)");
  });

  it("knows which statuses end a run", () => {
    expect(isFinalStatus("Complete")).toBe(true);
    expect(isFinalStatus("Failed (exit=143)")).toBe(true);
    expect(isFinalStatus("Running")).toBe(false);
    expect(isFinalStatus(NOT_STARTED)).toBe(false);
  });
});
