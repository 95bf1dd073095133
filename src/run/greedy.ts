// The greedy agent: one workspace from the greedy template that gets bulk traffic for a third of each traffic scenario.
import type { ScenarioName } from "../scenarios/index.ts";

/** Upstream's greedy traffic: 25 MiB per tick every 40 ms (about 625 MiB/s). */
export const GREEDY_TRAFFIC = { bytesPerTick: 25 * 1024 * 1024, tickIntervalMs: 40 } as const;

/** Greedy traffic settings (overridable so the simulator demo does not push 625 MiB/s through a laptop). */
export interface GreedyTraffic {
  bytesPerTick: number;
  tickIntervalMs: number;
}

/** When greedy traffic runs inside a scenario of `durationMs`: it waits a third, then runs for a third (as upstream). */
export function greedyWindow(durationMs: number): { offsetMs: number; durationMs: number } {
  const third = Math.floor(durationMs / 3);
  return { offsetMs: third, durationMs: third };
}

/** Upstream drives the greedy workspace over SSH during SSH Traffic and over the web terminal otherwise. */
export function greedyMode(scenario: ScenarioName): "ssh" | "rpty" {
  return scenario === "SSH Traffic" ? "ssh" : "rpty";
}

/** Bytes per second the greedy traffic writes. */
export function greedyBytesPerSecond(t: GreedyTraffic): number {
  return (t.bytesPerTick * 1000) / t.tickIntervalMs;
}
