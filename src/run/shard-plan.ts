// The sharded plan: a scenario's load per shard pod when "Runner shards" > 1, and the refusal of a per-shard load one
// runner process does not sustain (by the bench figure in traffic/capacity.ts).
import type { ConfigProblem } from "../errors.ts";
import { isScenarioName, SCENARIOS, type ScenarioName } from "../scenarios/index.ts";
import { runnerCapacity } from "../traffic/capacity.ts";
import { formatBytes } from "../util/bytes.ts";
import { scenarioLoad } from "./scenario-values.ts";
import { RUNNER_ENV, type RunnerConfig } from "./settings.ts";
import { planSlices } from "./slices.ts";

/**
 * Worker threads the plan counts per shard pod. The plan does not set a shard's `--workers`, so it counts one
 * thread: the bench row the capacity comes from ran `--workers 1`.
 */
export const PLANNED_WORKERS_PER_SHARD = 1;

/** One shard's share of a scenario: the most any shard gets from an even split, at the scenario's per-connection rate. */
export interface ShardShare {
  shards: number;
  connections: number;
  /** Undefined for scenarios that are not byte streams (dashboard). */
  bytesPerSecond?: number;
}

/** The share of `connections` (writing `bytesPerSecond` in all) that one of `shards` pods carries. */
export function shardShare(connections: number, bytesPerSecond: number | undefined, shards: number): ShardShare {
  const per = Math.ceil(connections / shards);
  return { shards, connections: per, bytesPerSecond: bytesPerSecond === undefined || connections === 0 ? bytesPerSecond : (bytesPerSecond / connections) * per };
}

const rate = (bps: number) => `${formatBytes(Math.round(bps))}/s`;

/**
 * With Runner shards > 1, every byte-stream scenario whose share per shard is more than one runner process
 * sustains, naming Runner shards, the scenario, its share, the limit and the shard count that would fit.
 * Browser sessions (Dashboard Traffic) are not byte streams: the bench figure says nothing about them.
 */
export function shardLoadProblems(cfg: RunnerConfig, workers = PLANNED_WORKERS_PER_SHARD): ConfigProblem[] {
  const shards = cfg.runnerShards;
  const setting = RUNNER_ENV.runnerShards;
  if (!Number.isInteger(shards) || shards <= 1 || shards > setting.max) return [];
  if (!Array.isArray(cfg.loadScenarios) || !Number.isInteger(cfg.numWorkspaces) || cfg.numWorkspaces < 1) return [];
  const known = cfg.loadScenarios.filter(isScenarioName);
  const cap = runnerCapacity(workers);
  const problems: ConfigProblem[] = [];
  for (const slice of planSlices({ ...cfg, loadScenarios: known })) {
    const name: ScenarioName = slice.scenario;
    const row = SCENARIOS[name];
    if (row.targets !== "workspaces") continue;
    const est = row.estimate(scenarioLoad(cfg, name), slice.count);
    if (est.bytesPerSecond === undefined || est.connections === 0) continue;
    const share = shardShare(est.connections, est.bytesPerSecond, shards);
    if (share.connections <= cap.connections && share.bytesPerSecond! <= cap.bytesPerSecond) continue;
    const perConnection = est.bytesPerSecond / est.connections;
    const fitPerShard = Math.min(cap.connections, Math.floor(cap.bytesPerSecond / perConnection));
    const limit = `one runner process sustains ${cap.connections} connections and ${rate(cap.bytesPerSecond)} (npm run bench, ${workers} worker thread${workers === 1 ? "" : "s"})`;
    const what = `${shards} shards leave "${name}" ${share.connections} connections and ${rate(share.bytesPerSecond!)} written per shard; ${limit}`;
    let fix: string;
    if (fitPerShard < 1) fix = `one connection alone writes ${rate(perConnection)}: lower the scenario's bytes per tick or raise its tick interval`;
    else {
      const needed = Math.ceil(est.connections / fitPerShard);
      fix = needed <= setting.max ? `use at least ${needed}` : `it needs ${needed}, more than the ${setting.max} allowed: lower the scenario's percentage or its bytes per tick`;
    }
    problems.push({ path: setting.env, message: `${what}; ${fix} (template parameter "${setting.parameter!.name}")` });
  }
  return problems;
}
