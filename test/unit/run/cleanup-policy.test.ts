import { describe, expect, it } from "vitest";
import { CLEANUP_STRATEGIES } from "../../../src/run/settings.ts";
import { shouldCleanup } from "../../../src/run/cleanup-policy.ts";

describe("cleanup strategy matrix", () => {
  it.each([
    ["always", { on_success: true, on_error: true, on_stop: false, terminate: true }],
    ["on_success", { on_success: true, on_error: false, on_stop: false, terminate: false }],
    ["on_error", { on_success: false, on_error: true, on_stop: false, terminate: true }],
    ["on_stop", { on_success: false, on_error: false, on_stop: true, terminate: true }],
  ] as const)("%s", (strategy, want) => {
    expect(shouldCleanup(strategy, "on_success")).toBe(want.on_success);
    expect(shouldCleanup(strategy, "on_error")).toBe(want.on_error);
    expect(shouldCleanup(strategy, "on_stop")).toBe(want.on_stop);
    expect(shouldCleanup(strategy, "terminated")).toBe(want.terminate);
  });

  it("always cleans on manual and follows the prepare switch", () => {
    for (const s of CLEANUP_STRATEGIES) {
      expect(shouldCleanup(s, "manual")).toBe(true);
      expect(shouldCleanup(s, "prepare", true)).toBe(true);
      expect(shouldCleanup(s, "prepare", false)).toBe(false);
    }
  });
});
