import { describe, expect, it } from "vitest";
import { RUNNER_ENV } from "../../../src/run/settings.ts";
import { defaultWorkspaceTrafficConfig, validateWorkspaceTrafficConfig, type WorkspaceTrafficConfig } from "../../../src/scenarios/workspace-traffic/config.ts";

const problems = (o: Partial<WorkspaceTrafficConfig>) => validateWorkspaceTrafficConfig({ ...defaultWorkspaceTrafficConfig, ...o });

describe("validateWorkspaceTrafficConfig: traffic ranges", () => {
  it("accepts the ends of the runner's traffic ranges", () => {
    const bytes = RUNNER_ENV.webTerminalBytesPerTick;
    const tick = RUNNER_ENV.webTerminalTickInterval;
    expect(problems({ bytesPerTick: bytes.min, tickIntervalMs: tick.minMs })).toEqual([]);
    expect(problems({ bytesPerTick: bytes.max, tickIntervalMs: tick.maxMs })).toEqual([]);
  });

  it("names --bytes-per-tick and its range for a size the payload could not hold", () => {
    expect(problems({ bytesPerTick: 99_999_999_999 })).toEqual([
      { path: "--bytes-per-tick", message: "must be an integer from 1 to 33554432, got 99999999999" },
    ]);
    expect(problems({ bytesPerTick: 33_554_433 })[0]?.path).toBe("--bytes-per-tick");
    expect(problems({ bytesPerTick: 0 })[0]?.message).toMatch(/from 1 to 33554432, got 0$/);
    expect(problems({ bytesPerTick: 1.5 })[0]?.path).toBe("--bytes-per-tick");
  });

  it("names --tick-interval and its range below 1 ms and above 1 min", () => {
    expect(problems({ tickIntervalMs: 1e-6 })).toEqual([{ path: "--tick-interval", message: "must be a duration from 1ms to 1m0s, got 1ns" }]);
    expect(problems({ tickIntervalMs: 60_001 })).toEqual([{ path: "--tick-interval", message: "must be a duration from 1ms to 1m0s, got 1m0.001s" }]);
    expect(problems({ tickIntervalMs: Number.NaN })[0]?.path).toBe("--tick-interval");
  });

  it("uses the same ranges as every traffic row of the runner config", () => {
    for (const k of ["ssh", "webTerminal", "app"] as const) {
      expect([RUNNER_ENV[`${k}BytesPerTick`].min, RUNNER_ENV[`${k}BytesPerTick`].max]).toEqual([1, 32 * 1024 * 1024]);
      expect([RUNNER_ENV[`${k}TickInterval`].minMs, RUNNER_ENV[`${k}TickInterval`].maxMs]).toEqual([1, 60_000]);
    }
  });
});
