// The coordinator: runs one traffic phase as an Indexed Job of N shard pods, waits for it, gathers each shard's
// results line from its pod log, merges them, and deletes the Job (also when stopped). The ledger records the Job
// before it exists, so cleanup after a crashed coordinator finds it.
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { getErrorMessage } from "../errors.ts";
import { mergeShardResults, parseShardResultsLog } from "../harness/shard-results.ts";
import { mergeShardTotals, parseShardTotalsLog, type ShardTotals } from "../harness/shard-totals.ts";
import type { Results } from "../harness/results.ts";
import type { LedgerRecord } from "../state/ledger.ts";
import { formatGoDuration } from "../util/duration.ts";
import { sleep } from "../util/abort.ts";
import { buildShardJob, COMPLETION_INDEX_LABEL, JOB_NAME_LABEL, SHARD_CONTAINER, type RunnerPodShape } from "./job.ts";
import { KubeError, type KubeApi } from "./kube.ts";

/** Retries of a crashed shard pod before its index counts as failed. */
export const DEFAULT_BACKOFF_LIMIT_PER_INDEX = 2;
/** How long deleting the Job may take when the run is stopping (its own signal is already aborted then). */
const DELETE_TIMEOUT_MS = 15_000;
/** Slack past the traffic's end for the shards to write results and exit, and for retried pods. */
const FINISH_SLACK_MS = 120_000;

export interface ShardedPhaseOptions {
  kube: KubeApi;
  namespace: string;
  runId: string;
  /** The scenario's display name. */
  phase: string;
  shards: number;
  /** The `scaletest` subcommand and flags of the phase (the coordinator adds --shard-count and --start-at). */
  args: readonly string[];
  pod: RunnerPodShape;
  /** Secret with `token` (and optionally `header`) for the shard pods. */
  secretName: string;
  env?: Record<string, string>;
  prelude?: string;
  /** How long the shards' own work takes from the shared start (traffic, job timeouts, metrics wait). */
  workMs: number;
  /** How far ahead the shared start is set, for the pods to be scheduled and pull the image. */
  startLeadMs: number;
  backoffLimitPerIndex?: number;
  /** Between status reads (default 1 s). */
  pollMs?: number;
  /** Appends to the run ledger (and waits until it is on disk). */
  record?: (rec: LedgerRecord) => Promise<void>;
  signal: AbortSignal;
  log: (line: string) => void;
}

/** What each shard did. */
export interface ShardReport {
  index: number;
  /** Pods Kubernetes started for it (more than one: retried). */
  attempts: number;
  /** The pod whose log gave the results (or the last one). */
  pod?: string;
  exitCode?: number;
  results?: Results;
  problem?: string;
  /** The shard's metric totals, from the same log as its results. */
  totals?: ShardTotals;
  /** Why there are no totals though there are results (the phase's metrics then lack this shard; its results stand). */
  totalsProblem?: string;
}

export interface ShardedPhaseResult {
  outcome: "passed" | "failed" | "canceled";
  /** The merged results of every shard that reported (all of them when passed). */
  results?: Results;
  /** The summed metric totals of every shard that left them. */
  totals?: ShardTotals;
  error?: string;
  job: string;
  startAt: string;
  shards: ShardReport[];
}

