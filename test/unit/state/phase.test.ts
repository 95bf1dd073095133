import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  currentPhase,
  endPhase,
  NO_PHASE,
  PhaseMismatchError,
  phasePath,
  previousPhase,
  readPhaseEvents,
  startPhase,
} from "../../../src/state/phase.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "phase-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("phase file", () => {
  it("says None before any phase", () => {
    expect(currentPhase(readPhaseEvents(dir))).toBe(NO_PHASE);
    expect(previousPhase(readPhaseEvents(dir))).toBe(NO_PHASE);
  });

  it("writes START/END lines with numbers derived from the file", () => {
    const now = () => Date.UTC(2024, 0, 1);
    expect(startPhase(dir, "Creating workspaces", { now })).toBe(1);
    expect(endPhase(dir, "Creating workspaces", { now })).toBe(1);
    expect(startPhase(dir, "Waiting 5m to establish baseline", { now })).toBe(2);
    const text = readFileSync(phasePath(dir), "utf8");
    expect(text).toBe(
      "2024-01-01T00:00:00.000Z START:1: Creating workspaces\n" +
        "2024-01-01T00:00:00.000Z END:1: Creating workspaces\n" +
        "2024-01-01T00:00:00.000Z START:2: Waiting 5m to establish baseline\n",
    );
  });

  it("reports the current phase with [done] once ended, and the previous one", () => {
    startPhase(dir, "A");
    expect(currentPhase(readPhaseEvents(dir))).toBe("A");
    expect(previousPhase(readPhaseEvents(dir))).toBe(NO_PHASE);
    endPhase(dir, "A");
    expect(currentPhase(readPhaseEvents(dir))).toBe("A [done]");
    startPhase(dir, "B");
    expect(currentPhase(readPhaseEvents(dir))).toBe("B");
    expect(previousPhase(readPhaseEvents(dir))).toBe("A");
  });

  it("refuses to end a phase that is not the last START", () => {
    expect(() => endPhase(dir, "A")).toThrow(PhaseMismatchError);
    startPhase(dir, "A");
    expect(() => endPhase(dir, "B")).toThrow(/BUG: cannot end phase "B": the last phase line is START:1: A/);
    endPhase(dir, "A");
    expect(() => endPhase(dir, "A")).toThrow(/END:1: A/);
  });

  it("shares numbering between writers of the same file", () => {
    startPhase(dir, "Load scenario: SSH Traffic");
    endPhase(dir, "Load scenario: SSH Traffic");
    // Another process (the shutdown script) continues the count from the file.
    expect(startPhase(dir, "Cleanup (on_stop)")).toBe(2);
    expect(readPhaseEvents(dir).map((e) => `${e.kind}:${e.n}`)).toEqual(["START:1", "END:1", "START:2"]);
  });
});
