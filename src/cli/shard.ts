// Sharded runs of the traffic commands: --shard-index / --shard-count (or Kubernetes' JOB_COMPLETION_INDEX),
// --start-at, the `shard` label on the command's /metrics, and the results line a shard leaves in its log.
import type { Registry } from "prom-client";
import type { ConfigProblem } from "../errors.ts";
import { formatShardResultsLine } from "../harness/shard-results.ts";
import { formatShardTotalsLine } from "../harness/shard-totals.ts";
import type { Results } from "../harness/results.ts";
import { LABELS } from "../metrics/names.ts";
import { readShardTotals } from "../metrics/shard-totals.ts";
import type { Shard } from "../traffic/shard.ts";
import { formatGoDuration } from "../util/duration.ts";
import { holdUntil, parseRfc3339 } from "../util/start-at.ts";
import type { FlagReader, FlagSpec } from "./flags.ts";

/** Most shards one phase may have (the template's Runner shards goes to 100; the CLI leaves room above it). */
export const MAX_SHARDS = 1000;

/** The env var a Kubernetes Indexed Job sets to each pod's completion index. */
export const JOB_COMPLETION_INDEX = "JOB_COMPLETION_INDEX";

/** How far ahead --start-at may be: further is a mistake (a date typo), not a plan. */
export const MAX_START_AHEAD_MS = 24 * 3600_000;

/** The shard flags (workspace-traffic and dashboard). */
export const SHARD_FLAGS: readonly FlagSpec[] = [
  {
    flags: "--shard-count <n>",
    env: "CODER_SCALETEST_SHARD_COUNT",
    kind: "string",
    description: `split the selected targets over this many processes (1-${MAX_SHARDS}): FNV-1a of the workspace ID (user ID for dashboard) mod N; unset = not sharded`,
  },
  {
    flags: "--shard-index <i>",
    kind: "string",
    description: `this process's shard, 0 to --shard-count minus 1 (default: $${JOB_COMPLETION_INDEX}, which a Kubernetes Indexed Job sets)`,
  },
  {
    flags: "--start-at <time>",
    env: "CODER_SCALETEST_START_AT",
    kind: "string",
    description: "RFC 3339 time (e.g. 2024-09-18T11:47:53Z) to start at: targets are chosen and workers started first, then the command waits for it",
  },
  {
    flags: "--run-id <id>",
    env: "SCALETEST_RUN_ID",
    kind: "string",
    description: "sharded only: the staged run's ID, as the run_id label on every series (the dashboard's run filter)",
  },
  {
    flags: "--scenario <name>",
    env: "SCALETEST_SCENARIO",
    kind: "string",
    description: 'sharded only: the staged run\'s scenario ("Web Terminal Traffic", ...), as the scenario label on every series',
  },
];

/** Longest run ID or scenario name taken as a label value. */
const MAX_LABEL_VALUE = 128;

/** What the shard flags ask for: which shard (undefined = not sharded) and when to start (undefined = at once). */
export interface ShardSettings {
  shard?: Shard;
  startAtMs?: number;
  /** Labels the staged run's dashboard needs on a shard's series (run_id, scenario), beside `shard`. */
  labels?: Record<string, string>;
}

/**
 * Reads the shard flags; each problem names its flag (or JOB_COMPLETION_INDEX) and the allowed range. The index
 * comes from --shard-index, else JOB_COMPLETION_INDEX, and only counts when --shard-count is given: an Indexed Job
 * of something else leaves the command unsharded.
 */