/** Runs one phase as a sharded Job. Never throws for a Kubernetes refusal or a failed shard: the result says. */
export async function runShardedPhase(o: ShardedPhaseOptions): Promise<ShardedPhaseResult> {
  const pollMs = o.pollMs ?? 1000;
  const startAt = new Date(Date.now() + o.startLeadMs).toISOString();
  const deadlineMs = o.startLeadMs + o.workMs + FINISH_SLACK_MS;
  const job = buildShardJob({
    runId: o.runId,
    phase: o.phase,
    namespace: o.namespace,
    shards: o.shards,
    args: o.args,
    startAt,
    pod: o.pod,
    secretName: o.secretName,
    env: o.env,
    prelude: o.prelude,
    backoffLimitPerIndex: o.backoffLimitPerIndex ?? DEFAULT_BACKOFF_LIMIT_PER_INDEX,
    activeDeadlineSeconds: Math.ceil(deadlineMs / 1000),
  });
  const name = job.metadata!.name!;
  const ref = { cluster: o.kube.server, namespace: o.namespace, name };
  const base = { job: name, startAt, shards: [] as ShardReport[] };
  const failed = (error: string, shards: ShardReport[] = [], results?: Results): ShardedPhaseResult => ({ ...base, outcome: o.signal.aborted ? "canceled" : "failed", error, shards, results });

  await o.record?.({ op: "create-job", ...ref });
  try {
    await o.kube.createJob(o.namespace, job);
  } catch (err) {
    // A refused Job does not exist; one that already exists does (an earlier attempt's): the ledger keeps it for cleanup.
    if (!(err instanceof KubeError && err.status === 409)) await o.record?.({ op: "deleted-job", ...ref });
    return failed(`Kubernetes did not create the shard Job: ${getErrorMessage(err)}`);
  }
  o.log(`shards: Job ${o.namespace}/${name} created: ${o.shards} shard pod(s), shared start at ${startAt}`);
  try {
    const end = await waitForJob(o, name, startAt, deadlineMs, pollMs);
    if (end.kind === "canceled") return { ...base, outcome: "canceled", error: "stopped while the shards ran; their results go with the deleted Job" };
    const shards = await gather(o, name);
    const reported = shards.filter((s) => s.results);
    const results = reported.length > 0 ? mergeShardResults(reported.map((s) => s.results!)) : undefined;
    const counted = shards.filter((s) => s.totals);
    const totals = counted.length > 0 ? mergeShardTotals(counted.map((s) => s.totals!)) : undefined;
    const problems = [...(end.kind === "error" ? [end.message] : []), ...shards.filter((s) => s.problem).map((s) => `shard ${s.index}: ${s.problem}`)];
    // A Job that failed only because shards reported failed jobs (exit 1, not retried) says nothing the results do not.
    if (end.kind === "failed" && problems.length > 0) problems.unshift(`the Job failed (${end.message})`);
    if (problems.length > 0) return { ...failed(problems.join("; "), shards, results), totals };
    const fail = results!.total_fail;
    return { ...base, shards, results, totals, outcome: fail === 0 ? "passed" : "failed", error: fail > 0 ? `${fail} of ${results!.total_runs} jobs did not pass` : undefined };
  } catch (err) {
    return failed(getErrorMessage(err));
  } finally {
    await deleteShardJob(o.kube, ref, o.record, o.log);
  }
}

type JobEnd = { kind: "complete" } | { kind: "failed"; message: string } | { kind: "error"; message: string } | { kind: "canceled" };

/** Polls the Job until it is Complete or Failed, a shard has not started by the shared start, the deadline, or a stop. */
async function waitForJob(o: ShardedPhaseOptions, name: string, startAt: string, deadlineMs: number, pollMs: number): Promise<JobEnd> {
  const startBy = Date.parse(startAt);
  const deadline = Date.now() + deadlineMs;
  let startChecked = false;
  for (;;) {
    if (o.signal.aborted) return { kind: "canceled" };
    const job = await o.kube.readJob(o.namespace, name);
    if (!job) return { kind: "error", message: `the Job ${o.namespace}/${name} was deleted by someone else before it finished` };
    const end = terminal(job);
    if (end) return end;
    if (!startChecked && Date.now() >= startBy) {
      startChecked = true;
      const late = await notStarted(o, name);
      if (late.length > 0) return { kind: "error", message: late.join("; ") };
    }
    if (Date.now() >= deadline) return { kind: "error", message: `the shards did not finish within ${formatGoDuration(deadlineMs)}` };
    try {
      await sleep(Math.min(pollMs, Math.max(1, (startChecked ? deadline : startBy) - Date.now())), o.signal);
    } catch {
      return { kind: "canceled" };
    }
  }
}

/** Complete or Failed, from the Job's conditions. */
function terminal(job: V1Job): JobEnd | undefined {
  for (const c of job.status?.conditions ?? []) {
    if (c.status !== "True") continue;
    if (c.type === "Complete") return { kind: "complete" };
    if (c.type === "Failed") return { kind: "failed", message: `${c.reason ?? "Failed"}: ${c.message ?? ""}`.trim() };
  }
  return undefined;
}

/** Indexes none of whose pods has started running, each named with what its pod waits for. */
async function notStarted(o: ShardedPhaseOptions, name: string): Promise<string[]> {
  const pods = await o.kube.listPods(o.namespace, `${JOB_NAME_LABEL}=${name}`);
  const out: string[] = [];
  for (let i = 0; i < o.shards; i++) {
    const mine = pods.filter((p) => indexOf(p) === i);
    if (mine.some((p) => p.status?.phase && p.status.phase !== "Pending")) continue;
    const p = mine.at(-1);
    out.push(`shard ${i} of ${o.shards} did not start running by the shared start time${p ? ` (pod ${p.metadata?.name}: ${pendingReason(p)})` : " (no pod was created)"}`);
  }
  return out;
}

