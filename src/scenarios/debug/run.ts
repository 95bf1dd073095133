// What the debug rows do when they run: one harness job that waits and then passes or fails; or greedy traffic alone.
import { Harness } from "../../harness/harness.ts";
import { phaseOutcome, writeResultsJson } from "../../harness/results.ts";
import { linear } from "../../harness/strategies.ts";
import { sleep } from "../../util/abort.ts";
import type { ScenarioContext, ScenarioOutcome } from "../context.ts";

/** debug:success / debug:error: one job that waits the scenario's duration, then passes or fails on purpose. */
export async function runDebugJob(ctx: ScenarioContext, pass: boolean): Promise<ScenarioOutcome> {
  const harness = new Harness({ strategy: linear });
  harness.addRun(ctx.name, "0", {
    run: async (signal, _id, log) => {
      log.line(`waiting ${ctx.load.durationMs}ms`);
      await sleep(ctx.load.durationMs, signal);
      if (!pass) throw new Error(`${ctx.name}: failed on purpose`);
      log.line("done");
    },
  });
  await harness.run(ctx.signal);
  const results = harness.results();
  writeResultsJson(ctx.resultsPath, results);
  const outcome = phaseOutcome(harness.outcomes());
  return { outcome, results, error: outcome === "passed" ? undefined : `${results.total_fail} of ${results.total_runs} jobs did not pass` };
}

/** debug:greedy_agent_traffic: the greedy workspace's bulk web-terminal traffic, alone, for the scenario's duration. */
export async function runGreedyOnly(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const g = ctx.greedyWorkspace;
  if (!g) return { outcome: "failed", error: `${ctx.name} needs the greedy agent (template parameter "Greedy Agent")` };
  const { runTrafficScenario } = await import("../workspace-traffic/staged.ts");
  return runTrafficScenario(
    {
      ...ctx,
      template: g.template,
      slice: { start: 0, end: 1, count: 1, target: "0:1" },
      greedy: { bytesPerTick: g.bytesPerTick, tickIntervalMs: g.tickIntervalMs, mode: "rpty" },
    },
    "rpty",
    "",
  );
}