export function readShardFlags(r: FlagReader, env: NodeJS.ProcessEnv, problems: ConfigProblem[], now: () => number = Date.now): ShardSettings {
  const out: ShardSettings = {};
  const startText = r.string("start-at");
  if (startText !== "") {
    const at = parseRfc3339(startText);
    if (at === undefined) {
      problems.push({ path: r.from("start-at"), message: `must be an RFC 3339 time such as 2024-09-18T11:47:53Z or 2024-09-18T13:47:53+02:00, got ${JSON.stringify(startText)}` });
    } else if (at - now() > MAX_START_AHEAD_MS) {
      problems.push({ path: r.from("start-at"), message: `must be at most ${formatGoDuration(MAX_START_AHEAD_MS)} from now, got ${startText} (${formatGoDuration(Math.round((at - now()) / 1000) * 1000)} ahead)` });
    } else out.startAtMs = at;
  }
  const countText = r.string("shard-count").trim();
  const indexFlag = r.string("shard-index").trim();
  if (countText === "") {
    if (indexFlag !== "") problems.push({ path: "--shard-index", message: "needs --shard-count (the number of shards it is one of)" });
    // Given on the command line they would do nothing; from the env (the runner workspace sets SCALETEST_RUN_ID) they are ignored.
    for (const flag of ["run-id", "scenario"]) {
      if (r.string(flag).trim() !== "" && r.from(flag) === `--${flag}`) problems.push({ path: `--${flag}`, message: "needs --shard-count (only a shard's series carry it)" });
    }
    return out;
  }
  const count = /^\d+$/.test(countText) ? Number(countText) : NaN;
  if (!(count >= 1 && count <= MAX_SHARDS)) {
    problems.push({ path: r.from("shard-count"), message: `must be an integer from 1 to ${MAX_SHARDS}, got ${JSON.stringify(countText)}` });
    return out;
  }
  const fromJob = env[JOB_COMPLETION_INDEX]?.trim() ?? "";
  const [indexText, from] = indexFlag !== "" ? [indexFlag, "--shard-index"] : [fromJob, JOB_COMPLETION_INDEX];
  if (indexText === "") {
    problems.push({ path: "--shard-index", message: `is required with --shard-count: 0 to ${count - 1}, or set by a Kubernetes Indexed Job as ${JOB_COMPLETION_INDEX}` });
    return out;
  }
  const index = /^\d+$/.test(indexText) ? Number(indexText) : NaN;
  if (!(index >= 0 && index < count)) {
    problems.push({ path: from, message: `must be an integer from 0 to ${count - 1} (--shard-count ${count}), got ${JSON.stringify(indexText)}` });
    return out;
  }
  out.shard = { index, count };
  const labels: Record<string, string> = {};
  for (const [flag, label] of [["run-id", LABELS.runId], ["scenario", LABELS.scenario]] as const) {
    const v = r.string(flag).trim();
    if (v === "") continue;
    if (v.length > MAX_LABEL_VALUE) problems.push({ path: r.from(flag), message: `must be at most ${MAX_LABEL_VALUE} characters, got ${v.length}` });
    else labels[label] = v;
  }
  if (Object.keys(labels).length > 0) out.labels = labels;
  return out;
}

/**
 * Labels every series of `registry` with the shard (and the staged run's run_id and scenario when given), so N
 * shards behind one PodMonitor sum cleanly and the dashboard's run and scenario filters find them; unsharded,
 * nothing changes (upstream's label sets).
 */
export function labelShard(registry: Registry, s: ShardSettings): void {
  if (s.shard) registry.setDefaultLabels({ ...s.labels, [LABELS.shard]: String(s.shard.index) });
}

/** The hold before the first job: until --start-at, logged; a time already past starts at once with a warning. */
export function startGate(s: ShardSettings, log: (line: string) => void, now: () => number = Date.now): ((signal: AbortSignal) => Promise<void>) | undefined {
  const at = s.startAtMs;
  if (at === undefined) return undefined;
  const iso = new Date(at).toISOString();
  return async (signal) => {
    const left = at - now();
    if (left > 0) log(`Waiting ${formatGoDuration(Math.round(left))} for the shared start at ${iso}...`);
    const waited = await holdUntil(at, signal, now);
    if (waited < 0) log(`WARN: --start-at ${iso} passed ${formatGoDuration(Math.round(-waited))} ago; starting now`);
  };
}

/** A shard's results line on stdout (its log), after the usual outputs: how the coordinator collects its results. */
export function printShardResults(shard: Shard | undefined, results: Results, stdout: NodeJS.WritableStream = process.stdout): void {
  // The line ends in the JSON encoder's newline.
  if (shard) stdout.write(formatShardResultsLine(shard.index, shard.count, results));
}

/**
 * A shard's totals line on stdout, after its results line: every series of `registry` summed (bounded whatever the
 * number of connections), for the coordinator's own metrics, summary, report and thresholds.
 */
export async function printShardTotals(shard: Shard | undefined, registry: Registry, stdout: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (shard) stdout.write(formatShardTotalsLine(shard.index, shard.count, await readShardTotals(registry)));
}