function pendingReason(p: V1Pod): string {
  const waiting = p.status?.containerStatuses?.[0]?.state?.waiting;
  if (waiting) return [waiting.reason, waiting.message].filter(Boolean).join(": ");
  const sched = p.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  if (sched) return [sched.reason, sched.message].filter(Boolean).join(": ");
  return p.status?.phase ?? "Pending";
}

function indexOf(p: V1Pod): number {
  return Number(p.metadata?.labels?.[COMPLETION_INDEX_LABEL] ?? p.metadata?.annotations?.[COMPLETION_INDEX_LABEL] ?? -1);
}

function exitCodeOf(p: V1Pod): number | undefined {
  return p.status?.containerStatuses?.find((c) => c.name === SHARD_CONTAINER)?.state?.terminated?.exitCode;
}

/** Each index's results, from the log of its newest pod that ended with a results line. */
async function gather(o: ShardedPhaseOptions, name: string): Promise<ShardReport[]> {
  const pods = await o.kube.listPods(o.namespace, `${JOB_NAME_LABEL}=${name}`);
  const reports: ShardReport[] = [];
  for (let i = 0; i < o.shards; i++) {
    const mine = pods.filter((p) => indexOf(p) === i).sort((a, b) => time(b) - time(a));
    const report: ShardReport = { index: i, attempts: mine.length };
    reports.push(report);
    for (const p of mine) {
      if (p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed") continue;
      report.pod = p.metadata?.name;
      report.exitCode = exitCodeOf(p);
      const log = await o.kube.podLog(o.namespace, p.metadata!.name!, SHARD_CONTAINER);
      const parsed = parseShardResultsLog(log);
      if (!parsed) continue;
      if (parsed.index !== i || parsed.count !== o.shards) {
        report.problem = `pod ${p.metadata?.name} reported shard ${parsed.index}/${parsed.count}, expected ${i}/${o.shards}`;
        break;
      }
      report.results = parsed.results;
      const totals = parseShardTotalsLog(log);
      if (!totals) report.totalsProblem = `no totals line in the log of pod ${report.pod}: its traffic is missing from the run's metrics, summary and thresholds`;
      else if ("problem" in totals) report.totalsProblem = `pod ${report.pod}: ${totals.problem}: its traffic is missing from the run's metrics, summary and thresholds`;
      else if (totals.index !== i || totals.count !== o.shards) report.totalsProblem = `pod ${report.pod} reported totals of shard ${totals.index}/${totals.count}, expected ${i}/${o.shards}`;
      else report.totals = totals.totals;
      break;
    }
    if (!report.results && !report.problem) {
      report.problem = report.pod
        ? `no results line in the log of pod ${report.pod} (exit code ${report.exitCode ?? "unknown"}${report.attempts > 1 ? `, after ${report.attempts} attempts` : ""})`
        : mine.length === 0 ? "no pod was created" : `pod ${mine[0]!.metadata?.name} did not finish (${mine[0]!.status?.phase ?? "unknown"})`;
    }
  }
  return reports;
}

function time(p: V1Pod): number {
  const t = p.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

/** Deletes a shard Job and its pods; a Job already gone counts as deleted. Records the deletion. Never throws. */
export async function deleteShardJob(
  kube: KubeApi,
  ref: { cluster: string; namespace: string; name: string },
  record: ((rec: LedgerRecord) => Promise<void>) | undefined,
  log: (line: string) => void,
): Promise<boolean> {
  try {
    const existed = await withTimeout(kube.deleteJob(ref.namespace, ref.name), DELETE_TIMEOUT_MS);
    await record?.({ op: "deleted-job", ...ref });
    log(existed ? `shards: deleted Job ${ref.namespace}/${ref.name} and its pods` : `shards: Job ${ref.namespace}/${ref.name} was already gone`);
    return true;
  } catch (err) {
    log(`shards: could not delete Job ${ref.namespace}/${ref.name} (the run ledger keeps it for cleanup): ${getErrorMessage(err)}`);
    return false;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${formatGoDuration(ms)}`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** What a shard pod takes from the runner's own pod: image, resources, ports, service account, scheduling. */
export function runnerPodShape(pod: V1Pod, container?: string): RunnerPodShape {
  const spec = pod.spec!;
  const c = (container ? spec.containers.find((x) => x.name === container) : undefined) ?? spec.containers[0]!;
  return {
    image: c.image!,
    imagePullPolicy: c.imagePullPolicy,
    serviceAccountName: spec.serviceAccountName,
    nodeSelector: spec.nodeSelector,
    affinity: spec.affinity,
    tolerations: spec.tolerations,
    securityContext: spec.securityContext,
    resources: c.resources,
    ports: c.ports?.filter((p) => p.name),
    instance: pod.metadata?.labels?.["app.kubernetes.io/instance"],
  };
}
