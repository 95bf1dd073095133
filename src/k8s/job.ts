// The Indexed Job that runs one traffic phase as N shard pods: a pure function of the phase and the runner's own pod.
import { createHash } from "node:crypto";
import type { V1Affinity, V1ContainerPort, V1EnvVar, V1Job, V1PodSecurityContext, V1ResourceRequirements, V1Toleration } from "@kubernetes/client-node";

/** The shard pods' one container (podFailurePolicy rules and log reads name it). */
export const SHARD_CONTAINER = "shard";

/** Labels the coordinator puts on every shard Job and pod. */
export const LABELS = {
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  run: "scaletest.coder.com/run",
  phase: "scaletest.coder.com/phase",
} as const;

/** The `app.kubernetes.io/name` of shard pods (the PodMonitor and cleanup select by it). */
export const SHARD_APP_NAME = "scaletest-shard";

/** Kubernetes' own labels on the pods of an Indexed Job. */
export const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";
export const COMPLETION_INDEX_LABEL = "batch.kubernetes.io/job-completion-index";

/** Keys of the Secret the shard pods read their credentials from. */
export const SECRET_KEYS = { token: "token", header: "header" } as const;

/** What the shard pods take from the runner's pod (read through the API in the pod, from the settings on a laptop). */
export interface RunnerPodShape {
  image: string;
  imagePullPolicy?: string;
  serviceAccountName?: string;
  nodeSelector?: Record<string, string>;
  affinity?: V1Affinity;
  tolerations?: V1Toleration[];
  securityContext?: V1PodSecurityContext;
  resources?: V1ResourceRequirements;
  /** Named metrics ports (the PodMonitor scrapes them by name). */
  ports?: V1ContainerPort[];
  /** The runner pod's `app.kubernetes.io/instance`; shard pods carry it with `-shard` appended. */
  instance?: string;
}

/** One sharded phase. */
export interface ShardJobInput {
  runId: string;
  /** The scenario's display name ("Web Terminal Traffic"). */
  phase: string;
  namespace: string;
  shards: number;
  /** The `scaletest` subcommand and flags of the phase, without the shard flags. */
  args: readonly string[];
  /** RFC 3339 time every shard holds its traffic until (`--start-at`). */
  startAt: string;
  pod: RunnerPodShape;
  /** Secret holding `token` (the Coder session token) and optionally `header` (CODER_HEADER). */
  secretName: string;
  /** Plain (non-secret) env for the shards. */
  env?: Record<string, string>;
  /** Retries of a crashed shard before its index counts as failed. */
  backoffLimitPerIndex: number;
  /** Kubernetes stops the Job after this long even if the coordinator is gone. */
  activeDeadlineSeconds: number;
  /** Shell prelude run before `scaletest` (SSH Traffic fetches the deployment's coder CLI first). */
  prelude?: string;
}

/** Exit codes of the `scaletest` CLI (src/errors.ts EXIT), as the Job's pod failure policy reads them. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** A label value from free text: at most 63 characters, alphanumeric at both ends. */
export function labelValue(text: string): string {
  return text
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
}

/** A DNS label from free text (lower case, digits and '-'). */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** How long a Job name may be: pod hostnames are `<job>-<index>`, a DNS label of at most 63, with up to 2 digits of index. */
const MAX_JOB_NAME = 52;

/** The Job's name: run and phase, readable, a DNS label short enough for the pods' hostnames; stable for a run and phase. */
export function shardJobName(runId: string, phase: string): string {
  const name = `${slug(runId)}-${slug(phase)}`;
  if (name.length <= MAX_JOB_NAME) return name;
  const hash = createHash("sha256").update(`${runId}\n${phase}`).digest("hex").slice(0, 8);
  return `${name.slice(0, MAX_JOB_NAME - 9).replace(/-+$/, "")}-${hash}`;
}

