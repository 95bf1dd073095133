// The greedy agent: one workspace from the greedy template that gets bulk traffic for a third of each traffic scenario.
import type { ScenarioName } from "../scenarios/index.ts";

import type { RunnerConfig } from "./settings.ts";

/** Greedy traffic settings (the settings table's; a run against the simulator lowers them so a laptop is not flooded). */
export interface GreedyTraffic {
  bytesPerTick: number;
  tickIntervalMs: number;
}

/** The run's greedy traffic rate. */
export function greedyTraffic(cfg: Pick<RunnerConfig, "greedyBytesPerTick" | "greedyTickInterval">): GreedyTraffic {
  return { bytesPerTick: cfg.greedyBytesPerTick, tickIntervalMs: cfg.greedyTickInterval };
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