/** The labels of the Job and its pods (the PodMonitor, cleanup and the coordinator's pod lists select by them). */
export function shardLabels(runId: string, phase: string, instance?: string): Record<string, string> {
  return {
    [LABELS.name]: SHARD_APP_NAME,
    [LABELS.run]: labelValue(runId),
    [LABELS.phase]: slug(phase).slice(0, 63),
    ...(instance ? { [LABELS.instance]: labelValue(`${instance}-shard`) } : {}),
  };
}

/** The shard flags the coordinator adds to the phase's own (the index comes from JOB_COMPLETION_INDEX in the pod). */
export function shardArgs(args: readonly string[], shards: number, startAt: string): string[] {
  return [...args, "--shard-count", String(shards), "--start-at", startAt];
}

/** Builds the batch/v1 Job of one sharded phase. Credentials appear only as secretKeyRef; nothing here is a secret. */
export function buildShardJob(input: ShardJobInput): V1Job {
  if (!Number.isInteger(input.shards) || input.shards < 1) throw new RangeError(`shards must be a positive integer, got ${input.shards}`);
  const name = shardJobName(input.runId, input.phase);
  const labels = shardLabels(input.runId, input.phase, input.pod.instance);
  const env: V1EnvVar[] = [
    { name: "CODER_SESSION_TOKEN", valueFrom: { secretKeyRef: { name: input.secretName, key: SECRET_KEYS.token } } },
    // Only deployments behind an authenticating proxy need headers; the Secret may leave the key out.
    { name: "CODER_HEADER", valueFrom: { secretKeyRef: { name: input.secretName, key: SECRET_KEYS.header, optional: true } } },
    ...Object.entries(input.env ?? {}).map(([k, value]) => ({ name: k, value })),
  ];
  const args = shardArgs(input.args, input.shards, input.startAt);
  const [command, containerArgs] = input.prelude
    ? [["sh", "-c", `${input.prelude}\nexec scaletest "$@"`], ["scaletest-shard", ...args]]
    : [["scaletest"], args];
  const p = input.pod;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: input.namespace, labels },
    spec: {
      completionMode: "Indexed",
      completions: input.shards,
      parallelism: input.shards,
      backoffLimitPerIndex: input.backoffLimitPerIndex,
      activeDeadlineSeconds: input.activeDeadlineSeconds,
      // A backstop for a Job nobody deleted (the coordinator and cleanup both delete it).
      ttlSecondsAfterFinished: 3600,
      podReplacementPolicy: "Failed",
      podFailurePolicy: {
        rules: [
          // Bad input fails every shard the same way: stop the Job at once.
          { action: "FailJob", onExitCodes: { containerName: SHARD_CONTAINER, operator: "In", values: [EXIT_USAGE] } },
          // The shard ran and some of its jobs failed: its results stand; running it again would drive the targets twice.
          { action: "FailIndex", onExitCodes: { containerName: SHARD_CONTAINER, operator: "In", values: [EXIT_FAILED] } },
          // Evicted or preempted: not the shard's fault, not counted against its retries.
          { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
        ],
      },
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          // Shards only talk to the deployment, never to Kubernetes.
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 60,
          ...(p.serviceAccountName ? { serviceAccountName: p.serviceAccountName } : {}),
          ...(p.nodeSelector && Object.keys(p.nodeSelector).length > 0 ? { nodeSelector: p.nodeSelector } : {}),
          ...(p.affinity ? { affinity: p.affinity } : {}),
          ...(p.tolerations?.length ? { tolerations: p.tolerations } : {}),
          ...(p.securityContext ? { securityContext: p.securityContext } : {}),
          containers: [
            {
              name: SHARD_CONTAINER,
              image: p.image,
              imagePullPolicy: p.imagePullPolicy ?? "IfNotPresent",
              command,
              args: containerArgs,
              env,
              ...(p.resources ? { resources: p.resources } : {}),
              ...(p.ports?.length ? { ports: p.ports.map((x) => ({ name: x.name, containerPort: x.containerPort, protocol: x.protocol ?? "TCP" })) } : {}),
            },
          ],
        },
      },
    },
  };
}
